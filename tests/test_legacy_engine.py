"""End-to-end runs of the legacy pandas engine on a small generated dataset."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from walkforward.config import UNIFIED_SYMBOL, Config
from walkforward.errors import DataError
from walkforward.legacy.engine import run, split_fold, stack_by_date
from walkforward.legacy.folds import make_folds, n_folds
from walkforward.outputs import SCHEMAS, TABLES, conform

FIRST_DAY = dt.date(2019, 1, 1)
LAST_DAY = dt.date(2021, 12, 31)
ASSETS = ("SPY", "AAA", "BTC-USD")
NAN_TARGET = float("nan")


def write_random_walk(path: Path, symbol: str, seed: int, *, yahoo: bool = False) -> pd.DataFrame:
    """A deterministic random-walk OHLCV CSV; `-USD` symbols trade every day, others on weekdays."""
    rng = np.random.default_rng(seed)
    if symbol.endswith("-USD"):
        dates = pd.date_range(FIRST_DAY, LAST_DAY, freq="D")
    else:
        dates = pd.bdate_range(FIRST_DAY, LAST_DAY)
    n = len(dates)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, n)))
    open_ = close * np.exp(rng.normal(0, 0.004, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    volume = rng.integers(1_000_000, 5_000_000, n)
    frame = pd.DataFrame(
        {
            "date": dates.strftime("%Y-%m-%d"),
            "open": open_.round(4),
            "high": high.round(4),
            "low": low.round(4),
            "close": close.round(4),
            "volume": volume,
        }
    )
    if yahoo:  # Yahoo layout: capitalised names and an Adj Close column that is ignored
        frame.insert(5, "adj_close", (frame["close"] * 0.98).round(4))
        frame.columns = ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]
    frame.to_csv(path, index=False)
    return frame


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("prices")
    for seed, symbol in enumerate(ASSETS):
        write_random_walk(folder / f"{symbol}.csv", symbol, seed, yahoo=symbol == "AAA")
    return folder


def make_config(data_dir: Path, **changes: object) -> Config:
    raw = {
        "data_dir": str(data_dir),
        "assets": list(ASSETS),
        "benchmark": "SPY",
        "start_date": "2020-07-01",
        "end_date": "2021-06-30",
        "fold_length": 120,
        "step_size": 63,
        "horizon": 5,
        "model": {"kind": "lightgbm", "params": {"n_estimators": 10}},
        "engine": "legacy",
    }
    raw.update(changes)
    return Config.from_dict(raw)


@pytest.fixture(scope="module")
def unified(data_dir: Path):
    calls = []
    result = run(make_config(data_dir), progress=lambda d, t: calls.append((d, t)))
    return result, calls


def test_run_produces_the_output_schema(unified) -> None:
    result, _ = unified
    for name in TABLES:
        table = conform(name, result.tables[name])
        assert table.schema == SCHEMAS[name]
        assert table.num_rows > 0


def test_fold_count_and_progress(unified) -> None:
    result, calls = unified
    # 252 sessions from 2020-07-01 to 2021-06-30 at 63 per step: 4 folds
    assert len(result.folds) == 4
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [f["fold"] for f in result.metrics["per_fold"]] == [0, 1, 2, 3]
    assert result.folds[0]["test_start"] == "2020-07-01"
    assert result.folds[-1]["test_end"] == "2021-06-30"
    assert set(result.timings) == {
        "load",
        "validate",
        "features",
        "fit",
        "predict",
        "backtest",
        "metrics",
    }


def test_no_test_row_outside_its_fold(unified) -> None:
    result, _ = unified
    predictions = conform("predictions", result.tables["predictions"]).to_pandas()
    bounds = pd.DataFrame(result.folds)
    edges = [dt.date.fromisoformat(f["test_start"]) for f in result.folds[1:]]
    lo = [dt.date(2020, 7, 1), *edges]
    hi = [*edges, dt.date(2021, 7, 1)]
    for fold, rows in predictions.groupby("fold"):
        assert rows["date"].min() >= lo[fold] and rows["date"].max() < hi[fold]
        assert bounds.loc[fold, "train_end"] < bounds.loc[fold, "test_start"]
    # every asset row of the period is predicted once, crypto weekends included
    btc = predictions[predictions["symbol"] == "BTC-USD"]
    assert len(btc) == 365 and btc["date"].is_unique


def test_positions_and_trades(unified) -> None:
    result, _ = unified
    predictions = conform("predictions", result.tables["predictions"]).to_pandas()
    assert set(predictions["position"].unique()) <= {-1, 0, 1}
    assert predictions["prediction"].notna().all()  # enough warm-up before start_date
    trades = conform("trades", result.tables["trades"]).to_pandas()
    assert (trades["weight_traded"] > 0).all()  # a trade with before == after changed only the weight
    assert result.metrics["overall"]["periods_per_year"] == pytest.approx(365.25)  # a crypto asset: every day
    assert result.metrics["per_asset"]["SPY"]["periods_per_year"] < 262  # weekdays only
    assert all(
        f["periods_per_year"] == result.metrics["overall"]["periods_per_year"] for f in result.metrics["per_fold"]
    )
    assert all(result.metrics["per_asset"][s]["ic_mean"] is None for s in ASSETS)
    assert result.metrics["overall"]["ic_mean"] is not None and result.metrics["overall"]["beta"] is not None
    assert result.metrics["overall"]["n_trades"] == len(trades)
    assert set(result.metrics["per_asset"]) == set(ASSETS)
    returns = conform("returns", result.tables["returns"]).to_pandas()
    assert set(returns["series"]) == {"portfolio", *ASSETS}
    portfolio = returns[returns["series"] == "portfolio"]
    assert np.isclose(portfolio["equity"].iloc[-1] - 1, result.metrics["overall"]["total_return"])


@pytest.mark.parametrize(
    ("kind", "scope", "warm_start", "window"),
    [
        ("lightgbm", "per_asset", False, "expanding"),
        ("lightgbm", "unified", True, "rolling"),
        ("random_forest", "unified", False, "rolling"),
        ("random_forest", "per_asset", True, "rolling"),
    ],
)
def test_model_variants_run(data_dir: Path, kind: str, scope: str, warm_start: bool, window: str):
    params = {"n_estimators": 5, "max_depth": 3}
    config = make_config(
        data_dir,
        window=window,
        model={"kind": kind, "scope": scope, "warm_start": warm_start, "params": params},
    )
    result = run(config, save_features=True)
    importance = conform("feature_importance", result.tables["feature_importance"]).to_pandas()
    symbols = {UNIFIED_SYMBOL} if scope == "unified" else set(ASSETS)
    assert set(importance["symbol"]) == symbols
    assert len(importance) == 4 * len(symbols) * len(config.feature_names)
    features = conform("features", result.features)
    assert features.column_names == ["symbol", "date", *config.feature_names, "target"]
    assert features.schema.field("date").type == pa.date32()
    if window == "expanding":
        assert all(f["train_start"] == "2019-01-01" for f in result.folds)


def test_warm_start_changes_later_folds_only(data_dir: Path) -> None:
    def predictions(warm: bool) -> pd.DataFrame:
        model = {"kind": "lightgbm", "warm_start": warm, "params": {"n_estimators": 5}}
        result = run(make_config(data_dir, model=model))
        return conform("predictions", result.tables["predictions"]).to_pandas()

    cold, warm = predictions(False), predictions(True)
    first = cold["fold"] == 0
    np.testing.assert_array_equal(cold.loc[first, "prediction"], warm.loc[first, "prediction"])
    assert not np.allclose(cold.loc[~first, "prediction"], warm.loc[~first, "prediction"])


def test_too_little_history_says_what_is_needed(data_dir: Path) -> None:
    # weekdays before 2019-03-01: 23 in January (from Tuesday the 1st) + 20 in February = 43
    config = make_config(data_dir, start_date="2019-03-01", fold_length=100, embargo=2)
    with pytest.raises(
        DataError, match=r"the first fold needs 102 benchmark sessions .* the data has 43; lower --fold"
    ):
        run(config)


def test_missing_file_is_a_data_error(data_dir: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        run(make_config(data_dir, assets=["SPY", "NOPE"]))


def _closes(data_dir: Path, symbol: str) -> tuple[dict[dt.date, float], dict[dt.date, dt.date]]:
    frame = pd.read_csv(data_dir / f"{symbol}.csv")
    frame.columns = [c.lower() for c in frame.columns]
    days = [dt.date.fromisoformat(d) for d in frame["date"]]
    return dict(zip(days, frame["close"], strict=True)), dict(zip(days[:-1], days[1:], strict=True))


def recompute(data_dir: Path, predictions: pd.DataFrame, config: Config) -> dict[str, dict]:
    """§4 again, row by row in plain Python from the CSVs and the predictions: positions, trades and returns."""
    s, cost = config.strategy, config.strategy.cost_bps / 10_000
    assets: dict[str, list[dict]] = {}
    for symbol in config.assets:
        close, following = _closes(data_dir, symbol)
        part = predictions[predictions["symbol"] == symbol].sort_values("date")
        rows = []
        for fold, day, pred in zip(part["fold"], part["date"], part["prediction"], strict=True):
            nxt = following.get(day)
            move = None if nxt is None else close[nxt] / close[day] - 1
            short = s.allow_short and pred < -s.short_threshold
            signal = 0 if np.isnan(pred) else 1 if pred > s.long_threshold else -1 if short else 0
            rows.append(
                {
                    "fold": fold,
                    "day": day,
                    "next": nxt,
                    "move": move,
                    "signal": signal,
                    "ok": not np.isnan(pred) and nxt is not None,
                }
            )
        assets[symbol] = rows

    def weight(day: dt.date) -> float:
        if s.weighting == "equal":
            return 1 / len(config.assets)
        latest = [[r for r in rows if r["day"] <= day][-1:] for rows in assets.values()]
        return 1 / sum(1 for last in latest if last and last[0]["ok"])

    out: dict[str, dict] = {"position": {}, "asset": {}, "portfolio": {}, "trades": {}}
    for symbol, rows in assets.items():
        segments = (
            [[r for r in rows if r["fold"] == f] for f in sorted({r["fold"] for r in rows})]
            if s.flat_between_folds
            else [rows]
        )
        for seg in segments:
            p_prev, q_prev = 0, 0.0
            for i, r in enumerate(seg):
                src = seg[i - s.lag] if i >= s.lag else None
                p = src["signal"] if src is not None and r["move"] is not None else 0
                q = weight(src["day"]) * p if p else 0.0
                exit_p, exit_q = (abs(p), abs(q)) if i == len(seg) - 1 else (0, 0.0)
                out["position"][(symbol, r["day"])] = p
                if q != q_prev:
                    out["trades"][(r["fold"], symbol, r["day"])] = (p_prev, p, abs(q - q_prev))
                if exit_q:
                    out["trades"][(r["fold"], symbol, r["next"])] = (p, 0, exit_q)
                if r["next"] is not None:
                    out["asset"][(symbol, r["next"])] = p * r["move"] - cost * (abs(p - p_prev) + exit_p)
                    value = q * r["move"] - cost * (abs(q - q_prev) + exit_q)
                    out["portfolio"][r["next"]] = out["portfolio"].get(r["next"], 0.0) + value
                p_prev, q_prev = p, q
    return out


def keyed(frame: pd.DataFrame, keys: list[str], value: str) -> dict:
    return dict(zip(frame[keys].itertuples(index=False, name=None), frame[value], strict=True))


def check_against_recomputation(data_dir: Path, result, config: Config) -> None:
    predictions = conform("predictions", result.tables["predictions"]).to_pandas()
    returns = conform("returns", result.tables["returns"]).to_pandas()
    trades = conform("trades", result.tables["trades"]).to_pandas()
    expected = recompute(data_dir, predictions, config)
    got = keyed(predictions, ["symbol", "date"], "position")
    assert got == expected["position"]
    got_trades = {
        (t.fold, t.symbol, t.date): (t.position_before, t.position_after, t.weight_traded) for t in trades.itertuples()
    }
    assert got_trades.keys() == expected["trades"].keys()
    for key, (before, after, weight) in expected["trades"].items():
        assert got_trades[key][:2] == (before, after) and got_trades[key][2] == pytest.approx(weight, rel=1e-12)
    assets = returns[returns["series"] != "portfolio"]
    got_assets = keyed(assets, ["series", "date"], "return")
    assert got_assets.keys() == expected["asset"].keys()
    np.testing.assert_allclose(
        [got_assets[k] for k in expected["asset"]], list(expected["asset"].values()), rtol=1e-12, atol=1e-15
    )
    portfolio = returns[returns["series"] == "portfolio"]
    assert list(portfolio["date"]) == sorted(expected["portfolio"])
    np.testing.assert_allclose(
        portfolio["return"], [expected["portfolio"][d] for d in portfolio["date"]], rtol=1e-12, atol=1e-15
    )
    edges = [dt.date.fromisoformat(f["test_start"]) for f in result.folds[1:]]
    assert list(returns["fold"]) == [sum(d >= e for e in edges) for d in returns["date"]]  # the fold of the date earned


def test_returns_match_an_independent_recomputation(data_dir: Path, unified) -> None:
    result, _ = unified
    check_against_recomputation(data_dir, result, make_config(data_dir))


@pytest.mark.parametrize(
    "strategy",
    [
        {"lag": 1, "flat_between_folds": True},
        {"lag": 2, "weighting": "equal", "long_threshold": 0.002, "allow_short": False},
    ],
)
def test_lag_weighting_and_flat_folds_match_an_independent_recomputation(data_dir: Path, strategy: dict) -> None:
    config = make_config(
        data_dir, strategy={"cost_bps": 7.0, **strategy}, model={"kind": "lightgbm", "params": {"n_estimators": 5}}
    )
    check_against_recomputation(data_dir, run(config), config)


# --- folds (methodology §1) and training rows (§3) --------------------------------------------

# 20 weekday sessions: Jan 1-5, 8-12, 15-19, 22-26 2024
CALENDAR = pd.Series(pd.bdate_range("2024-01-01", periods=20))


def fold_config(**changes: object) -> Config:
    raw = {
        "start_date": "2024-01-13",
        "end_date": "2024-01-28",
        "step_size": 4,
        "fold_length": 6,
        "horizon": 1,
    }
    raw.update(changes)
    return Config.from_dict(raw)


def test_folds_by_hand() -> None:
    # start Saturday 13th, end Sunday 28th: S = Jan 15-19, 22-26 (n = 10). step 4: 10 = 2*4 + 2,
    # 2*2 >= 4 so the remainder is a window of its own: 3 folds
    folds = make_folds(CALENDAR, fold_config())
    ts = pd.Timestamp
    assert [f.test_lo for f in folds] == [ts("2024-01-13"), ts("2024-01-19"), ts("2024-01-25")]
    assert [f.test_hi for f in folds] == [ts("2024-01-19"), ts("2024-01-25"), ts("2024-01-29")]
    # fold 0: k = 10 (Jan 15); training sessions B[4:10] = Jan 5 .. Jan 12, up to the test start
    assert folds[0].train_lo == ts("2024-01-05") and folds[0].train_hi == ts("2024-01-13")
    assert [f.info() for f in folds] == [
        {
            "fold": 0,
            "train_start": "2024-01-05",
            "train_end": "2024-01-12",
            "test_start": "2024-01-15",
            "test_end": "2024-01-18",
        },
        {
            "fold": 1,
            "train_start": "2024-01-11",
            "train_end": "2024-01-18",
            "test_start": "2024-01-19",
            "test_end": "2024-01-24",
        },
        {
            "fold": 2,
            "train_start": "2024-01-17",
            "train_end": "2024-01-24",
            "test_start": "2024-01-25",
            "test_end": "2024-01-26",
        },
    ]


def test_fold_count_rounds_half_steps_up() -> None:
    assert n_folds(10, 4) == 3  # remainder 2 = half a step: own window
    assert n_folds(10, 6) == 2  # remainder 4 >= 3
    assert n_folds(10, 7) == 1  # remainder 3 < 3.5 joins the last window
    assert n_folds(3, 10) == 1  # at least one
    folds = make_folds(CALENDAR, fold_config(step_size=7))
    assert len(folds) == 1 and folds[0].info()["test_end"] == "2024-01-26"


def test_folds_with_embargo_and_expanding_window() -> None:
    # embargo 2: k = 10, training sessions B[2:8] = Jan 3 .. Jan 10, train_hi = B[8] = Jan 11
    fold = make_folds(CALENDAR, fold_config(embargo=2))[0]
    assert fold.train_lo == pd.Timestamp("2024-01-03") and fold.train_hi == pd.Timestamp("2024-01-11")
    assert fold.info()["train_end"] == "2024-01-10"
    fold = make_folds(CALENDAR, fold_config(window="expanding"))[1]
    assert fold.train_lo is None and fold.info()["train_start"] == "2024-01-01"


def test_fold_errors() -> None:
    with pytest.raises(DataError, match="no benchmark sessions between start_date 2024-01-06 and end_date 2024-01-07"):
        make_folds(CALENDAR, fold_config(start_date="2024-01-06", end_date="2024-01-07"))
    with pytest.raises(
        DataError,
        match=r"the first fold needs 12 benchmark sessions before it \(fold_length=10 \+ embargo=2\), the data has 10; "
        r"lower --fold-length or --embargo or move --start-date to 2024-01-17 or later$",
    ):
        make_folds(CALENDAR, fold_config(fold_length=10, embargo=2))


def test_split_fold_purges_labels_that_reach_the_test_window() -> None:
    days = pd.Series(pd.date_range("2024-01-01", periods=10))
    features = pd.DataFrame(
        {
            "date": days,
            "x": 1.0,
            "target": [0.1, NAN_TARGET, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, NAN_TARGET, NAN_TARGET],
            "label_end": days.shift(-2),
        }
    )
    only_ret_1 = {"ret": [1], "sma_ratio": [], "rsi": [], "vol": [], "corr": [], "volume_z": []}
    config = Config.from_dict({"features": only_ret_1, "horizon": 2, "fold_length": 3})
    features = features.rename(columns={"x": "ret_1"})
    folds = make_folds(pd.Series(days), config.replace(start_date="2024-01-07", end_date="2024-01-10", step_size=4))
    train, test = split_fold(features, folds[0], config)
    # training window Jan 4-6; Jan 5's and Jan 6's labels end on Jan 7 and 8 (>= Jan 7): purged
    assert list(train["date"].dt.day) == [4]
    assert list(test["date"].dt.day) == [7, 8, 9, 10]


def test_training_rows_are_ordered_by_date_then_symbol() -> None:
    d = pd.to_datetime(pd.Series(["2024-01-02", "2024-01-01"]))
    frames = {s: pd.DataFrame({"date": d, "v": [i, i]}) for i, s in enumerate(["b", "B", "a"])}
    stacked = stack_by_date(frames)
    assert list(stacked["symbol"]) == ["B", "a", "b", "B", "a", "b"]
    assert list(stacked["date"].dt.day) == [1, 1, 1, 2, 2, 2]


@pytest.fixture(scope="module")
def late_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("late")
    for seed, symbol in enumerate(("SPY", "LATE")):
        write_random_walk(folder / f"{symbol}.csv", symbol, seed + 10)
    late = pd.read_csv(folder / "LATE.csv")
    late[late["date"] >= "2020-09-01"].to_csv(folder / "LATE.csv", index=False)
    return folder


def test_an_asset_without_history_gets_no_predictions_in_a_unified_model(late_dir: Path) -> None:
    result = run(make_config(late_dir, assets=["SPY", "LATE"]))  # unified: SPY trains fold 0
    predictions = conform("predictions", result.tables["predictions"]).to_pandas()
    rows = predictions[predictions["symbol"] == "LATE"]
    warm_up = rows["date"] < dt.date(2020, 11, 1)  # fewer than 50 rows: sma_ratio_50 is missing
    assert rows.loc[warm_up, "prediction"].isna().all()
    assert (rows.loc[warm_up, "position"] == 0).all()
    assert rows.loc[~warm_up, "prediction"].notna().any()
    # "available" weights: SPY holds the whole book until LATE has predictions
    trades = conform("trades", result.tables["trades"]).to_pandas()
    first = trades[trades["symbol"] == "SPY"].iloc[0]
    assert first["weight_traded"] == 1.0


@pytest.mark.parametrize("warm_start", [False, True])
def test_an_asset_without_training_rows_gets_no_model_per_asset(late_dir: Path, warm_start: bool) -> None:
    # LATE is listed on 2020-09-01: no complete training row before fold 0 (2020-07-01) nor fold 1 (its features
    # need 60 rows); per asset it gets no model there, no predictions and no importance, and the run goes on
    model = {"kind": "lightgbm", "scope": "per_asset", "warm_start": warm_start, "params": {"n_estimators": 5}}
    result = run(make_config(late_dir, assets=["SPY", "LATE"], model=model))
    importance = conform("feature_importance", result.tables["feature_importance"]).to_pandas()
    predictions = conform("predictions", result.tables["predictions"]).to_pandas()
    modelled = set(importance.loc[importance["symbol"] == "LATE", "fold"])
    assert 0 not in modelled and 1 not in modelled and modelled
    assert set(importance.loc[importance["symbol"] == "SPY", "fold"]) == {0, 1, 2, 3}
    late = predictions[predictions["symbol"] == "LATE"]
    assert late.loc[~late["fold"].isin(modelled), "prediction"].isna().all()
    assert late.loc[late["fold"].isin(modelled), "prediction"].notna().any()


def test_a_unified_model_without_training_rows_fails_naming_the_fold(late_dir: Path) -> None:
    with pytest.raises(DataError, match=r"fold 0 \(train .*assets LATE\) has no complete training rows"):
        run(make_config(late_dir, assets=["LATE"]))
