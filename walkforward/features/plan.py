"""The one lazy plan: every feature, the target and the backtest helpers for every asset (methodology §2).

`start_features` converts the data to the Parquet store if needed and starts collecting the plan in a background
thread; the engine imports the model library meanwhile and takes the frame when it needs it.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

import polars as pl
import pyarrow as pa

from walkforward.config import Config
from walkforward.data.store import ensure_store, scan
from walkforward.errors import DataError
from walkforward.features.crosssection import cs_rank, cs_zscore
from walkforward.features.custom import custom_exprs
from walkforward.features.expressions import forward_return, ret
from walkforward.features.matrix import Matrix
from walkforward.features.registry import FEATURE_KINDS
from walkforward.features.targets import TARGETS, TargetContext

BAR = ("open", "high", "low", "close", "volume")
UNIVERSE = pl.col("universe_")  # the row is in its date's cross-section: a traded asset, a member on that date


def feature_exprs(config: Config) -> list[pl.Expr]:
    """Every configured feature as a named per-asset expression, in `config.feature_names` order."""
    return [
        FEATURE_KINDS[kind].build(n).over("symbol").alias(FEATURE_KINDS[kind].column(n))
        for kind, windows in config.features.windows
        for n in windows
    ] + custom_exprs(config)


def with_benchmark(prices: pl.LazyFrame, benchmark: str) -> pl.LazyFrame:
    """Add `bench_close`: the benchmark's last close at or before each row's date (an as-of join)."""
    bench = (
        prices.filter(pl.col("symbol") == benchmark).select("date", pl.col("close").alias("bench_close")).sort("date")
    )
    return prices.join_asof(bench, on="date", strategy="backward")  # `prices` must be sorted by date


def cross_sectional(config: Config) -> bool:
    """Whether the plan computes anything per date across the universe (cross-sectional features or target)."""
    return bool(config.features.cross_section.names) or TARGETS[config.target.kind].cross_sectional


def with_universe(frame: pl.LazyFrame, assets: tuple[str, ...], windows: pl.DataFrame | None) -> pl.LazyFrame:
    """Add `universe_`: a traded asset (`assets`), and with membership `windows` (symbol, start, end; methodology §8)
    a member on the row's date: an as-of join on the last window that starts at or before it, and the furthest end
    of the symbol's windows up to that one (`frame` must be sorted by date)."""
    traded = pl.col("symbol").is_in(list(assets))
    if windows is None:
        return frame.with_columns(traded.alias("universe_"))
    reach = (
        windows.lazy()
        .select(pl.col("symbol").cast(pl.String), pl.col("start").cast(pl.Date), pl.col("end").cast(pl.Date))
        .sort("symbol", "start")
        .select("symbol", "start", pl.col("end").cum_max().over("symbol").alias("reach_"))
        .sort("start")
    )
    joined = frame.join_asof(
        reach, left_on="date", right_on="start", by="symbol", strategy="backward", check_sortedness=False
    )
    member = (pl.col("reach_") >= pl.col("date")).fill_null(False)
    return joined.with_columns((traded & member).alias("universe_")).drop("start", "reach_")


def cross_section_exprs(config: Config) -> list[pl.Expr]:
    """The cross-sectional columns (`config.features.cross_section.names` order), and the cs_rank target."""
    cs = config.features.cross_section
    out = [cs_rank(pl.col(n), UNIVERSE, cs.min_assets).alias(f"{n}_csrank") for n in cs.rank]
    out += [cs_zscore(pl.col(n), UNIVERSE, cs.min_assets, cs.winsorize).alias(f"{n}_cszscore") for n in cs.zscore]
    if TARGETS[config.target.kind].cross_sectional:
        out.append(cs_rank(pl.col("target"), UNIVERSE, cs.min_assets).alias("target"))
    return out


def feature_plan(prices: pl.LazyFrame, config: Config, windows: pl.DataFrame | None = None) -> pl.LazyFrame:
    """One lazy plan: features, target and backtest helpers for every asset, sorted by (date, symbol).

    `prices` has symbol, date, open, high, low, close, volume. One sort, by (date, symbol): it is the order the as-of
    joins need (by date), the order of the feature matrix, and within each symbol the date order that every
    `.over("symbol")` window runs in. Cross-sectional columns come last, per date over the traded assets (members on
    the date, with membership `windows`: symbol, start, end).
    """
    h = config.horizon
    close, date = pl.col("close"), pl.col("date")
    target = TARGETS[config.target.kind].build(TargetContext(h, config.target.vol_window))
    plan = (
        prices.select("symbol", "date", *BAR)
        .sort("date", "symbol")
        .pipe(with_benchmark, config.benchmark)
        .with_columns(
            ret(close, 1).over("symbol").alias("ret_1_"),
            ret(pl.col("bench_close"), 1).over("symbol").alias("bench_ret_1_"),
        )
        .with_columns(
            *feature_exprs(config),
            target.over("symbol").alias("target"),
            forward_return(close, 1).over("symbol").alias("next_ret"),
            date.shift(-h).over("symbol").alias("label_end"),
            date.shift(-1).over("symbol").alias("next_date"),
        )
    )
    if cross_sectional(config):
        if config.all_assets:
            raise ValueError('assets is "all": resolve it against the data first (walkforward.universe)')
        plan = with_universe(plan, config.assets, windows).with_columns(cross_section_exprs(config)).drop("universe_")
    return plan.drop("ret_1_", "bench_ret_1_", "bench_close", *BAR)


