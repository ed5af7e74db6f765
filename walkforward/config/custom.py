"""Custom features (`features.custom`): a Polars expression per asset, named by import path or given as a `pl.Expr`.

In a JSON config an entry names a function and its keyword arguments; the function is imported and called once, when
the config is built, and must return a `pl.Expr` over the asset's columns (COLUMNS), which the plan evaluates per
asset in date order (methodology §2):

    {"name": "mom_12_1", "function": "mypkg.features:momentum", "params": {"long": 252, "short": 21}}

In Python the entry may hold the expression itself: `{"name": "ret_3c", "expr": pl.col("close").pct_change(3)}`.
Building a config that names a function runs that function's module: only build configs you trust.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from walkforward.config.parse import check_keys
from walkforward.errors import ConfigError
from walkforward.features.registry import FEATURE_KINDS

COLUMNS = ("date", "open", "high", "low", "close", "volume")  # what a custom expression may read
# the asset's frame as the plan sees it, to resolve an expression's output type when the config is built
SCHEMA = {"symbol": pl.String, "date": pl.Date, **dict.fromkeys(COLUMNS[1:], pl.Float64)}
NAME = re.compile(r"[A-Za-z]([A-Za-z0-9_]*[A-Za-z0-9])?\Z")  # not ending in "_", as the plan's helper columns do
# the plan's own columns, and the names the built-in kinds and the cross-section transforms give their columns
RESERVED = (*COLUMNS, "symbol", "target", "next_ret", "next_date", "label_end", "member", "prediction", "bench_close")
GENERATED = re.compile(rf"({'|'.join(FEATURE_KINDS)})_\d+\Z|.*_(csrank|cszscore)\Z")
KEYS = ("name", "function", "params", "expr")


@dataclass(frozen=True, eq=False)
class CustomFeature:
    """One custom feature column: its name, its per-asset expression and, for a function, where it came from."""

    name: str
    expr: pl.Expr = field(repr=False)
    function: str | None = None  # "module:attr", or None for an expression given in Python
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        """The expression's exact serialized form (its text where it cannot be serialized): a changed function
        body or params changes it, so it keys checkpoints (methodology §2)."""
        try:
            return self.expr.meta.serialize(format="json")
        except Exception:  # noqa: BLE001 - an expression Polars cannot serialize is keyed by its text
            return str(self.expr)

    def given(self) -> dict[str, Any]:
        """The entry as the config gave it."""
        if self.function is None:
            return {"name": self.name, "expr": self.expr}
        return {"name": self.name, "function": self.function, "params": dict(self.params)}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CustomFeature):
            return NotImplemented
        mine, theirs = (self.name, self.function, self.params), (other.name, other.function, other.params)
        return mine == theirs and self.identity == other.identity

    def __hash__(self) -> int:
        return hash((self.name, self.identity))


def parse_custom(raw: Any, builtin: tuple[str, ...]) -> tuple[CustomFeature, ...]:
    """`features.custom`: a list of entries, each `{"name", "function", "params"}` or `{"name", "expr"}`."""
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple):
        raise ConfigError(
            'features.custom must be a list like [{"name": "mom", "function": "mypkg.features:momentum"}], '
            f"got {raw!r}"
        )
    out: list[CustomFeature] = []
    for i, entry in enumerate(raw):
        feature = _entry(entry, f"features.custom[{i}]")
        _check_name(feature.name, f"features.custom[{i}]", builtin, [f.name for f in out])
        out.append(feature)
    return tuple(out)


def _entry(entry: Any, where: str) -> CustomFeature:
    if not isinstance(entry, dict):
        raise ConfigError(
            f'{where} must be an object like {{"name": "mom", "function": "mypkg:momentum"}}, got {entry!r}'
        )
    check_keys(entry, KEYS, f"in {where}: ")
    name = entry.get("name")
    if not isinstance(name, str):
        raise ConfigError(f"{where}.name must be a string naming the feature's column, got {name!r}")
    where = f"{where} ({name!r})"
    if ("function" in entry) == ("expr" in entry):
        raise ConfigError(f'{where} needs exactly one of "function" (an import path "module:attr") and "expr"')
    if "expr" in entry:
        if "params" in entry:
            raise ConfigError(f'{where}: "params" go with "function"; an "expr" takes none, remove them')
        return CustomFeature(name, _check_expr(entry["expr"], where))
    params = entry.get("params") or {}
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise ConfigError(f"{where}.params must be an object of keyword arguments, got {params!r}")
    path = entry["function"]
    expr = call(resolve_function(path, where), params, path, where)
    return CustomFeature(name, _check_returned(expr, path, where), path, dict(params))


def resolve_function(path: Any, where: str) -> Any:
    """The callable at `path` ("package.module:attr", attr may be dotted)."""
    module_name, sep, attr = path.partition(":") if isinstance(path, str) else ("", "", "")
    if not sep or not module_name or not attr:
        raise ConfigError(f'{where}.function must be an import path "module:function", got {path!r}')
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"{where}: cannot import module {module_name!r} of function {path!r} ({_one_line(exc)}); "
            "check the module name and that its package is installed or on PYTHONPATH"
        ) from None
    except Exception as exc:  # noqa: BLE001 - the module's own code failed as it was imported
        raise ConfigError(
            f"{where}: importing module {module_name!r} of function {path!r} raised {type(exc).__name__}: "
            f"{_one_line(exc)}; fix the module"
        ) from None
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ConfigError(
                f"{where}: {module_name!r} has no attribute {attr!r} (function {path!r}); check the name after ':'"
            )
        target = getattr(target, part)
    if not callable(target):
        raise ConfigError(f"{where}: {path!r} is not callable (a {type(target).__name__}); name a function")
    return target


def call(function: Any, params: dict[str, Any], path: str, where: str) -> Any:
    """`function(**params)`; what it raises becomes one line naming it."""
    try:
        return function(**params)
    except Exception as exc:  # noqa: BLE001 - any error of user code is reported as a config error, in one line
        raise ConfigError(
            f"{where}: function {path!r} raised {type(exc).__name__}: {_one_line(exc)}; check it and its params"
        ) from None


def _check_expr(expr: Any, where: str) -> pl.Expr:
    """An entry's `expr`: a `pl.Expr` (not its text) over COLUMNS."""
    if isinstance(expr, str):
        raise ConfigError(
            f"{where}.expr must be a Polars expression (pl.Expr), got the text {expr!r} (run.json records an "
            'expression given in Python as its text); pass the pl.Expr itself, or name a function with "function"'
        )
    if not isinstance(expr, pl.Expr):
        raise ConfigError(f"{where}.expr must be a Polars expression (pl.Expr), got {type(expr).__name__}")
    return _check_shape(expr, where)


