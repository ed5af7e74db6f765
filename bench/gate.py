"""The bench's determinism gate: outputs compared across engines, worker counts, repeats, a cold store and sweeps.

On the first repeat: every Polars run against the legacy run of the workload (trades exactly; predictions, returns,
metrics within 1e-9), every worker count against the first (bitwise), and the peer's predictions against the first
Polars run's (bitwise). Every later repeat of a case against its first repeat (bitwise; the peer's predictions against
the first Polars run's), before that repeat's folder is deleted; and the run on a store rebuilt cold against the same
case's first repeat (bitwise). A sweep's configurations are compared one by one (`runs_check`, bench/sweeps.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.peer.gate import compare_predictions
from walkforward.compare import compare_runs

TOLERANCE = 1e-9


def determinism_gate(cases: list[Any], outputs: dict[Any, Path]) -> list[dict[str, Any]]:
    """The first repeat's checks; `cases` are bench.harness.Case, `outputs` their first repeat's folders."""
    gate = []
    for workload in dict.fromkeys(c.workload for c in cases):
        legacy = next((c for c in cases if c.workload == workload and c.engine == "legacy"), None)
        peer = next((c for c in cases if c.workload == workload and c.engine == "peer"), None)
        fast = [c for c in cases if c.workload == workload and c.engine == "polars"]
        for case in fast if legacy is not None else ():
            cmp = compare_runs(outputs[legacy], outputs[case], TOLERANCE)
            gate.append(gate_row(workload, f"{case.label} vs legacy", cmp))
        for case in fast[1:]:
            cmp = compare_runs(outputs[fast[0]], outputs[case], 0.0)
            gate.append(gate_row(workload, f"{case.label} vs {fast[0].label} (bitwise)", cmp))
        if peer is not None and fast:
            cmp = compare_predictions(outputs[fast[0]], outputs[peer])
            gate.append(gate_row(workload, f"peer predictions vs {fast[0].label} (bitwise)", cmp))
    return gate


def repeat_check(case: Any, r: int, out: Path, cases: list[Any], outputs: dict[Any, Path]) -> dict[str, Any]:
    """Repeat `r` (0-based, r >= 1) of `case`, in `out`, against its first repeat, bitwise; the peer's predictions
    against the first Polars case's first repeat, as on the first repeat."""
    if case.engine == "peer":
        fast = next(c for c in cases if c.workload == case.workload and c.engine == "polars")
        cmp = compare_predictions(outputs[fast], out)
        return gate_row(case.workload, f"peer predictions, repeat {r + 1}, vs {fast.label} (bitwise)", cmp)
    cmp = compare_runs(outputs[case], out, 0.0)
    return gate_row(case.workload, f"{case.label} repeat {r + 1} vs repeat 1 (bitwise)", cmp)


def cold_check(case: Any, out: Path, outputs: dict[Any, Path]) -> dict[str, Any]:
    """The run on a store rebuilt cold against the same case's first repeat (warm store), bitwise."""
    cmp = compare_runs(outputs[case], out, 0.0)
    return gate_row(case.workload, f"{case.label} cold store vs warm (bitwise)", cmp)


def gate_row(workload: str, check: str, cmp: Any) -> dict[str, Any]:
    bad = [f"{t.name}: {t.message}" for t in cmp.tables if not t.ok]
    return {"workload": workload, "check": check, "ok": cmp.ok, "problems": bad}


def runs_check(workload: str, check: str, expected: dict[str, Path], got: dict[str, Path]) -> dict[str, Any]:
    """Several runs, each named (a sweep's configurations), against the same names' runs in `expected`, bitwise:
    one gate row, naming each configuration that differs, is missing or was not expected."""
    problems = []
    for name, path in expected.items():
        if name not in got:
            problems.append(f"{name}: missing")
            continue
        cmp = compare_runs(path, got[name], 0.0)
        problems += [f"{name}: {t.name}: {t.message}" for t in cmp.tables if not t.ok]
    problems += [f"{name}: not expected" for name in got if name not in expected]
    return {"workload": workload, "check": check, "ok": not problems, "problems": problems}
