"""What a sweep writes across its trials (methodology §9): the leaderboard (one row per configuration: its grid
values, its overall metrics, its PSR and DSR) and overfitting.json (PBO by CSCV, the logits, the degradation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from walkforward.sweeps import stats
from walkforward.sweeps.grid import Trial

PORTFOLIO = "portfolio"  # the returns table's series of the strategy (methodology §4)


def portfolio_returns(run_dir: Path) -> pl.DataFrame:
    """`date, return`: the run's daily portfolio returns, in date order."""
    returns = pl.read_parquet(run_dir / "returns.parquet", columns=["date", "series", "return"])
    return returns.filter(pl.col("series") == PORTFOLIO).select("date", "return").sort("date")


def aligned(series: list[pl.DataFrame]) -> np.ndarray:
    """The T × N matrix of the trials' returns on the union of their dates (sorted); a trial without a return row on
    a date gets 0 there (it held nothing)."""
    dates = pl.concat([s.select("date") for s in series]).unique().sort("date")
    columns = [dates.join(s, on="date", how="left")["return"].fill_null(0.0).to_numpy() for s in series]
    return np.column_stack(columns) if columns else np.empty((0, 0))


def leaderboard(trials: list[Trial], run_dirs: dict[str, Path], series: list[pl.DataFrame]) -> pl.DataFrame:
    """One row per trial: `id`, its grid values (one column per grid key, in order of first appearance; null where a
    trial's grid does not set the key; values that are not one plain type are written as JSON text), its overall
    metrics, `sharpe_per_period`, `psr` (against 0) and `dsr` (N = the trials)."""
    returns = [s["return"].to_numpy() for s in series]
    sharpes = [stats.sharpe(r) for r in returns]
    defined = [s for s in sharpes if s is not None]
    columns: dict[str, list[Any]] = {"id": [t.id for t in trials]}
    for key in grid_keys(trials):
        columns[key] = _plain([t.params.get(key) for t in trials])
    overall = [json.loads((run_dirs[t.id] / "metrics.json").read_text())["overall"] for t in trials]
    for name in overall[0] if overall else ():
        columns[name] = [o.get(name) for o in overall]
    columns["sharpe_per_period"] = sharpes
    columns["psr"] = [stats.probabilistic_sharpe(r) for r in returns]
    columns["dsr"] = [stats.deflated_sharpe(r, defined, len(trials)) for r in returns]
    return pl.DataFrame(columns, strict=False)


def grid_keys(trials: list[Trial]) -> list[str]:
    """Every key the trials' grids set, in order of first appearance."""
    return list(dict.fromkeys(key for t in trials for key in t.params))


def _plain(values: list[Any]) -> list[Any]:
    """The values as they are when they share one plain type (int, float, str, bool), else as JSON text; a missing
    value (None: the trial's grid does not set the key) stays null."""
    types = {type(v) for v in values if v is not None}
    if len(types) <= 1 and types <= {int, float, str, bool}:
        return values
    if types <= {int, float}:
        return [None if v is None else float(v) for v in values]
    return [None if v is None else json.dumps(v, default=str) for v in values]


def overfitting(series: list[pl.DataFrame], blocks: int = stats.DEFAULT_BLOCKS) -> dict[str, Any]:
    """overfitting.json: PBO by CSCV over the aligned returns (stats.pbo), or `pbo: null` and why it cannot be
    computed (fewer than 2 trials, fewer than 2 × S dates)."""
    m = aligned(series)
    t, n = m.shape if m.size else (0, len(series))
    if n < 2:
        return {"pbo": None, "reason": f"PBO compares trials: the sweep has {n}", "S": blocks, "N": n, "T": t}
    if t < 2 * blocks:
        reason = f"{t} dates are fewer than 2 x S = {2 * blocks}: each of the S blocks needs 2 returns"
        return {"pbo": None, "reason": reason, "S": blocks, "N": n, "T": t}
    return stats.pbo(m, blocks)
