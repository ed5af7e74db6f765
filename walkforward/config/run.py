"""The run configuration: JSON file + CLI overrides, validated in one place into a frozen `Config`.

Both engines read their settings from `Config`; nothing else parses user settings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from walkforward.config import sections
from walkforward.config.parse import (
    check_keys,
    parse_choice,
    parse_date,
    parse_float,
    parse_int,
    parse_symbols,
    parse_text,
)
from walkforward.config.portfolio import check_k
from walkforward.config.schema import (
    AUTO,
    ENGINE_ALIASES,
    ENGINES,
    PRICE_COLUMNS,
    WINDOWS,
    Features,
    Model,
    Strategy,
    Target,
    available_cores,
)
from walkforward.errors import ConfigError
from walkforward.execution.registry import EXECUTORS

DEFAULT_CONFIG_PATH = Path(__file__).parent.parent / "configs" / "default.json"
DATA_PATH_KEYS = ("data_path", "data_dir")  # the key and its old name
ALL_ASSETS = "all"  # assets: every symbol in the data but the benchmark


@dataclass(frozen=True)
class Config:
    data_path: str = "data"  # per-symbol CSVs, a long-format file or a Parquet folder (methodology §7)
    assets: tuple[str, ...] | str = ("SPY", "AAPL", "TSLA", "GOOG", "BTC-USD")  # or "all" (methodology §8)
    benchmark: str = "SPY"
    start_date: dt.date = dt.date(2015, 1, 1)
    end_date: dt.date = dt.date(2024, 12, 31)
    fold_length: int = 252
    step_size: int = 126
    embargo: int = 0
    window: str = "rolling"
    refit_every: int = 1  # retrain every k-th fold; the folds between predict with the last model (methodology §3)
    horizon: int = 5
    price_column: str = "close"
    features: Features = field(default_factory=Features)
    target: Target = field(default_factory=Target)
    model: Model = field(default_factory=Model)
    strategy: Strategy = field(default_factory=Strategy)
    annualization: float | str = AUTO  # periods per year, or "auto": from the rows each series has
    seed: int = 42
    engine: str = "polars"
    n_jobs: int | None = None
    executor: str = "threads"
    scheduler: str | None = None  # a Dask scheduler address, for executor "dask"
    output_dir: str = "results/latest"
    universe: str | None = None  # a membership file: symbol, start, end (methodology §8)

    @property
    def all_assets(self) -> bool:
        """`assets: "all"`: every symbol in the data but the benchmark; the engine resolves the list."""
        return self.assets == ALL_ASSETS

    @property
    def data_dir(self) -> str:
        """The old name of `data_path` (still accepted as a config key)."""
        return self.data_path

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.features.names

    @property
    def symbols(self) -> tuple[str, ...]:
        """The assets, plus the benchmark when it is not traded (it is still read for `corr_n`)."""
        if self.all_assets:
            raise ValueError('assets is "all": resolve it against the data first (walkforward.universe)')
        extra = () if self.benchmark in self.assets else (self.benchmark,)
        return self.assets + extra

    @property
    def resolved_n_jobs(self) -> int:
        return self.n_jobs if self.n_jobs is not None else available_cores()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict; `Config.from_dict(c.to_dict()) == c`."""
        out = dataclasses.asdict(self)
        out["assets"] = self.assets if self.all_assets else list(self.assets)
        out["start_date"] = self.start_date.isoformat()
        out["end_date"] = self.end_date.isoformat()
        out["features"] = self.features.to_dict()
        out["target"] = self.target.to_dict()
        out["model"]["params"] = dict(self.model.params)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Config:
        return build(raw)

    def replace(self, **changes: Any) -> Config:
        """A new validated config with keys changed (dotted keys reach into sections)."""
        return build(apply_overrides(self.to_dict(), changes))


