"""Stage times are measured, not apportioned (docs/methodology.md §6): fit and predict are the wall time during which
at least one worker fitted, resp. predicted, inside the pool's wall time (`models`); the features are timed from
starting the plan to having the frame, overlapping the import; worker processes report their peak RSS."""

from __future__ import annotations

import os

import numpy as np

from tests.small import make_small_data, small_config
from walkforward.engine import model_timings, worker_peaks
from walkforward.execution.task import TaskResult
from walkforward.runner import execute
from walkforward.timing import Timer, busy_seconds

NOTHING = np.array([], dtype=np.float64)


def task(fit_start: float, fit_end: float, predict_end: float, pid: int = 0, peak: float = 0.0) -> TaskResult:
    rows = np.array([], dtype=np.int64)
    return TaskResult(rows, NOTHING, np.ones(2), 0.0, 0.0, 0.0, fit_start, fit_end, predict_end, pid, peak)


def test_busy_seconds_is_the_length_of_the_union_inside_the_window():
    # [1, 3] and [2, 5] overlap: 1..5 is 4 s; [7, 8] adds 1 s
    assert busy_seconds([(2.0, 5.0), (1.0, 3.0), (7.0, 8.0)], 0.0, 10.0) == 5.0
    # the window [2.5, 7.5] keeps 2.5..5 and 7..7.5
    assert busy_seconds([(1.0, 3.0), (2.0, 5.0), (7.0, 8.0)], 2.5, 7.5) == 3.0
    # wholly outside the window (before or after), empty, nested
    assert busy_seconds([(0.0, 1.0), (11.0, 12.0), (4.0, 4.0)], 2.0, 10.0) == 0.0
    assert busy_seconds([(1.0, 4.0), (2.0, 3.0)], 0.0, 10.0) == 3.0
    assert busy_seconds([], 0.0, 10.0) == 0.0


def test_fit_and_predict_are_measured_over_the_workers_and_may_overlap():
    # two workers in the pool's window 10..20: A fits 10..14 and predicts 14..15, B fits 12..16 and predicts 16..17;
    # C was loaded from a checkpoint of an earlier run (1..3): it counts nothing
    results = {(0, "A"): task(10.0, 14.0, 15.0), (0, "B"): task(12.0, 16.0, 17.0), (1, "A"): task(1.0, 2.0, 3.0)}
    timer = Timer(models=10.5, executor=0.5)
    model_timings(timer, results, (10.0, 20.0))
    assert timer["models"] == 10.0  # the pool's wall time less starting and stopping it
    assert timer["fit"] == 6.0  # 10..16: at least one worker fitting
    assert timer["predict"] == 2.0  # 14..15 and 16..17; 14..15 overlaps B's fit: fit + predict (8) is not models (10)


def test_worker_peaks_keep_each_worker_process_largest_and_leave_this_process_out():
    results = {
        (0, "*"): task(0, 0, 0, pid=101, peak=200.0),
        (1, "*"): task(0, 0, 0, pid=101, peak=250.0),
        (2, "*"): task(0, 0, 0, pid=102, peak=180.0),
        (3, "*"): task(0, 0, 0, pid=os.getpid(), peak=999.0),  # the thread pool: this process, counted by the caller
        (4, "*"): task(0, 0, 0, pid=0, peak=0.0),  # from a checkpoint: unknown
    }
    assert worker_peaks(results) == {101: 250.0, 102: 180.0}


def test_a_threads_run_times_features_from_the_plan_and_models_as_the_pool(tmp_path):
    data = make_small_data(tmp_path / "data")
    result, info = execute(small_config(data, tmp_path / "out", n_jobs=2))
    t = info["timings"]
    assert result.worker_peaks_mb == {}  # threads: every task ran in this process
    assert {"import", "load", "features", "validate", "models", "fit", "predict", "backtest", "metrics"} <= set(t)
    assert 0 < t["fit"] <= t["models"] + 1e-3 and 0 < t["predict"] <= t["models"] + 1e-3
    # what the bench calls work outside the models and start-up is what is left of the run
    assert t["total"] - t["import"] - t.get("executor", 0.0) - t["models"] > 0
    # the stages that do not overlap each other fit in the run
    assert t["load"] + t["import"] + t["validate"] + t["models"] + t["backtest"] + t["metrics"] <= t["total"]
    assert t["features"] > 0


def test_one_worker_fits_and_predicts_one_after_the_other(tmp_path):
    data = make_small_data(tmp_path / "data")
    _, info = execute(small_config(data, tmp_path / "out", n_jobs=1))
    t = info["timings"]
    assert t["fit"] + t["predict"] <= t["models"] + 1e-3  # one thread: they never overlap
