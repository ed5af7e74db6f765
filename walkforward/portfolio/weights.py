"""The weight `w_t` of each test row (methodology §4.3), by `strategy.weighting`:

- `available`: `1 / N_t`, `N_t` the traded assets whose latest test row at or before the date of `t` has a
  prediction and a next return;
- `equal`: `1 / N`, `N` the configured assets.

Rows come sorted by (symbol, date). `N_t` without a loop over dates: each row changes its asset's availability by
`avail_t - avail_{previous row}`; summed in date order, the running total after the last row dated `<= d` is `N`
on `d` (integers: exact, whatever the order of rows within a date).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from walkforward.portfolio.rows import TestRows


def available_count(rows: TestRows, first_of_asset: np.ndarray) -> np.ndarray:
    """`N_t` of every row: assets available on its date (rows sorted by (symbol, date))."""
    available = (~np.isnan(rows.prediction) & ~np.isnan(rows.next_ret)).astype(np.int64)
    before = np.empty_like(available)
    before[1:] = available[:-1]
    before[first_of_asset] = 0  # an asset is unavailable before its first test row
    by_date = np.argsort(rows.date, kind="stable")
    running = np.cumsum((available - before)[by_date])
    last_on_or_before = np.searchsorted(rows.date[by_date], rows.date, side="right") - 1
    return running[last_on_or_before]


def available(rows: TestRows, first_of_asset: np.ndarray, n_assets: int) -> np.ndarray:  # noqa: ARG001
    """1 / N_t; 0 on a date with no asset available (no row of it has a prediction and a next return to weigh)."""
    count = available_count(rows, first_of_asset)
    return np.where(count > 0, 1.0 / np.maximum(count, 1), 0.0)


def equal(rows: TestRows, first_of_asset: np.ndarray, n_assets: int) -> np.ndarray:  # noqa: ARG001
    """1 / N of the configured assets, on every row."""
    return np.full(len(rows.date), 1.0 / n_assets)


WEIGHTINGS: dict[str, Callable[[TestRows, np.ndarray, int], np.ndarray]] = {"available": available, "equal": equal}
