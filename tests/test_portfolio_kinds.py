"""The cross-sectional portfolio kinds (methodology §4.1) against examples worked out by hand, in both engines (each
implements them on its own: numpy grids in walkforward/portfolio/, pandas date by date in walkforward/legacy/):
qlib's n_drop rule on one leg, `topk` and `rank_weighted` on four assets over three dates with a late listing and a
missing prediction, `k` as a fraction, and the turnover split by leg (§5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from walkforward.config.schema import Strategy
from walkforward.legacy import portfolios as legacy
from walkforward.legacy.returns import legs as legacy_legs
from walkforward.portfolio import book, rank_weighted, topk
from walkforward.portfolio import rows as backtest_rows
from walkforward.portfolio.cross_section import leg_size

NAN = float("nan")
NAMES = ("A", "B", "C", "D", "E", "F")
DAYS = pd.date_range("2024-01-08", periods=4)  # Mon .. Thu: the data runs on to Thursday
# (symbol, date index, prediction): D lists on Tuesday; C has no prediction on Wednesday
PANEL = [
    ("A", 0, 0.3), ("A", 1, 0.1), ("A", 2, -0.2),
    ("B", 0, 0.2), ("B", 1, 0.4), ("B", 2, 0.5),
    ("C", 0, -0.1), ("C", 1, -0.3), ("C", 2, NAN),
    ("D", 1, 0.0), ("D", 2, 0.2),
]  # fmt: skip


# --- qlib's TopkDropoutStrategy step on one leg: ranked names 0..5, best first ------------------------------------


def polars_step(held: set[int], k: int, n_drop: int) -> set[int]:
    mask = np.zeros(6, dtype=bool)
    mask[list(held)] = True
    ranked = np.arange(6)
    return set(np.flatnonzero(topk.replace(mask, ranked, ranked, np.ones(6, dtype=bool), k, n_drop)))


def legacy_step(held: set[int], k: int, n_drop: int) -> set[int]:
    out = legacy.dropout_step([NAMES[i] for i in held], list(NAMES), k, n_drop)
    return {NAMES.index(s) for s in out}


@pytest.mark.parametrize("step", [polars_step, legacy_step], ids=["polars", "legacy"])
@pytest.mark.parametrize(
    ("held", "k", "n_drop", "expected"),
    [
        # candidates: the best 1 + 3 - 3 = 1 not held, {0}; held and candidates in rank order 0 1 4 5: the last
        # n_drop = 1 is 5, held: sold; bought: the best 1 + 3 - 3 = 1 candidate, 0
        ({1, 4, 5}, 3, 1, {0, 1, 4}),
        # candidates {0, 2}; pooled 0 1 2 4 5, the last 2 (4, 5) are held: sold; bought 2 + 3 - 3 = 2: 0 and 2
        ({1, 4, 5}, 3, 2, {0, 1, 2}),
        ({1, 4, 5}, 3, 0, {1, 4, 5}),  # n_drop 0: nothing is ever sold
        # the first date: candidates the best 1 + 2 = 3; none held, none sold; bought the best 2: the top k
        (set(), 2, 1, {0, 1}),
        # k fell to 1: no candidates (1 + 1 - 3 < 0); 5 is sold, nothing bought: the leg keeps 2 > k names
        ({1, 4, 5}, 1, 1, {1, 4}),
        # n_drop >= k: the top k, as without n_drop (qlib would sell the last 6 of 6 pooled, 1 too, and buy 3)
        ({1, 4, 5}, 3, 6, {0, 1, 2}),
    ],
)
def test_n_drop_replaces_at_most_n_drop_held_names(step, held, k, n_drop, expected):
    assert step(held, k, n_drop) == expected


# --- whole kinds on a tiny panel ----------------------------------------------------------------------------------


def polars_rows() -> backtest_rows.TestRows:
    """PANEL as the backtest hands it over: sorted by (symbol, date), codes into the sorted names."""
    code = {s: i for i, s in enumerate("ABCD")}
    return backtest_rows.TestRows(
        fold=np.zeros(len(PANEL), dtype=np.int32),
        symbol=np.array([code[s] for s, _, _ in PANEL], dtype=np.int32),
        date=np.array([DAYS[d] for _, d, _ in PANEL], dtype="datetime64[D]"),
        prediction=np.array([p for *_, p in PANEL]),
        target=np.full(len(PANEL), NAN),
        next_ret=np.full(len(PANEL), 0.01),
        next_date=np.array([DAYS[d + 1] for _, d, _ in PANEL], dtype="datetime64[D]"),
        symbols=("A", "B", "C", "D"),
    )


def polars_weights(kind, strategy: Strategy) -> list[float]:
    t = kind.targets(polars_rows(), strategy, np.zeros(0, dtype=bool), 4)
    return list(t.side * t.size)


def legacy_weights(kind, strategy: Strategy) -> list[float]:
    frame = pd.DataFrame(
        {
            "symbol": [s for s, _, _ in PANEL],
            "date": [DAYS[d] for _, d, _ in PANEL],
            "prediction": [p for *_, p in PANEL],
            "next_ret": 0.01,
        }
    )
    tests = {s: part.reset_index(drop=True) for s, part in frame.groupby("symbol")}
    return list(legacy.targets(frame, tests, strategy))


def weights_of(engine: str, kind: str, strategy: Strategy) -> list[float]:
    if engine == "polars":
        return polars_weights(topk if kind == "topk" else rank_weighted, strategy)
    return legacy_weights(kind, strategy)


ENGINES = ["polars", "legacy"]


@pytest.mark.parametrize("engine", ENGINES)
def test_topk_longs_the_best_and_shorts_the_worst_of_the_available(engine):
    # Mon: A .3, B .2, C -.1 (D not listed): long A, short C, half the gross each
    # Tue: B .4, A .1, D 0, C -.3: long B, short C
    # Wed: C has no prediction: B .5, D .2, A -.2: long B, short A
    got = weights_of(engine, "topk", Strategy(kind="topk", k=1))
    #                  A Mon Tue Wed     B Mon Tue Wed    C Mon  Tue  Wed   D Tue Wed
    assert got == [0.5, 0.0, -0.5, 0.0, 0.5, 0.5, -0.5, -0.5, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("engine", ENGINES)
def test_topk_with_n_drop_zero_keeps_its_names_until_they_leave_the_cross_section(engine):
    # Mon: long A, short C, as above. Tue: n_drop 0 sells nothing: A and C stay although B ranks first.
    # Wed: A (worst now) stays long; C has no prediction: it leaves the short leg without counting against n_drop,
    # and the best short candidate among the others (A is long) fills its place: D (.2) before B (.5)
    got = weights_of(engine, "topk", Strategy(kind="topk", k=1, n_drop=0))
    assert got == [0.5, 0.5, 0.5, 0.0, 0.0, 0.0, -0.5, -0.5, 0.0, 0.0, -0.5]


@pytest.mark.parametrize("engine", ENGINES)
def test_topk_long_only_with_gross_puts_the_gross_on_the_long_leg(engine):
    # k = 0.5 of N: Mon N = 3 -> floor(1.5) = 1: A; Tue N = 4 -> 2: B, A; Wed N = 3 -> 1: B. gross 2 over the leg
    got = weights_of(engine, "topk", Strategy(kind="topk", k=0.5, long_only=True, gross=2.0))
    assert got == [2.0, 1.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("engine", ENGINES)
def test_rank_weighted_holds_its_targets_between_rebalances(engine):
    # rebalances on Mon and Wed (every 2 dates). Mon: ranks C 1, B 2, A 3 (N = 3): c = A +1, B 0, C -1, sum |c| = 2
    # -> A .5, C -.5; Tue holds Monday's targets (D, not in Monday's cross-section, holds 0).
    # Wed: A -.2, D .2, B .5 (C missing): c = A -1, D 0, B +1 -> A -.5, B .5
    got = weights_of(engine, "rank_weighted", Strategy(kind="rank_weighted", rebalance_every=2))
    assert got == [0.5, 0.5, -0.5, 0.0, 0.0, 0.5, -0.5, -0.5, 0.0, 0.0, 0.0]


def one_date(predictions: list[float]) -> tuple[backtest_rows.TestRows, dict[str, pd.DataFrame], pd.DataFrame]:
    n = len(predictions)
    day = np.datetime64("2024-01-08", "D")
    rows = backtest_rows.TestRows(
        fold=np.zeros(n, dtype=np.int32),
        symbol=np.arange(n, dtype=np.int32),
        date=np.full(n, day),
        prediction=np.array(predictions),
        target=np.full(n, NAN),
        next_ret=np.zeros(n),
        next_date=np.full(n, day + 1),
        symbols=NAMES[:n],
    )
    frame = pd.DataFrame({"symbol": NAMES[:n], "date": pd.Timestamp(day), "prediction": predictions, "next_ret": 0.0})
    tests = {s: frame[frame["symbol"] == s].reset_index(drop=True) for s in NAMES[:n]}
    return rows, tests, frame


@pytest.mark.parametrize(
    ("long_only", "expected"),
    [
        # ranks: -.1 -> 1, 0 -> 2, the two .3 tie at 3 and 4 -> 3.5; c = rank - 2.5 = 1, -1.5, 1, -.5; sum |c| = 4
        (False, [0.25, -0.375, 0.25, -0.125]),
        (True, [0.5, 0.0, 0.5, 0.0]),  # the positive part: 1, 0, 1, 0 over 2
    ],
)
def test_rank_weighted_averages_ties_and_is_dollar_neutral(long_only, expected):
    rows, tests, frame = one_date([0.3, -0.1, 0.3, 0.0])
    strategy = Strategy(kind="rank_weighted", long_only=long_only)
    t = rank_weighted.targets(rows, strategy, np.zeros(0, dtype=bool), 4)
    assert list(t.side * t.size) == expected
    assert list(legacy.targets(frame, tests, strategy)) == expected


def test_all_tied_or_one_name_holds_nothing():
    for predictions in ([0.1, 0.1, 0.1], [0.2]):
        rows, tests, frame = one_date(predictions)
        for kind in ("rank_weighted", "topk"):
            strategy = Strategy(kind=kind, k=1)
            module = rank_weighted if kind == "rank_weighted" else topk
            t = module.targets(rows, strategy, np.zeros(0, dtype=bool), 3)
            got = list(t.side * t.size)
            want = [0.5, 0.0, -0.5] if kind == "topk" and len(predictions) == 3 else [0.0] * len(predictions)
            assert got == want  # topk breaks the tie by name: long A, short C
            assert list(legacy.targets(frame, tests, strategy)) == want


def test_k_as_a_fraction_is_rounded_down_but_at_least_one_and_fits_both_legs():
    n = np.array([10, 3, 1, 0, 100])
    # 0.3 * 10 = 3; 0.3 * 3 = 0.9 -> at least 1; N = 1: long-short has no room (floor(1 / 2) = 0); 0.3 * 100 = 30
    assert list(leg_size(0.3, n, False)) == [3, 1, 0, 0, 30]
    assert list(leg_size(0.3, n, True)) == [3, 1, 1, 0, 30]
    assert list(leg_size(0.29, n, False)) == [2, 1, 0, 0, 29]  # 0.29 * 100 = 28.999999999999996 in floats
    assert list(leg_size(4, n, False)) == [4, 1, 0, 0, 4]
    for k, size, long_only in ((0.3, 3, False), (0.29, 29, False), (4, 1, False), (0.3, 1, True)):
        assert legacy.per_leg(k, {3: 10, 29: 100, 1: 3}[size], long_only) == size


# --- turnover per leg (§5) ----------------------------------------------------------------------------------------


def test_turnover_splits_each_trade_between_the_legs():
    # one asset, q = .5, -.25, -.25 with its last row third: row 0 buys .5 (long); row 1 sells the .5 (long) and
    # shorts .25 (short); row 2 trades nothing, then the exit buys back the .25 short
    q = np.array([0.5, -0.25, -0.25])
    first = np.array([True, False, False])
    b = book.hold(np.sign(q).astype(np.int8), np.abs(q), np.zeros(3), first, 0)
    long, short = b.legs(weighted=True)
    assert list(long) == [0.5, 0.5, 0.0]
    assert list(short) == [0.0, 0.25, 0.25]
    assert list(long + short) == list(b.traded + b.exit)  # together: the traded weight
    frame = legacy_legs(pd.Series(q), pd.Series([0.0, 0.5, -0.25]), pd.Series([False, False, True]))
    assert list(frame["traded_long"]) == [0.5, 0.5, 0.0]
    assert list(frame["traded_short"]) == [0.0, 0.25, 0.25]


# --- both engines on drawn panels -----------------------------------------------------------------------------


@st.composite
def small_panels(draw):
    """Rows of up to 6 assets over up to 8 dates (each row present or not: late listings, gaps, delistings), tied
    and missing predictions, and an asset's last row without a next return now and then."""
    n_assets, n_dates = draw(st.integers(1, 6)), draw(st.integers(1, 8))
    rows = []
    for a in range(n_assets):
        dates = [d for d in range(n_dates) if draw(st.booleans())]
        for i, d in enumerate(dates):
            prediction = draw(st.sampled_from([NAN, -0.2, -0.1, 0.0, 0.1, 0.3]))
            last_without_next = i == len(dates) - 1 and draw(st.booleans())
            rows.append((NAMES[a], d, prediction, NAN if last_without_next else 0.01))
    return rows


