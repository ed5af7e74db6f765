"""metrics.json's three levels (methodology §5): overall, per fold and per asset.

Overall and per fold share the overall portfolio's periods per year; an asset has its own. Per fold takes the
portfolio rows, predictions and trades of the fold (§4.6); per asset the asset's unweighted series, its predictions
and trades, and no cross-sectional IC.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from walkforward.config import Config
from walkforward.legacy.folds import Fold
from walkforward.legacy.metrics import metrics, periods_per_year, span_days
from walkforward.legacy.returns import PORTFOLIO


def summarize(
    config: Config,
    folds: list[Fold],
    series: pd.DataFrame,
    predictions: pd.DataFrame,
    trades: pd.DataFrame,
    benchmark: pd.Series,
) -> dict[str, Any]:
    """Overall, per-fold and per-asset metrics. `series`: every return row in (fold, date, series) order;
    `predictions`: `fold, symbol, date, prediction, target`; `trades`: `fold, symbol`; `benchmark`: its returns by
    date."""
    portfolio = series[series["series"] == PORTFOLIO]
    a = periods_per_year(len(portfolio), span_days(portfolio), config.annualization)
    overall = metrics(portfolio, predictions, len(trades), a=a, benchmark=benchmark, cross_section=True)
    per_fold = []
    for fold in folds:
        values = metrics(
            portfolio[portfolio["fold"] == fold.index],
            predictions[predictions["fold"] == fold.index],
            int((trades["fold"] == fold.index).sum()),
            a=a,
            benchmark=benchmark,
            cross_section=True,
        )
        per_fold.append({**fold.info(), **values})
    per_asset = {}
    for symbol in config.assets:
        own = series[series["series"] == symbol]
        per_asset[symbol] = metrics(
            own,
            predictions[predictions["symbol"] == symbol],
            int((trades["symbol"] == symbol).sum()),
            a=periods_per_year(len(own), span_days(own), config.annualization),
            benchmark=benchmark,
            cross_section=False,
        )
    return {"overall": overall, "per_fold": per_fold, "per_asset": per_asset}
