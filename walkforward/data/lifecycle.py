"""When each symbol of a synthetic universe lists, delists, collapses, which sector it is in, and when it is a member
of the index: drawn per symbol from its own random stream, so adding a symbol changes no other symbol's life.

Rows are NYSE sessions of the span, numbered `0 .. n-1`. Per symbol (`u` are its own uniforms):

- **Listing**: with probability `listed_share` it trades from session 0 (it was listed before the span); otherwise its
  first session is drawn uniformly over `1 .. LISTING_WINDOW * (n-1)`, so every late listing has some history.
- **Delisting**: with probability `delist_share` its last session is drawn uniformly over
  `first + MIN_LIFE .. n-2` (no rows after it); a symbol listed too late for that trades to the end.
- **Going to zero**: with probability `zero_share` a delisting is a collapse: over its last `COLLAPSE_ROWS` sessions
  (fewer if it lived less) an accelerating fall takes the close to `floor` on its last session, a price drawn
  log-uniformly in `FLOOR_RANGE` (near 0, never 0).
- **Sector** `k` uniform over `0 .. sectors-1`; its loading on the sector factor uniform in `LOAD_RANGE`.
- **Index membership** (point in time, `membership`): a symbol trading on session 0 is a member from it; a later
  listing joins `seasoning` sessions after its first (if it still trades then: index providers want a trading
  history); a member stays until its last session, collapse included (the point-in-time universe holds the losers).
  With probability `GAP_SHARE` a membership has one gap of 21..252 sessions (dropped from the index and added back,
  as when a company falls below the size threshold for a while), at least `GAP_MARGIN` sessions from either end.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, fields

import numpy as np
import polars as pl

LISTING_WINDOW = 0.9  # late listings happen in the first 90% of the span
MIN_LIFE = 63  # sessions from listing to the earliest delisting
COLLAPSE_ROWS = 126  # sessions over which a symbol that goes to zero falls
FLOOR_RANGE = (0.005, 0.05)  # last close of a symbol that goes to zero
LOAD_RANGE = (0.5, 1.0)  # loading on the sector factor
GAP_SHARE = 0.1  # share of memberships with a gap
GAP_SESSIONS = (21, 252)  # length of a gap, inclusive
GAP_MARGIN = 21  # sessions of membership on either side of a gap
TRAIT_STREAM = 1  # the symbol's SeedSequence child for these draws (child 0 is its price noise)


def symbol_rng(seed: int, symbol: str, stream: int) -> np.random.Generator:
    """Child `stream` of the symbol's `SeedSequence([seed, crc32(symbol)])` (its `.spawn(stream + 1)[stream]`)."""
    ss = np.random.SeedSequence([seed, zlib.crc32(symbol.encode())], spawn_key=(stream,))
    return np.random.default_rng(ss)


@dataclass(frozen=True)
class Lifecycle:
    """One entry per symbol: session indices, the collapse floor, the sector, and the membership gap's uniforms."""

    first: np.ndarray  # first session (0: trades from the start of the span)
    last: np.ndarray  # last session (n-1: trades to the end)
    floor: np.ndarray  # last close of a symbol that goes to zero; NaN for the others
    sector: np.ndarray
    load: np.ndarray
    gap: np.ndarray  # (symbols, 3) uniforms: has a gap, its length, its place

    def take(self, rows: slice) -> Lifecycle:
        return Lifecycle(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})


def draw_lifecycles(
    seed: int, symbols: list[str], n: int, *, sectors: int, listed_share: float, delist_share: float, zero_share: float
) -> Lifecycle:
    """Each symbol's life over `n` sessions, from 11 uniforms of its own stream (see the module docstring)."""
    u = np.array([symbol_rng(seed, s, TRAIT_STREAM).random(11) for s in symbols]).reshape(len(symbols), 11)
    late = u[:, 0] >= listed_share
    first = np.where(late, 1 + np.floor(u[:, 1] * LISTING_WINDOW * (n - 1)).astype(np.int64), 0)
    room = (n - 2) - (first + MIN_LIFE)  # last may be first + MIN_LIFE .. n-2
    delist = (u[:, 2] < delist_share) & (room >= 0)
    last = np.where(delist, first + MIN_LIFE + np.floor(u[:, 3] * (room + 1)).astype(np.int64), n - 1)
    lo, hi = np.log(FLOOR_RANGE)
    floor = np.where(delist & (u[:, 4] < zero_share), np.exp(lo + (hi - lo) * u[:, 5]), np.nan)
    sector = np.minimum(np.floor(u[:, 6] * sectors).astype(np.int64), sectors - 1)
    load = LOAD_RANGE[0] + (LOAD_RANGE[1] - LOAD_RANGE[0]) * u[:, 7]
    return Lifecycle(first, last, floor, sector, load, u[:, 8:11])


def always_listed(n: int) -> Lifecycle:
    """The life of the benchmark: every session, no sector."""
    zero = np.zeros(1, np.int64)
    return Lifecycle(zero, zero + (n - 1), np.full(1, np.nan), zero, np.zeros(1), np.ones((1, 3)))


def collapse(ret: np.ndarray, log_price0: np.ndarray, life: Lifecycle) -> np.ndarray:
    """`ret` (rows: sessions, columns: symbols) with the fall of each symbol that goes to zero added.

    Its log close on its last session is moved to `log(floor)` (if it is not below already): the extra log return
    on session `t` is `gap * (w_t - w_{t-1})`, `w` rising as `x**2` from 0 to 1 over the last `COLLAPSE_ROWS`
    sessions, so the fall accelerates and every other row is unchanged.
    """
    cols = np.flatnonzero(np.isfinite(life.floor))
    if len(cols) == 0:
        return ret
    first, last = life.first[cols], life.last[cols]
    log_close = log_price0[cols] + np.cumsum(ret[:, cols], axis=0)
    gap = np.minimum(np.log(life.floor[cols]) - log_close[last, np.arange(len(cols))], 0.0)
    width = np.minimum(COLLAPSE_ROWS, last - first)
    x = np.clip((np.arange(len(ret))[:, None] - (last - width)) / width, 0.0, 1.0)
    out = ret.copy()
    out[:, cols] += np.diff(x * x, axis=0, prepend=0.0) * gap
    return out


def membership(symbols: list[str], life: Lifecycle, dates: np.ndarray, seasoning: int) -> pl.DataFrame:
    """Point-in-time index membership: `symbol, start, end` (dates, both inclusive), one row per window, sorted."""
    start = np.where(life.first == 0, 0, life.first + seasoning)
    member = start <= life.last
    lo, hi = GAP_SESSIONS
    length = lo + np.floor(life.gap[:, 1] * (hi - lo + 1)).astype(np.int64)
    room = (life.last - start + 1) - length - 2 * GAP_MARGIN  # places the gap can start
    has_gap = member & (life.gap[:, 0] < GAP_SHARE) & (room >= 1)
    at = start + GAP_MARGIN + np.floor(life.gap[:, 2] * np.maximum(room, 0)).astype(np.int64)
    whole = np.flatnonzero(member & ~has_gap)
    split = np.flatnonzero(has_gap)
    who = np.concatenate((whole, split, split))
    lo_idx = np.concatenate((start[whole], start[split], (at + length)[split]))
    hi_idx = np.concatenate((life.last[whole], (at - 1)[split], life.last[split]))
    order = np.lexsort((lo_idx, who))
    return pl.DataFrame(
        {
            "symbol": pl.Series(symbols, dtype=pl.String).gather(who[order]),
            "start": dates[lo_idx[order]],
            "end": dates[hi_idx[order]],
        }
    )