def load_config(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Config:
    """Read a JSON config (the shipped default when `path` is None) and apply non-None overrides.

    An override key may be dotted to reach into a section: `load_config(**{"model.warm_start": True})`.
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    raw = read_json(path, "config file", "pass --config with an existing JSON file")
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a JSON object, got {type(raw).__name__}")
    return build(apply_overrides(raw, overrides))


def read_json(path: Path, what: str, fix: str) -> Any:
    """A JSON file's content; a missing file or invalid JSON is a one-line ConfigError naming `what` and the fix."""
    if path.is_dir():
        raise ConfigError(f"{what} {str(path)!r} is a directory, not a file; {fix}")
    if not path.is_file():
        raise ConfigError(f"{what} {str(path)!r} does not exist; {fix}")
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))  # a byte-order mark (Windows editors) is not JSON
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{what} {str(path)!r} is not valid JSON: {exc.msg} at line {exc.lineno}") from None


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of `raw` with the non-None `overrides` set; dotted keys set nested sections."""
    raw = plain_copy(raw)
    aliases = [k for k in DATA_PATH_KEYS if overrides.get(k) is not None]
    if len(aliases) == 2 and overrides["data_path"] != overrides["data_dir"]:
        raise ConfigError(_both_data_keys(overrides["data_dir"], overrides["data_path"]))
    for key in DATA_PATH_KEYS if aliases else ():  # an override of either name replaces what the file says
        raw.pop(key, None)
    for key, value in overrides.items():
        if value is None:
            continue
        *parents, leaf = key.split(".")
        node = raw
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return raw


def plain_copy(value: Any) -> Any:
    """A copy of `value` as JSON would give it back (`json.loads(json.dumps(value, default=str))`), except that a
    Polars expression (a custom feature given in Python) stays the expression."""
    if isinstance(value, pl.Expr):
        return value
    if isinstance(value, dict):
        return {str(k): plain_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_copy(v) for v in value]
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int | float):
        return json.loads(json.dumps(value))
    return str(value)


def build(raw: dict[str, Any]) -> Config:
    """A validated `Config` from a plain dict (JSON + overrides); every error names the key and the fix."""
    known = (*(f.name for f in dataclasses.fields(Config)), "data_dir")
    check_keys(raw, known, "")
    d = Config()
    get = raw.get
    n_jobs = get("n_jobs", d.n_jobs)
    scheduler = get("scheduler")
    cfg = Config(
        data_path=_data_path(raw, d.data_path),
        assets=ALL_ASSETS if get("assets") == ALL_ASSETS else parse_symbols(get("assets", list(d.assets)), "assets"),
        benchmark=parse_text(get("benchmark", d.benchmark), "benchmark").strip(),
        start_date=parse_date(get("start_date", d.start_date), "start_date"),
        end_date=parse_date(get("end_date", d.end_date), "end_date"),
        fold_length=parse_int(get("fold_length", d.fold_length), "fold_length", 1),
        step_size=parse_int(get("step_size", d.step_size), "step_size", 1),
        embargo=parse_int(get("embargo", d.embargo), "embargo", 0),
        window=parse_choice(get("window", d.window), "window", WINDOWS),
        refit_every=parse_int(get("refit_every", d.refit_every), "refit_every", 1),
        horizon=parse_int(get("horizon", d.horizon), "horizon", 1),
        price_column=parse_choice(get("price_column", d.price_column), "price_column", PRICE_COLUMNS),
        features=sections.features(get("features", d.features.to_dict())),
        target=sections.target(get("target", {})),
        model=sections.model(get("model", {})),
        strategy=sections.strategy(get("strategy", {})),
        annualization=parse_annualization(get("annualization", d.annualization)),
        seed=parse_int(get("seed", d.seed), "seed", 0),
        engine=parse_choice(get("engine", d.engine), "engine", ENGINES, ENGINE_ALIASES),
        n_jobs=None if n_jobs is None else parse_int(n_jobs, "n_jobs", 1),
        executor=parse_choice(get("executor", d.executor), "executor", tuple(EXECUTORS)),
        scheduler=None if scheduler is None else parse_scheduler(scheduler),
        output_dir=parse_text(get("output_dir", d.output_dir), "output_dir"),
        universe=None if get("universe") is None else parse_text(get("universe"), "universe"),
    )
    _check_together(cfg)
    return cfg


def _data_path(raw: dict[str, Any], default: str) -> str:
    """`data_path`, or its old name `data_dir`; both set to different values is an error."""
    given = [k for k in DATA_PATH_KEYS if k in raw]
    if len(given) == 2 and raw["data_path"] != raw["data_dir"]:
        raise ConfigError(_both_data_keys(raw["data_dir"], raw["data_path"]))
    key = given[0] if given else "data_path"
    return parse_text(raw.get(key, default), key)


def _both_data_keys(data_dir: Any, data_path: Any) -> str:
    return (
        f"data_dir {data_dir!r} and data_path {data_path!r} differ; data_dir is the old name of data_path, "
        "set only data_path"
    )


def parse_annualization(value: Any) -> float | str:
    """`"auto"`, or a number of periods per year > 0."""
    if value == AUTO:
        return AUTO
    if isinstance(value, str):
        raise ConfigError(f'annualization must be "auto" or a number of periods per year like 252, got {value!r}')
    out = parse_float(value, "annualization")
    if out <= 0:
        raise ConfigError(f"annualization must be > 0, got {out}")
    return out


# a Dask scheduler address: [tcp|tls|ucx|ws|wss://]HOST:PORT (HOST a name, an IPv4 or a bracketed IPv6 address)
SCHEDULER_ADDRESS = re.compile(r"((tcp|tls|ucx|ws|wss)://)?(\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):\d{1,5}")


def parse_scheduler(value: Any) -> str:
    address = parse_text(value, "scheduler").strip()
    if not SCHEDULER_ADDRESS.fullmatch(address):
        raise ConfigError(
            f"scheduler {address!r} is not a Dask scheduler address; pass one like tcp://HOST:8786 (what "
            "`dask scheduler` prints), with its port"
        )
    return address


def _check_together(cfg: Config) -> None:
    """Checks that involve more than one key."""
    if cfg.scheduler is not None and cfg.executor != "dask":
        raise ConfigError(
            f"scheduler {cfg.scheduler!r} is for executor 'dask', but executor is {cfg.executor!r}; "
            "pass --executor dask or drop --scheduler"
        )
    if not cfg.all_assets:
        check_k(cfg.strategy, len(cfg.assets))
    if cfg.start_date > cfg.end_date:
        raise ConfigError(f"start_date {cfg.start_date} is after end_date {cfg.end_date}; swap them or fix one")
    if cfg.fold_length <= cfg.horizon:
        raise ConfigError(
            f"fold_length={cfg.fold_length} must be greater than horizon={cfg.horizon}: "
            "purging would leave no training rows; raise --fold-length or lower horizon"
        )
