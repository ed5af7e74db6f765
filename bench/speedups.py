"""The bench's comparisons between cases: speedups (vs legacy, the peer, 1 worker, separate runs), executor overhead."""

from __future__ import annotations

from typing import Any


def add_speedups(rows: list[dict[str, Any]]) -> None:
    """Speedup vs legacy, vs the peer and vs 1 worker (process wall medians), and parallel efficiency."""
    for row in rows:
        same = [r for r in rows if r["workload"] == row["workload"]]
        legacy = next((r for r in same if r["engine"] == "legacy"), None)
        peer = next((r for r in same if r["engine"] == "peer"), None)
        one = next(
            (r for r in same if r["engine"] == "polars" and r["executor"] == row["executor"] and r["workers"] == 1),
            None,
        )
        wall = row["wall_seconds"]["median"]
        row["speedup_vs_legacy"] = legacy["wall_seconds"]["median"] / wall if legacy else None
        row["speedup_vs_peer"] = peer["wall_seconds"]["median"] / wall if peer else None
        if row["engine"] != "polars" or one is None:
            row["speedup_vs_1_worker"] = row["parallel_efficiency"] = None
        else:
            row["speedup_vs_1_worker"] = one["wall_seconds"]["median"] / wall
            row["parallel_efficiency"] = row["speedup_vs_1_worker"] / row["workers"]


def executor_overhead(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each non-thread case against the thread pool with as many workers: process wall and in-process run time
    (medians), and the extra time as a share of the thread pool's."""
    out = []
    for row in rows:
        if row["engine"] != "polars" or row["executor"] == "threads":
            continue
        base = next(
            (
                r
                for r in rows
                if r["workload"] == row["workload"]
                and r["engine"] == row["engine"]
                and r["executor"] == "threads"
                and r["workers"] == row["workers"]
            ),
            None,
        )
        if base is None:
            continue
        run, base_run = row["run_seconds"]["median"], base["run_seconds"]["median"]
        out.append(
            {
                **_wall_overhead(row, base),
                "run_seconds": run,
                "threads_run_seconds": base_run,
                "run_overhead": run / base_run - 1 if base_run else None,
                "executor_seconds": row["stages"]["executor"],
            }
        )
    return out


def sweep_speedups(rows: list[dict[str, Any]]) -> None:
    """`speedup_vs_separate`: the separate `wf run` processes' summed wall time over the case's (process wall
    medians), for every case of a sweep workload with a separate case of as many workers."""
    for row in rows:
        separate = _find(rows, workload=row["workload"], mode="separate", workers=row["workers"])
        wall = row["wall_seconds"]["median"]
        row["speedup_vs_separate"] = separate["wall_seconds"]["median"] / wall if separate and wall else None


def sweep_overhead(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each sweep on another executor against the thread pool's sweep with as many workers: process wall and the
    in-command time (medians), and the extra as a share of the thread pool's."""
    out = []
    for row in rows:
        if row["mode"] != "sweep" or row["executor"] == "threads":
            continue
        base = _find(rows, workload=row["workload"], mode="sweep", executor="threads", workers=row["workers"])
        if base is None:
            continue
        command, base_command = row["command_seconds"], base["command_seconds"]
        out.append(
            {
                **_wall_overhead(row, base),
                "extra_seconds": row["wall_seconds"]["median"] - base["wall_seconds"]["median"],
                "command_seconds": command,
                "threads_command_seconds": base_command,
                "command_overhead": command / base_command - 1 if base_command else None,
            }
        )
    return out


def _find(rows: list[dict[str, Any]], **keys: Any) -> dict[str, Any] | None:
    """The first row with these values."""
    return next((r for r in rows if all(r[k] == v for k, v in keys.items())), None)


def _wall_overhead(row: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """A case on another executor against `base`, the thread pool's with as many workers: process wall medians and
    the extra as a share of the thread pool's."""
    wall, base_wall = row["wall_seconds"]["median"], base["wall_seconds"]["median"]
    return {
        "workload": row["workload"],
        "workers": row["workers"],
        "executor": row["executor"],
        "wall_seconds": wall,
        "threads_wall_seconds": base_wall,
        "wall_overhead": wall / base_wall - 1 if base_wall else None,
    }