@given(
    small_panels(),
    st.sampled_from(["topk", "rank_weighted"]),
    st.sampled_from([1, 2, 0.3, 0.5]),
    st.sampled_from([None, 0, 1, 2]),
    st.booleans(),
    st.integers(1, 3),
)
def test_both_engines_give_the_same_targets_on_drawn_panels(panel, kind, k, n_drop, long_only, every):
    if not panel:
        return
    strategy = Strategy(kind=kind, k=k, n_drop=n_drop, long_only=long_only, rebalance_every=every, gross=1.5)
    symbols = tuple(sorted({s for s, *_ in panel}))
    panel = sorted(panel, key=lambda r: (r[0], r[1]))
    days = [np.datetime64("2024-01-08", "D") + d for _, d, *_ in panel]
    rows = backtest_rows.TestRows(
        fold=np.zeros(len(panel), dtype=np.int32),
        symbol=np.array([symbols.index(s) for s, *_ in panel], dtype=np.int32),
        date=np.array(days, dtype="datetime64[D]"),
        prediction=np.array([p for _, _, p, _ in panel]),
        target=np.full(len(panel), NAN),
        next_ret=np.array([r for *_, r in panel]),
        next_date=np.array(days, dtype="datetime64[D]") + 1,
        symbols=symbols,
    )
    t = (topk if kind == "topk" else rank_weighted).targets(rows, strategy, np.zeros(0, dtype=bool), len(symbols))
    frame = pd.DataFrame(
        {
            "symbol": [s for s, *_ in panel],
            "date": pd.DatetimeIndex(days),
            "prediction": [p for _, _, p, _ in panel],
            "next_ret": [r for *_, r in panel],
        }
    )
    tests = {s: part.reset_index(drop=True) for s, part in frame.groupby("symbol")}
    np.testing.assert_array_equal(t.side * t.size, legacy.targets(frame, tests, strategy).to_numpy())
