"""Are two runs the same? Table by table: keys and integer/text columns exactly, floats within a tolerance.

Used by `wf compare`, by the bench's determinism gate and by the parity tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from walkforward.errors import WalkforwardError
from walkforward.files import read_json, read_table
from walkforward.outputs import SORT_KEYS, TABLES

DEFAULT_TOLERANCE = 1e-9
ABS_FLOOR = 1e-12


@dataclass
class TableDiff:
    name: str
    ok: bool
    message: str = ""
    rows: pl.DataFrame | None = None  # the first differing rows, both values side by side


@dataclass
class Comparison:
    tables: list[TableDiff] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables)


def _close(a: pl.Expr, b: pl.Expr, tol: float) -> pl.Expr:
    same = a.eq_missing(b)  # both null, both NaN, the same infinity, or equal
    floor = ABS_FLOOR if tol > 0 else 0.0  # tolerance 0 means bitwise equal
    near = (a - b).abs() <= tol * pl.max_horizontal(a.abs(), b.abs()) + floor
    return same | (a.is_not_null() & b.is_not_null() & near)


def compare_frames(name: str, a: pl.DataFrame, b: pl.DataFrame, tol: float, show: int = 5) -> TableDiff:
    if a.columns != b.columns:
        return TableDiff(name, False, f"columns differ: {a.columns} vs {b.columns}")
    types = [f"{c} {a.schema[c]} vs {b.schema[c]}" for c in a.columns if a.schema[c] != b.schema[c]]
    if types:
        return TableDiff(name, False, f"column types differ: {', '.join(types)}")
    keys = [k for k in SORT_KEYS.get(name, ()) if k in a.columns]
    a, b = a.sort(keys), b.sort(keys)
    if a.height != b.height:
        return TableDiff(name, False, f"{a.height} rows vs {b.height} rows")
    floats = [c for c, t in a.schema.items() if t.is_float()]
    exact = [c for c in a.columns if c not in floats]
    joined = a.with_row_index("row").hstack(b.rename({c: f"{c}_b" for c in b.columns}))
    checks = [(pl.col(c).eq_missing(pl.col(f"{c}_b"))).alias(c) for c in exact] + [
        _close(pl.col(c), pl.col(f"{c}_b"), tol).alias(c) for c in floats
    ]
    flags = joined.select(checks)
    bad_cols = [c for c in flags.columns if not flags[c].all()]
    if not bad_cols:
        return TableDiff(name, True, f"{a.height} rows match")
    bad = ~pl.all_horizontal([pl.col(c) for c in bad_cols])
    rows = joined.filter(flags.select(bad).to_series())
    first = rows.head(show).select("row", *keys, *[x for c in bad_cols if c not in keys for x in (c, f"{c}_b")])
    message = f"{rows.height} of {a.height} rows differ in {', '.join(bad_cols)}"
    return TableDiff(name, False, message, first)


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    if isinstance(obj, list):
        out = {}
        for i, v in enumerate(obj):
            out.update(_flatten(v, f"{prefix}{i}."))
        return out
    return {prefix[:-1]: obj}


def compare_metrics(a: dict[str, Any], b: dict[str, Any], tol: float, show: int = 5) -> TableDiff:
    fa, fb = _flatten(a), _flatten(b)
    diffs = []
    for key in sorted(set(fa) | set(fb)):
        x, y = fa.get(key, "<missing>"), fb.get(key, "<missing>")
        if (
            isinstance(x, float)
            and isinstance(y, float | int)
            and not isinstance(y, bool)
            or isinstance(y, float)
            and isinstance(x, int)
            and not isinstance(x, bool)
        ):
            same = math.isclose(x, y, rel_tol=tol, abs_tol=ABS_FLOOR if tol > 0 else 0.0)
        else:
            same = x == y
        if not same:
            diffs.append((key, x, y))
    if not diffs:
        return TableDiff("metrics", True, f"{len(fa)} values match")
    rows = pl.DataFrame(
        {
            "metric": [d[0] for d in diffs[:show]],
            "a": [str(d[1]) for d in diffs[:show]],
            "b": [str(d[2]) for d in diffs[:show]],
        }
    )
    return TableDiff("metrics", False, f"{len(diffs)} of {len(fa)} values differ", rows)


def compare_runs(run_a: str | Path, run_b: str | Path, tolerance: float = DEFAULT_TOLERANCE) -> Comparison:
    """Compare the output tables and metrics.json of two run directories (of any engine and worker count).

    A table missing from either run is a difference, not an error; a run directory that does not exist, or a
    tolerance that is negative or not a number, is a WalkforwardError.
    """
    if not tolerance >= 0:  # also rejects NaN
        raise WalkforwardError(f"tolerance must be a number >= 0, got {tolerance!r}; pass e.g. --tolerance 1e-9")
    a_dir, b_dir = Path(run_a), Path(run_b)
    for run in (a_dir, b_dir):
        if not run.is_dir():
            what = "is not a directory" if run.exists() else "does not exist"
            raise WalkforwardError(f"run dir {str(run)!r} {what}; pass the --output-dir of a `wf run`")
    out = Comparison()
    for name in TABLES:
        pa, pb = a_dir / f"{name}.parquet", b_dir / f"{name}.parquet"
        missing = [str(p) for p in (pa, pb) if not p.exists()]
        if missing:
            out.tables.append(TableDiff(name, False, f"missing: {', '.join(missing)}"))
            continue
        out.tables.append(compare_frames(name, read_table(pa), read_table(pb), tolerance))
    ma, mb = a_dir / "metrics.json", b_dir / "metrics.json"
    if ma.exists() and mb.exists():
        out.tables.append(compare_metrics(read_json(ma), read_json(mb), tolerance))
    else:
        missing = [str(p) for p in (ma, mb) if not p.exists()]
        out.tables.append(TableDiff("metrics", False, f"missing: {', '.join(missing)}"))
    return out
