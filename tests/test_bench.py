"""`wf bench` smoke test on the small workload (each case in its own process) and its determinism gate."""

from __future__ import annotations

import json
import shutil

import polars as pl
import pytest
from typer.testing import CliRunner

import walkforward
from bench.harness import Case, determinism_gate
from cli.main import app

CASE_KEYS = {
    "workload", "engine", "executor", "workers", "label", "wall_seconds", "run_seconds", "startup_seconds",
    "stages", "non_model_share", "non_model_seconds", "model_cpu_seconds", "model_floor_seconds",
    "floor_over_wall", "peak_rss_mb", "cpu_count", "affinity", "oversubscribed", "imported", "packages",
    "n_folds", "repeats", "speedup_vs_legacy", "speedup_vs_1_worker", "parallel_efficiency",
}  # fmt: skip
STAGES = {"import", "load", "validate", "features", "fit", "predict", "backtest", "metrics", "write"}


@pytest.mark.slow
def test_bench_small_workload_writes_the_report_and_runs_the_gate(tmp_path):
    out = tmp_path / "bench.json"
    keep = tmp_path / "runs"
    args = ["bench", "--workloads", "small", "--workers", "1,2", "--repeat", "1", "--output", str(out)]
    result = CliRunner().invoke(app, [*args, "--keep-runs", str(keep), "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["command"].startswith("wf bench")
    cases = report["cases"]
    assert [c["label"] for c in cases] == ["legacy", "polars x1", "polars x2"]
    for case in cases:
        assert set(case) == CASE_KEYS
        assert set(case["stages"]) >= STAGES - {"import"}
        assert case["n_folds"] == 4 and case["repeats"] == 1
        assert case["wall_seconds"]["min"] <= case["wall_seconds"]["median"] <= case["wall_seconds"]["max"]
        assert case["peak_rss_mb"] > 0 and case["affinity"]
    polars = [c for c in cases if c["engine"] == "polars"]
    # a Polars run imports LightGBM as a user would (scikit-learn and pandas with it), never the legacy engine
    assert all(c["imported"]["lightgbm"] and not c["imported"]["walkforward.legacy.engine"] for c in polars)
    assert polars[0]["speedup_vs_1_worker"] == pytest.approx(1.0)
    gate = report["determinism_gate"]
    assert gate["ok"] is True
    assert [c["check"] for c in gate["checks"]] == [
        "polars x1 vs legacy",
        "polars x2 vs legacy",
        "polars x2 vs polars x1 (bitwise)",
    ]
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "determinism small: polars x2 vs legacy: ok" in " ".join(result.output.split())

    # the gate fails, naming the case, when a run's outputs differ
    runs = sorted(p for p in (keep / "small").iterdir())
    legacy, fast = keep / "small" / "legacy-r0", keep / "small" / "polarsx1-r0"
    assert legacy in runs and fast in runs
    broken = tmp_path / "broken"
    shutil.copytree(fast, broken)
    preds = pl.read_parquet(broken / "predictions.parquet")
    preds = preds.with_columns(pl.when(pl.int_range(pl.len()) == 5).then(pl.col("prediction") + 1e-6)
                               .otherwise(pl.col("prediction")).alias("prediction"))  # fmt: skip
    preds.write_parquet(broken / "predictions.parquet")
    cases_ = [Case("small", "legacy", 1), Case("small", "polars", 1), Case("small", "polars", 2)]
    gate = determinism_gate(cases_, {cases_[0]: legacy, cases_[1]: fast, cases_[2]: broken})
    assert [g["ok"] for g in gate] == [True, False, False]
    assert "predictions" in gate[1]["problems"][0]


@pytest.mark.slow
def test_python_bench_api_returns_the_report():
    report = walkforward.bench(workloads=("small",), workers=(1,), repeat=1)
    assert report["determinism_gate"]["ok"]
    assert [c["label"] for c in report["cases"]] == ["legacy", "polars x1"]
