"""`wf bench` sweep workloads: a tiny grid on the small workload through the harness (separate `wf run` processes
against one `wf sweep`), its report and bitwise gate; the gate failing on a changed or missing configuration; the
speedup and overhead worked out by hand. No timing is asserted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from bench import sweeps
from bench.gate import runs_check
from bench.speedups import sweep_overhead, sweep_speedups
from bench.sweeps import SweepCase, config_key, sweep_plan
from bench.workloads import SWEEP_WORKLOADS, WORKLOADS, SweepWorkload
from cli.main import app
from tests.test_bench import MACHINE_KEYS, fake_run
from walkforward.errors import WalkforwardError

# 2 x 1 configurations of the small workload (the bundled data, 4 folds), 10 rounds each: a few seconds
TINY = SweepWorkload("sweep-tiny", "small", (("model.params.num_leaves", (4, 8)), ("model.params.n_estimators", (10,))))
SWEEP_CASE_KEYS = {
    "workload", "base_workload", "mode", "executor", "workers", "label", "configurations", "grid", "processes",
    "wall_seconds", "command_seconds", "startup_seconds", "process_wall_seconds", "peak_rss_mb", "cpu_count",
    "affinity", "oversubscribed", "imported", "packages", "n_folds", "repeats", "speedup_vs_separate",
}  # fmt: skip


@pytest.mark.slow
def test_a_tiny_sweep_runs_through_the_bench_and_its_gate_passes_then_fails_on_a_changed_output(tmp_path, monkeypatch):
    monkeypatch.setitem(SWEEP_WORKLOADS, TINY.name, TINY)
    out, keep = tmp_path / "bench.json", tmp_path / "runs"
    args = ["bench", "--workloads", "sweep-tiny", "--workers", "1", "--repeat", "1", "--output", str(out)]
    result = CliRunner().invoke(app, [*args, "--keep-runs", str(keep), "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["command"].startswith("wf bench --workers 1 --workloads sweep-tiny")
    assert set(report["machine"]) == MACHINE_KEYS
    assert report["cases"] == [] and report["executor_overhead"] == [] and report["sweep_executor_overhead"] == []
    separate, swept = report["sweep_cases"]
    assert (separate["label"], swept["label"]) == ("separate x1", "sweep x1")
    for case in (separate, swept):
        assert set(case) == SWEEP_CASE_KEYS
        assert case["configurations"] == 2 and case["n_folds"] == 4 and case["repeats"] == 1
        assert case["grid"] == {"model.params.num_leaves": [4, 8], "model.params.n_estimators": [10]}
        assert case["imported"]["lightgbm"] and not case["imported"]["walkforward.legacy.engine"]
    # the separate case is two processes, its wall their sum; the sweep is one
    assert separate["processes"] == 2 and swept["processes"] == 1
    assert separate["wall_seconds"]["median"] == sum(separate["process_wall_seconds"])
    assert separate["speedup_vs_separate"] == 1.0
    assert swept["speedup_vs_separate"] == separate["wall_seconds"]["median"] / swept["wall_seconds"]["median"]
    gate = report["determinism_gate"]
    check = "sweep x1 vs separate x1 (bitwise, 2 configurations)"
    assert gate == {"ok": True, "checks": [{"workload": "sweep-tiny", "check": check, "ok": True, "problems": []}]}
    assert (tmp_path / "bench-sweeps.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not out.with_suffix(".png").exists()  # no plain workload, no plain chart
    assert "sweep-tiny: 2 configurations of small (4 folds each)" in result.output

    # the sweep's folders, found by its configs.json; one prediction one ulp off fails the gate, naming it
    sweep_dir = keep / "sweep-tiny" / "sweepx1-r0" / "sweep"
    got = {config_key(p): sweep_dir / i for i, p in json.loads((sweep_dir / "configs.json").read_text()).items()}
    expected = {config_key(p): keep / "sweep-tiny" / "separatex1-r0" / f"{i:02d}" for i, p in
                enumerate(TINY.configurations())}  # fmt: skip
    assert runs_check("sweep-tiny", "check", expected, got)["ok"]
    changed = got["model.params.num_leaves=8 model.params.n_estimators=10"] / "predictions.parquet"
    preds = pl.read_parquet(changed)
    values = preds["prediction"].to_numpy().copy()
    values[3] = np.nextafter(values[3], np.inf)
    preds.with_columns(pl.Series("prediction", values)).write_parquet(changed)
    row = runs_check("sweep-tiny", "check", expected, got)
    assert not row["ok"] and row["problems"] == [
        f"model.params.num_leaves=8 model.params.n_estimators=10: predictions: 1 of {preds.height} rows differ in "
        "prediction"
    ]
    del got["model.params.num_leaves=4 model.params.n_estimators=10"]
    assert (
        "model.params.num_leaves=4 model.params.n_estimators=10: missing"
        in runs_check("w", "c", expected, got)["problems"]
    )


def test_a_failed_gate_on_a_later_repeat_fails_the_bench(tmp_path, monkeypatch):
    """Every run writes prediction 0.25 except the sweep's second repeat of one configuration (one ulp off): the
    first repeat's checks pass, that repeat's check fails, naming it, and `wf bench` exits 1."""
    monkeypatch.setitem(SWEEP_WORKLOADS, TINY.name, TINY)
    monkeypatch.setattr(sweeps, "ensure_dataset", lambda workload: None)
    monkeypatch.setattr(sweeps, "warm_up", lambda workload, out: None)

    def run_sweep_case(workload, case, out, scheduler=None):  # noqa: ANN001, ANN202
        runs = {}
        for i, params in enumerate(workload.configurations()):
            tampered = case.mode == "sweep" and out.name.endswith("-r1") and i == 1
            fake_run(out / f"{i:02d}", np.nextafter(0.25, 1.0) if tampered else 0.25)
            runs[config_key(params)] = out / f"{i:02d}"
        sample = {"wall_seconds": 2.0 if case.mode == "separate" else 1.0, "startup_seconds": 0.1,
                  "command_seconds": 0.5, "peak_rss_mb": 100.0, "cpu_count": 2, "affinity": [0, 1], "imported": {},
                  "packages": {}, "n_folds": 4, "processes": 2 if case.mode == "separate" else 1}  # fmt: skip
        return sample, runs

    monkeypatch.setattr(sweeps, "run_sweep_case", run_sweep_case)
    out = tmp_path / "bench.json"
    args = ["bench", "--workloads", "sweep-tiny", "--workers", "1", "--repeat", "2", "--output", str(out)]
    result = CliRunner().invoke(app, [*args, "--keep-runs", str(tmp_path / "runs"), "--no-progress"])
    assert result.exit_code == 1, result.output
    gate = json.loads(out.read_text())["determinism_gate"]
    assert [(g["check"], g["ok"]) for g in gate["checks"]] == [
        ("sweep x1 vs separate x1 (bitwise, 2 configurations)", True),
        ("separate x1 repeat 2 vs repeat 1 (bitwise)", True),
        ("sweep x1 repeat 2 vs repeat 1 (bitwise)", False),
    ]
    assert gate["ok"] is False and gate["checks"][2]["problems"][0].startswith(
        "model.params.num_leaves=8 model.params.n_estimators=10: predictions"
    )
    assert "outputs differ: sweep-tiny: sweep x1 repeat 2 vs repeat 1 (bitwise)" in " ".join(result.output.split())
    # later repeats' folders are checked, then deleted
    assert sorted(p.name for p in (tmp_path / "runs" / "sweep-tiny").iterdir()) == ["separatex1-r0", "sweepx1-r0"]


def test_the_sweep_workloads_are_the_issues_16_configurations_on_large_and_wide():
    assert {name: w.base for name, w in SWEEP_WORKLOADS.items()} == {"sweep-large": "large", "sweep-wide": "wide"}
    configs = SWEEP_WORKLOADS["sweep-wide"].configurations()
    assert len(configs) == 16 and len({config_key(c) for c in configs}) == 16
    # wf sweep's order: the grid's key order, the last key varying fastest
    assert configs[:2] == [
        {"model.params.num_leaves": 7, "model.params.learning_rate": 0.02},
        {"model.params.num_leaves": 7, "model.params.learning_rate": 0.05},
    ]
    assert configs[-1] == {"model.params.num_leaves": 63, "model.params.learning_rate": 0.2}
    assert SWEEP_WORKLOADS["sweep-large"].grid_json() == {
        "model.params.num_leaves": [7, 15, 31, 63],
        "model.params.learning_rate": [0.02, 0.05, 0.1, 0.2],
    }
    assert all(w.base in WORKLOADS for w in SWEEP_WORKLOADS.values())


def test_the_sweep_plan_adds_the_other_executor_and_refuses_unknown_names():
    cases = sweep_plan(["sweep-large", "sweep-wide"], [2], "dask")
    assert [(c.workload, c.label) for c in cases] == [
        ("sweep-large", "separate x2"), ("sweep-large", "sweep x2"), ("sweep-large", "sweep/dask x2"),
        ("sweep-wide", "separate x2"), ("sweep-wide", "sweep x2"), ("sweep-wide", "sweep/dask x2"),
    ]  # fmt: skip
    assert [c.label for c in sweep_plan(["sweep-wide"], [1, 2])] == [
        "separate x1",
        "sweep x1",
        "separate x2",
        "sweep x2",
    ]
    with pytest.raises(
        WalkforwardError, match="unknown sweep workload 'sweep-xl'; choose from sweep-large, sweep-wide"
    ):
        sweep_plan(["sweep-xl"], [2])
    with pytest.raises(WalkforwardError, match="--executor must be one of"):
        sweep_plan(["sweep-wide"], [2], "spark")


def test_sweep_speedup_and_dask_overhead_by_hand():
    def row(mode: str, executor: str, wall: float, command: float) -> dict:
        return {"workload": "sweep-wide", "mode": mode, "executor": executor, "workers": 2,
                "wall_seconds": {"median": wall}, "command_seconds": command}  # fmt: skip

    rows = [row("separate", "threads", 16.0, 12.0), row("sweep", "threads", 4.0, 3.5), row("sweep", "dask", 5.0, 4.0)]
    sweep_speedups(rows)
    # 16 s of separate processes over 4 s of one sweep: 4x; over the Dask sweep's 5 s: 3.2x
    assert [r["speedup_vs_separate"] for r in rows] == [1.0, 4.0, 3.2]
    # the Dask sweep against the thread pool's: 5 / 4 - 1 = 25% (1 s) of wall, 4 / 3.5 - 1 = 1/7 in the command
    assert sweep_overhead(rows) == [
        {
            "workload": "sweep-wide",
            "workers": 2,
            "executor": "dask",
            "wall_seconds": 5.0,
            "threads_wall_seconds": 4.0,
            "wall_overhead": 0.25,
            "extra_seconds": 1.0,
            "command_seconds": 4.0,
            "threads_command_seconds": 3.5,
            "command_overhead": 4.0 / 3.5 - 1,
        }  # fmt: skip
    ]


def test_a_separate_configuration_is_the_sweeps_config_with_its_grid_values(tmp_path):
    """The config each separate `wf run` reads: the workload's keys, the case's workers, the configuration's values."""
    from walkforward.config import load_config

    case = SweepCase("sweep-wide", "separate", 2)
    keys = sweeps.overrides(SWEEP_WORKLOADS["sweep-wide"], case, "tcp://ignored:8786")
    assert "scheduler" not in keys and keys["n_jobs"] == 2 and keys["executor"] == "threads"
    dask = sweeps.overrides(SWEEP_WORKLOADS["sweep-wide"], SweepCase("sweep-wide", "sweep", 2, "dask"), "tcp://h:1")
    assert dask["scheduler"] == "tcp://h:1" and dask["executor"] == "dask"
    config = load_config(None, **keys, **{"model.params.num_leaves": 31}, output_dir=str(tmp_path))
    assert config.to_dict()["model"]["params"]["num_leaves"] == 31
    assert len(config.assets) == 100 and config.n_jobs == 2
    assert Path(config.data_path) == WORKLOADS["wide"].data_dir