class Background:
    """Call `fn()` in a thread now; `result()` waits for it and returns its value or raises its exception."""

    def __init__(self, fn: Callable[[], Any]):
        self.started = time.perf_counter()  # when the work began: the features stage is timed from here
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), name="wf-features", daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self._value = fn()
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self) -> Any:
        """The value, once (this object lets go of it, so the caller decides how long it lives)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        value, self._value = self._value, None
        return value


class Plans:
    """Feature frames already collected, by plan: a sweep's configurations that differ only in what the plan does not
    read (the model, the strategy, the folds) collect it once. The key is the data's fingerprint and the serialized
    plan (every expression and literal in it), so two runs share a frame only when their plans are the same; a plan
    that does not serialize (a custom feature's Python function, say) is collected each time. The frames live as
    long as this object: the caller (a sweep) decides. It also keeps what else a sweep's configurations share: the
    matrices and fold layouts built over its frames, and the data fingerprints taken (`runner.open_run`)."""

    def __init__(self) -> None:
        self._frames: dict[tuple[str, str], pl.DataFrame] = {}
        self._matrices: dict[tuple[int, tuple[str, ...]], Matrix] = {}
        self._layouts: dict[tuple, Any] = {}
        self.fingerprints: dict[tuple[str, tuple[str, ...]], str] = {}  # runner.open_run's, by data path and symbols

    def matrix(self, frame: pl.DataFrame, names: tuple[str, ...]) -> Matrix:
        """The matrix of `names` over `frame`, built once per frame this object holds (a frame from `collector` is
        the same object for every configuration of its plan), so their fold jobs share it; any other frame's is
        built anew."""
        if not any(f is frame for f in self._frames.values()):
            return Matrix.from_frame(frame, names)
        key = (id(frame), tuple(names))
        if key not in self._matrices:
            self._matrices[key] = Matrix.from_frame(frame, names)
        return self._matrices[key]

    def layout(self, matrix: Matrix, key: tuple, build: Callable[[], Any]) -> Any:
        """The fold layout `build()` makes over `matrix` for `key` (the folds' settings), built once per pair when
        this object holds the matrix (ids are only keys while their objects live)."""
        if not any(m is matrix for m in self._matrices.values()):
            return build()
        full = (id(matrix), *key)
        if full not in self._layouts:
            self._layouts[full] = build()
        return self._layouts[full]

    def collector(self, plan: pl.LazyFrame, fingerprint: str) -> Callable[[], pl.DataFrame]:
        try:
            key = (fingerprint, hashlib.sha256(plan.serialize()).hexdigest())
        except Exception:  # noqa: BLE001 - any plan Polars cannot serialize is simply not shared
            return plan.collect

        def collect() -> pl.DataFrame:
            if key not in self._frames:
                self._frames[key] = plan.collect()
            return self._frames[key]

        return collect


def start_features(
    config: Config, fingerprint: str | None = None, windows: pl.DataFrame | None = None, plans: Plans | None = None
) -> tuple[Background, str]:
    """Convert the data to the Parquet store if needed, then start collecting the one feature plan in the background
    (`windows`: the membership windows, symbol, start, end, which the cross-section respects; `plans`: frames a sweep
    already collected)."""
    path, fingerprint = ensure_store(config.data_path, config.symbols, config.price_column, fingerprint)
    prices = scan(path).filter(pl.col("symbol").is_in(list(config.symbols)))
    plan = feature_plan(prices, config, windows)
    return Background(plan.collect if plans is None else plans.collector(plan, fingerprint)), fingerprint


def check_panel(frame: pl.DataFrame, config: Config) -> None:
    """Every configured symbol has rows."""
    present = set(frame["symbol"].unique().to_list())
    missing = [s for s in config.symbols if s not in present]
    if missing:
        raise DataError(f"no rows for {', '.join(missing)} in {config.data_path}; check the data")


def features_table(frame: pl.DataFrame, config: Config) -> pa.Table:
    """features.parquet: the traded assets' rows, every feature and the target."""
    assets = pl.col("symbol").is_in(list(config.assets))
    columns = [pl.col(c).fill_nan(None) for c in (*config.feature_names, "target")]  # NaN-free by design; be sure
    return frame.filter(assets).select("symbol", "date", *columns).to_arrow()