def _check_returned(expr: Any, path: str, where: str) -> pl.Expr:
    if not isinstance(expr, pl.Expr):
        raise ConfigError(
            f"{where}: function {path!r} returned {type(expr).__name__}, not a Polars expression (pl.Expr); "
            "make it return one, e.g. pl.col('close').pct_change(5)"
        )
    return _check_shape(expr, where)


def _check_shape(expr: pl.Expr, where: str) -> pl.Expr:
    """The expression's shape: it names each column it reads (one of COLUMNS), keeps one value per row (or gives one
    value, repeated on every row) and gives a number or a Boolean (methodology §2)."""
    if expr.meta.has_multiple_outputs():
        raise ConfigError(
            f"{where}: the expression selects columns by position, type or pattern (or several at once: pl.nth, "
            "pl.first, pl.all, pl.exclude, polars.selectors, a regex or a dtype in pl.col); name each input with "
            "pl.col('close') etc."
        )
    unknown = [c for c in dict.fromkeys(expr.meta.root_names()) if c not in COLUMNS]
    if unknown:
        raise ConfigError(
            f"{where}: the expression reads {', '.join(map(repr, unknown))}; a custom feature reads only the "
            f"asset's columns {', '.join(COLUMNS)}"
        )
    try:
        per_row = expr.meta.is_length_preserving() or expr.meta.is_scalar()
    except Exception:  # noqa: BLE001 - Polars cannot tell for some expressions (map_batches): accepted
        per_row = True
    if not per_row:
        raise ConfigError(
            f"{where}: the expression does not keep one value per row (it filters, slices or otherwise changes the "
            "number of rows, e.g. head, filter, gather, unique); make it give one value per row, like "
            "pl.col('close').pct_change(5)"
        )
    try:
        dtype = pl.LazyFrame(schema=SCHEMA).select(expr.alias("x")).collect_schema()["x"]
    except Exception as exc:  # noqa: BLE001 - any error Polars raises on the expression, in one line
        message = _one_line(exc).split(" Resolved plan until failure")[0]  # not the plan's dump
        raise ConfigError(
            f"{where}: the expression fails on the asset's columns in Polars ({type(exc).__name__}: "
            f"{message}); fix the expression"
        ) from None
    if not (dtype.is_numeric() or dtype == pl.Boolean):
        raise ConfigError(
            f"{where}: the expression gives {dtype} values; a custom feature needs a number (or a Boolean) per row, "
            "e.g. pl.col('close').pct_change(5) (cast or convert it)"
        )
    return expr


def _check_name(name: str, where: str, builtin: tuple[str, ...], earlier: list[str]) -> None:
    if not NAME.match(name):
        raise ConfigError(
            f"{where}.name {name!r} is not a column name; use letters, digits and '_', starting with a letter and "
            "not ending in '_'"
        )
    if name in builtin or name in RESERVED or GENERATED.match(name):
        raise ConfigError(
            f"{where}.name {name!r} clashes with a built-in or reserved column name; rename it (e.g. {'my_' + name!r})"
        )
    if name in earlier:
        raise ConfigError(f"{where}.name {name!r} names another custom feature too; give each a distinct name")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
