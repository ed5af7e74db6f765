"""`wf bench` smoke test on the small workload (each case in its own process) and its determinism gate; the peer
baseline's predictions against wf's; the xl workloads' definitions, checked without running them."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

import walkforward
from bench import workloads
from bench.harness import Case, determinism_gate, plan
from bench.workloads import WORKLOADS, Workload, ensure_dataset
from cli.main import app
from walkforward.config import Config, available_cores
from walkforward.data.calendar import calendar_days, session_mask
from walkforward.data.universe import UniverseSpec, symbol_names
from walkforward.folds import WalkForwardSplit

CASE_KEYS = {
    "workload", "engine", "executor", "workers", "label", "wall_seconds", "run_seconds", "startup_seconds",
    "stages", "non_model_share", "non_model_seconds", "model_cpu_seconds", "model_floor_seconds",
    "floor_over_wall", "peak_rss_mb", "cpu_count", "affinity", "oversubscribed", "imported", "packages",
    "n_folds", "repeats", "speedup_vs_legacy", "speedup_vs_peer", "speedup_vs_1_worker", "parallel_efficiency",
    "cold_wall_seconds", "model_share",
}  # fmt: skip
STAGES = {"import", "load", "validate", "features", "models", "fit", "predict", "backtest", "metrics", "write"}
MACHINE_KEYS = {"cpu_model", "cpu_count", "cores_available", "memory_gib", "os", "platform", "python", "packages"}


@pytest.mark.slow
def test_bench_small_workload_writes_the_report_and_runs_the_gate(tmp_path):
    out = tmp_path / "bench.json"
    keep = tmp_path / "runs"
    args = ["bench", "--workloads", "small", "--workers", "1,2", "--repeat", "1", "--output", str(out)]
    result = CliRunner().invoke(app, [*args, "--keep-runs", str(keep), "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["command"].startswith("wf bench")
    assert set(report["machine"]) == MACHINE_KEYS and report["machine"]["packages"]["polars"]
    cases = report["cases"]
    peer = f"peer x{available_cores()}"
    assert [c["label"] for c in cases] == ["legacy", peer, "polars x1", "polars x2"]
    for case in cases:
        assert set(case) == CASE_KEYS
        assert set(case["stages"]) >= STAGES - {"import"}
        assert case["n_folds"] == 4 and case["repeats"] == 1
        assert case["wall_seconds"]["min"] <= case["wall_seconds"]["median"] <= case["wall_seconds"]["max"]
        assert case["peak_rss_mb"] > 0 and case["affinity"]
    # the first Polars case ran once more on a store rebuilt cold
    assert cases[2]["cold_wall_seconds"] > 0 and [c["cold_wall_seconds"] for c in cases[:2] + cases[3:]] == [None] * 3
    polars = [c for c in cases if c["engine"] == "polars"]
    # a Polars run imports LightGBM as a user would (scikit-learn and pandas with it), never the legacy engine
    assert all(c["imported"]["lightgbm"] and not c["imported"]["walkforward.legacy.engine"] for c in polars)
    assert polars[0]["speedup_vs_1_worker"] == pytest.approx(1.0)
    assert cases[1]["speedup_vs_peer"] == pytest.approx(1.0) and not cases[1]["imported"]["polars"]
    gate = report["determinism_gate"]
    assert gate["ok"] is True
    assert [c["check"] for c in gate["checks"]] == [
        "polars x1 vs legacy",
        "polars x2 vs legacy",
        "polars x2 vs polars x1 (bitwise)",
        "peer predictions vs polars x1 (bitwise)",
        "polars x1 cold store vs warm (bitwise)",
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


def fake_run(path: Path, prediction: float) -> None:
    """A run folder holding the tables the gate compares: one prediction."""
    path.mkdir(parents=True)
    preds = pl.DataFrame({"fold": [0], "symbol": ["A"], "date": [dt.date(2024, 1, 2)], "prediction": [prediction],
                          "target": [0.5]})  # fmt: skip
    preds.write_parquet(path / "predictions.parquet")
    for table in ("trades", "returns", "feature_importance"):
        pl.DataFrame({"x": [1.0]}).write_parquet(path / f"{table}.parquet")
    (path / "metrics.json").write_text("{}")


def test_the_gate_checks_every_repeat_and_the_cold_store_run(tmp_path, monkeypatch):
    from bench import harness

    calls: list[tuple[str, str]] = []
    timings = {"total": 1.0, "import": 0.25, "models": 0.5, "fit": 0.375, "predict": 0.125}

    def run_case(case, out, extra=None):  # noqa: ANN001, ANN202 - every run writes prediction 0.25, but two
        calls.append((case.label, out.name))
        tampered = out.name in ("polarsx2-r1", f"peerx{available_cores()}-r2")
        fake_run(out, np.nextafter(0.25, 1.0) if tampered else 0.25)
        return {"wall_seconds": 2.0 if out.name.endswith("cold") else 1.5, "timings": timings, "startup_seconds": 0.1,
                "model_cpu_seconds": 0.5, "peak_rss_mb": 100.0, "cpu_count": 2, "affinity": [0, 1], "imported": {},
                "packages": {}, "n_folds": 1}  # fmt: skip

    monkeypatch.setattr(harness, "run_case", run_case)
    monkeypatch.setattr(harness, "ensure_dataset", lambda workload, legacy: None)
    monkeypatch.setattr(harness, "store_root", lambda data_path: tmp_path / "store")  # the store deleted: not ours
    (tmp_path / "store").mkdir()
    result = harness.run_bench(["small"], [1, 2], 3, legacy=False, keep_dir=tmp_path / "runs")
    assert not (tmp_path / "store").exists()  # deleted before the cold run
    assert calls[-1] == ("polars x1", "polarsx1-cold")
    peer = f"peer x{available_cores()}"
    assert [(g["check"], g["ok"]) for g in result.gate] == [
        ("polars x2 vs polars x1 (bitwise)", True),
        ("peer predictions vs polars x1 (bitwise)", True),
        ("peer predictions, repeat 2, vs polars x1 (bitwise)", True),
        ("polars x1 repeat 2 vs repeat 1 (bitwise)", True),
        ("polars x2 repeat 2 vs repeat 1 (bitwise)", False),  # one ulp off
        ("peer predictions, repeat 3, vs polars x1 (bitwise)", False),  # one ulp off
        ("polars x1 repeat 3 vs repeat 1 (bitwise)", True),
        ("polars x2 repeat 3 vs repeat 1 (bitwise)", True),
        ("polars x1 cold store vs warm (bitwise)", True),
    ]
    assert not result.ok and peer == result.cases[0]["label"]
    assert "prediction" in result.gate[4]["problems"][0]
    # every later repeat's folder was checked, then deleted; the first repeats and the cold run are kept
    assert sorted(p.name for p in (tmp_path / "runs" / "small").iterdir()) == sorted(
        [f"peerx{available_cores()}-r0", "polarsx1-r0", "polarsx2-r0", "polarsx1-cold"]
    )
    assert [c["cold_wall_seconds"] for c in result.cases] == [None, 2.0, None]
    # the share outside the models: total - import - models = 0.25 of the 0.75 that is not start-up
    assert result.cases[1]["non_model_seconds"] == 0.25 and result.cases[1]["non_model_share"] == 1 / 3
    assert result.cases[1]["model_share"] == 0.5  # models 0.5 of the run's 1.0


def test_the_report_describes_the_machine_and_defaults_to_bench_results(tmp_path):
    from bench.harness import RESULTS, BenchResult, default_output, write_report

    path = default_output(["large", "wide"])
    assert path.parent == RESULTS and RESULTS.parent.name == "bench"
    assert path.name.endswith("-large-wide.json") and len(path.name) == len("2026-12-01-large-wide.json")
    write_report(BenchResult(), tmp_path / "r.json", "wf bench")
    machine = json.loads((tmp_path / "r.json").read_text())["machine"]
    assert set(machine) == MACHINE_KEYS
    assert machine["cpu_count"] >= machine["cores_available"] >= 1 and machine["memory_gib"] > 0
    assert machine["cpu_model"] and machine["python"].count(".") == 2 and machine["packages"]["numpy"]


@pytest.mark.slow
def test_python_bench_api_returns_the_report():
    """The CLI test above runs the legacy engine and the peer; here they are left out, as --no-legacy --no-peer do."""
    report = walkforward.bench(workloads=("small",), workers=(1,), repeat=1, legacy=False, peer=False)
    assert report["determinism_gate"]["ok"]
    assert [c["label"] for c in report["cases"]] == ["polars x1"]


# --- the peer baseline ------------------------------------------------------------------------------------------------


def test_peer_predictions_are_bitwise_wf_predictions_and_the_gate_fails_on_a_one_ulp_change(tmp_path):
    from bench.peer.run import peer_config
    from bench.peer.run import run as run_peer
    from walkforward.config import load_config
    from walkforward.runner import execute

    data = Path(walkforward.__file__).resolve().parent.parent / "data"  # the bundled data: the small workload's
    small = {"data_path": str(data), "start_date": "2020-01-01", "end_date": "2021-12-31", "n_jobs": 2}
    wf_dir, peer_dir = tmp_path / "wf", tmp_path / "peer"
    execute(load_config(None, **small, output_dir=str(wf_dir)))
    timings: dict[str, float] = {}
    info = run_peer(peer_config({**small, "output_dir": str(peer_dir)}), timings)
    assert info["n_folds"] == 4 and len(info["worker_peaks_mb"]) == 2  # two workers, each reporting its peak
    assert {"load", "features", "fit", "predict", "write"} <= set(timings)
    cases = [Case("small", "peer", 2), Case("small", "polars", 1)]
    gate = determinism_gate(cases, {cases[0]: peer_dir, cases[1]: wf_dir})
    assert [(g["check"], g["ok"]) for g in gate] == [("peer predictions vs polars x1 (bitwise)", True)]
    preds = pl.read_parquet(peer_dir / "predictions.parquet")
    assert preds.columns == ["fold", "symbol", "date", "prediction", "target"] and preds.height > 2000

    # one prediction one ulp off fails the gate, naming the table
    values = preds["prediction"].to_numpy().copy()
    values[7] = np.nextafter(values[7], np.inf)
    preds.with_columns(pl.Series("prediction", values)).write_parquet(peer_dir / "predictions.parquet")
    gate = determinism_gate(cases, {cases[0]: peer_dir, cases[1]: wf_dir})
    assert not gate[0]["ok"] and gate[0]["problems"] == [f"predictions: 1 of {preds.height} rows differ in prediction"]


def test_peer_panel_windows_stay_inside_each_asset_and_folds_by_hand():
    from bench.peer.folds import fold_dates
    from bench.peer.panel import Panel
    from bench.peer.run import fold_rows

    # two assets, rows sorted by (symbol, date): A = 1, 2, 3, 5, 9 and B = 10, 10, 10
    p = Panel(np.array(["A"] * 5 + ["B"] * 3, dtype=object))
    x = np.array([1.0, 2.0, 3.0, 5.0, 9.0, 10.0, 10.0, 10.0])
    nan = np.nan
    np.testing.assert_array_equal(p.lag(x, 1), [nan, 1, 2, 3, 5, nan, 10, 10])
    np.testing.assert_array_equal(p.lag(x, -2), [3, 5, 9, nan, nan, 10, nan, nan])
    np.testing.assert_array_equal(p.rolling(x, 2).mean(), [nan, 1.5, 2.5, 4, 7, nan, 10, 10])
    np.testing.assert_array_equal(p.flat(x, 2), [False, False, False, False, False, False, True, True])
    # sma_ratio over 2 rows: mean / close - 1, exactly 0 over B's flat windows
    np.testing.assert_array_equal(p.sma_ratio(x, 2), [nan, 1.5 / 2 - 1, 2.5 / 3 - 1, 4 / 5 - 1, 7 / 9 - 1, nan, 0, 0])
    # Wilder's mean, n = 2, of the first differences: row 2 is the mean of rows 1..2, then avg = (avg + d) / 2;
    # B starts afresh (its differences 0, 0: row 2 is B's third row)
    diff = x - p.lag(x, 1)  # A: nan, 1, 1, 2, 4; B: nan, 0, 0
    np.testing.assert_array_equal(p.wilder_mean(diff, 2), [nan, nan, 1.0, 1.5, 2.75, nan, nan, 0.0])

    # 8 weekdays; out of sample from the 5th: 4 sessions, steps of 2 -> 2 folds, each training on the 2 before it
    calendar = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-01-11"))
    calendar = calendar[np.is_busday(calendar)]  # Jan 1-5, 8-10
    config = {"start_date": "2024-01-05", "end_date": "2024-01-10", "step_size": 2, "fold_length": 2}
    folds = fold_dates(calendar, {**config, "embargo": 0, "window": "rolling"})
    assert [(str(f.train_lo), str(f.train_hi), str(f.test_lo), str(f.test_hi)) for f in folds] == [
        ("2024-01-03", "2024-01-05", "2024-01-05", "2024-01-09"),
        ("2024-01-05", "2024-01-09", "2024-01-09", "2024-01-11"),
    ]
    # fold 0's training rows Jan 3 and 4; with horizon 1 the label of Jan 4 ends on Jan 5, in the test window: purged
    dates = calendar.astype("datetime64[ns]")
    label_end = np.append(dates[1:], np.datetime64("NaT", "ns"))
    train, test = fold_rows(dates, label_end, np.ones(len(dates), dtype=bool), folds[0])
    assert train.tolist() == [2] and test.tolist() == [4, 5]  # Jan 3; Jan 5 and Jan 8
    # an expanding window trains from the first row; an embargo of 1 session ends fold 1's training on Jan 4
    expanding = fold_dates(calendar, {**config, "embargo": 1, "window": "expanding"})
    assert np.isnat(expanding[1].train_lo) and str(expanding[1].train_hi) == "2024-01-08"
    train, test = fold_rows(dates, label_end, np.ones(len(dates), dtype=bool), expanding[1])
    assert train.tolist() == [0, 1, 2, 3, 4] and test.tolist() == [6, 7]  # Jan 1-5 (Jan 5's ends Jan 8); Jan 9, 10


# --- the xl workloads, defined and planned without running them ------------------------------------------------------


@pytest.mark.parametrize(("name", "n_assets"), [("xl", 500), ("xl1000", 1000)])
def test_xl_workloads_list_their_universe_and_have_40_folds_of_history(name, n_assets):
    workload = WORKLOADS[name]
    assert workload.symbols == tuple(symbol_names(n_assets)) and workload.benchmark == "SPX"
    assert workload.universe == UniverseSpec(n_symbols=n_assets, start="2004-01-01", end="2024-12-31", seed=42)
    polars, legacy = workload.overrides("polars"), workload.overrides("legacy")
    assert polars["data_path"] == str(workload.data_dir / "prices.parquet")
    assert legacy["data_path"] == str(workload.data_dir / "csv")
    assert polars["assets"] == list(workload.symbols) and polars["benchmark"] == "SPX"
    config = Config.from_dict({**polars, "output_dir": "unused"})  # a valid config: the universe's symbols listed
    assert config.fold_length == 252 and config.step_size == 126 and config.model.kind == "lightgbm"
    # the universe's calendar (every NYSE session) has the first fold's 252 training sessions before 2005
    calendar = calendar_days(dt.date(2004, 1, 1), dt.date(2024, 12, 31))
    calendar = calendar[session_mask(calendar)]
    folds = WalkForwardSplit(252, step_size=126).folds(calendar, config.start_date, config.end_date)
    assert len(folds) == workload.expected_folds == 40
    assert str(folds[0].train_start).startswith("2004-01") and str(folds[-1].test_end) == "2024-12-31"


def test_bench_plans_without_the_legacy_engine_and_gates_worker_counts_only(tmp_path):
    cases = plan(["xl", "xl1000"], [1, 2], legacy=False)
    assert [(c.workload, c.label) for c in cases] == [
        ("xl", "polars x1"), ("xl", "polars x2"), ("xl1000", "polars x1"), ("xl1000", "polars x2"),
    ]  # fmt: skip
    assert [c.label for c in plan(["xl"], [2])] == ["legacy", "polars x2"]
    runs = {c: tmp_path / c.label for c in cases[:2]}
    for path in runs.values():  # two identical runs
        path.mkdir()
        for table in ("predictions", "trades", "returns", "feature_importance"):
            pl.DataFrame({"x": [1.0]}).write_parquet(path / f"{table}.parquet")
        (path / "metrics.json").write_text("{}")
    gate = determinism_gate(cases[:2], runs)
    assert [g["check"] for g in gate] == ["polars x2 vs polars x1 (bitwise)"] and gate[0]["ok"]


def test_a_universe_workload_is_generated_once_with_csvs_for_the_legacy_engine(tmp_path, monkeypatch):
    monkeypatch.setattr(workloads, "CACHE", tmp_path)
    spec = UniverseSpec(n_symbols=3, start="2023-01-01", end="2023-03-31", seed=1)
    tiny = Workload("tiny", "2023-03-01", "2023-03-31", tuple(symbol_names(3)), 1, "SPX", spec)
    path = ensure_dataset(tiny)
    assert path == tmp_path / "universe-3" / "prices.parquet" and path.exists()
    assert not (tmp_path / "universe-3" / "csv").exists()  # written only for a legacy case
    stamp = path.stat().st_mtime_ns
    assert ensure_dataset(tiny, legacy=True) == path and path.stat().st_mtime_ns == stamp  # not generated again
    csvs = tiny.data_path("legacy")
    assert sorted(p.name for p in csvs.glob("*.csv")) == ["S0001.csv", "S0002.csv", "S0003.csv", "SPX.csv"]
    long = pl.read_parquet(path)
    spx = pl.read_csv(csvs / "SPX.csv", try_parse_dates=True)
    assert spx.columns == ["date", "open", "high", "low", "close", "volume"]
    assert spx.equals(long.filter(pl.col("symbol") == "SPX").drop("symbol"))  # the same values, read back exactly


def test_the_lock_stress_script_passes_on_equal_results_and_fails_on_a_difference(monkeypatch, capsys):
    from bench import lock_stress

    assert lock_stress.main(["--threads", "2", "--tasks", "3"]) == 0
    calls = iter(range(100))
    monkeypatch.setattr(lock_stress, "task", lambda i: f"{i}-{next(calls) >= 3 and i == 1}")  # task 1 differs later
    assert lock_stress.main(["--threads", "2", "--tasks", "3"]) == 1
    assert "1 differ (tasks 1)" in capsys.readouterr().out
