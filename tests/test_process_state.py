"""walkforward leaves the process as it found it (issue 12, item 7): a notebook that calls `walkforward.run` finds
every other library as it was. Each check runs in a fresh interpreter on the small universe (tests/small.py).

- LightGBM still works after a run, directly and as a `model.kind: sklearn` estimator (regression: hiding
  scikit-learn and pandas while importing LightGBM made lightgbm record them as missing for good).
- A run (with its report) changes nothing of the process's state (modules marked missing, Python threads,
  environment, BLAS and OpenMP thread counts (threadpoolctl), Polars' thread pool and settings, signal handlers,
  warning filters, logging, hooks, numpy's error and print settings, matplotlib's rcParams, the working directory)
  once its libraries are loaded; a first run changes what importing LightGBM and matplotlib changes, nothing else.
- A Dask run puts back the environment variables its LocalCluster's nannies set in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_script(code: str, *args: str) -> dict:
    """Run `code` in a fresh interpreter in the project root; return the JSON of its last line of output. Its
    environment is this one's less what scikit-learn sets when imported (KMP_*): as a user's new interpreter's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KMP_")}
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, timeout=240, env=env
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


AFTER_A_RUN = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import numpy as np, pandas as pd
    import walkforward
    from tests.small import make_small_data, small_config

    tmp = Path(sys.argv[1])
    data = make_small_data(tmp / "data")
    walkforward.run(small_config(data, tmp / "default", annualization=252))

    import lightgbm
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 3)), rng.normal(size=200)
    direct = lightgbm.LGBMRegressor(n_estimators=5, verbose=-1).fit(X, y).predict(X)
    framed = lightgbm.LGBMRegressor(n_estimators=5, verbose=-1).fit(pd.DataFrame(X, columns=list("abc")), y)

    model = {"kind": "sklearn", "estimator": "lightgbm.LGBMRegressor", "params": {"n_estimators": 5}}
    second = walkforward.run(small_config(data, tmp / "estimator", annualization=252), model=model)
    print(json.dumps({
        "direct": len(direct), "framed": list(framed.feature_name_),
        "second": second.predictions.height, "second_kind": second.run_info["config"]["model"]["kind"],
    }))
    """
)


def test_lightgbm_and_its_sklearn_estimators_still_work_after_a_run(tmp_path):
    out = run_script(AFTER_A_RUN, str(tmp_path))
    assert out["direct"] == 200  # lightgbm.LGBMRegressor fits and predicts after walkforward.run
    assert out["framed"] == ["a", "b", "c"]  # with a pandas DataFrame too: lightgbm still knows pandas
    assert out["second_kind"] == "sklearn" and out["second"] > 0  # model.kind sklearn with lightgbm.LGBMRegressor


STATE = textwrap.dedent(
    """
    import json, logging, os, signal, sys, threading, time, warnings
    from pathlib import Path
    import numpy as np, polars as pl, threadpoolctl  # threadpoolctl sets KMP_DUPLICATE_LIB_OK when imported
    import walkforward
    from tests.small import make_small_data, small_config

    def name(obj):  # a handler or hook by name, not by its address (which differs between processes)
        return getattr(obj, "__module__", "") + "." + getattr(obj, "__qualname__", repr(obj))

    def rc_params():  # read as a dict: reading rcParams["backend"] through the mapping would import pyplot
        rc = sys.modules["matplotlib"].rcParams if "matplotlib" in sys.modules else None
        return None if rc is None else {k: repr(v) for k, v in dict.items(rc) if k != "backend"}

    def state():
        root = logging.getLogger()
        return {
            "missing_modules": sorted(mod for mod, module in sys.modules.items() if module is None),
            "threads": sorted(t.name for t in threading.enumerate()),
            "environ": dict(os.environ),
            "thread_pools": sorted(
                [i["internal_api"], i["filepath"], i["num_threads"]] for i in threadpoolctl.threadpool_info()
            ),
            "polars_threads": pl.thread_pool_size(),
            "polars_config": pl.Config.state(if_set=True),
            "signals": [name(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGTERM)],
            "warning_filters": [repr(f) for f in warnings.filters],
            "showwarning": name(warnings.showwarning),
            "root_logger": [root.level, [repr(h) for h in root.handlers], logging.lastResort is not None],
            "loggers": sorted(logging.root.manager.loggerDict),
            "hooks": [name(sys.excepthook), name(threading.excepthook)],
            "interpreter": [sys.getrecursionlimit(), sys.getswitchinterval()],
            "numpy": [np.geterr(), repr(np.get_printoptions())],
            "cwd": os.getcwd(),
            "matplotlib_rc": rc_params(),
        }

    def wait_for_threads(count):
        # a run's worker threads are joined before it returns; allow a moment for any being torn down
        deadline = time.monotonic() + 10
        while threading.active_count() > count and time.monotonic() < deadline:
            time.sleep(0.01)

    tmp, mode = Path(sys.argv[1]), sys.argv[2]
    data = make_small_data(tmp / "data")
    count = threading.active_count()
    before = state()
    if mode == "import":  # what the first run imports: the model library, and matplotlib for the report
        import lightgbm, matplotlib.backends.backend_agg, matplotlib.dates, matplotlib.figure, matplotlib.ticker
    else:  # n_jobs=2: a thread pool
        walkforward.run(small_config(data, tmp / "first", annualization=252), report=True)
    wait_for_threads(count)
    out = {"before": before, "first": state()}
    if mode == "run":
        second = small_config(data, tmp / "second", annualization=252, **{"model.warm_start": True})
        walkforward.run(second, report=True)
        wait_for_threads(count)
        out["second"] = state()
    print(json.dumps(out, default=repr))
    """
)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    return run_script(STATE, str(tmp_path_factory.mktemp("state-run")), "run")


@pytest.fixture(scope="module")
def imports(tmp_path_factory) -> dict:
    return run_script(STATE, str(tmp_path_factory.mktemp("state-import")), "import")


def changes(before: dict, after: dict) -> dict:
    """What differs between two states, key by key: for a dict the keys whose values differ (before, after), for a
    list what was added and what removed, else (before, after)."""
    out = {}
    for key, old in before.items():
        new = after[key]
        if old == new:
            continue
        if isinstance(old, dict):
            keys = sorted(old.keys() | new.keys())
            out[key] = {k: (old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)}
        elif isinstance(old, list):
            out[key] = {"added": [x for x in new if x not in old], "removed": [x for x in old if x not in new]}
        else:
            out[key] = (old, new)
    return out


def test_a_run_leaves_the_process_as_it_found_it(runs):
    """Once the model library is loaded (by the first run), a run changes nothing."""
    assert changes(runs["first"], runs["second"]) == {}


def test_a_first_run_changes_only_what_importing_its_libraries_changes(runs, imports):
    """A cold run imports LightGBM (and through it scikit-learn and pandas, which set `KMP_INIT_AT_FORK`, add warning
    filters, and load their OpenMP and BLAS libraries) and, for the report, matplotlib: nothing else may change.
    Loggers aside: each module a library imports may create its own (the report draws a legend: one more); the root
    logger's level and handlers are compared."""
    ran, imported = changes(runs["before"], runs["first"]), changes(imports["before"], imports["first"])
    ran.pop("loggers", None), imported.pop("loggers", None)
    assert ran == imported
    assert {"environ", "warning_filters", "thread_pools"} <= set(ran)  # the libraries' own changes: the check sees them
    assert runs["first"]["missing_modules"] == runs["before"]["missing_modules"]
    assert runs["first"]["threads"] == runs["before"]["threads"] == ["MainThread"]
    assert runs["first"]["signals"] == runs["before"]["signals"]
    assert runs["first"]["root_logger"] == runs["before"]["root_logger"]


DASK_RUN = textwrap.dedent(
    """
    import json, logging, os, signal, sys, threading, time, warnings
    from pathlib import Path
    import distributed, lightgbm  # what importing them changes is theirs
    import walkforward
    from tests.small import make_small_data, small_config

    def state():
        return {
            "environ": dict(os.environ),
            "threads": sorted(t.name for t in threading.enumerate()),
            "signals": [repr(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGTERM)],
            "warning_filters": [repr(f) for f in warnings.filters],
            "root_logger": [logging.root.level, [repr(h) for h in logging.root.handlers]],
        }

    tmp = Path(sys.argv[1])
    data = make_small_data(tmp / "data")
    before = state()
    walkforward.run(small_config(data, tmp / "dask", annualization=252, executor="dask"))
    time.sleep(0.5)  # the cluster's threads wind down
    print(json.dumps({"before": before, "after": state()}))
    """
)


def test_a_dask_run_puts_back_the_environment_its_local_cluster_set(tmp_path):
    """distributed's nannies live in this process and set their workers' variables in it before spawning them
    (OMP_NUM_THREADS=1, MKL_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1, MALLOC_TRIM_THRESHOLD_, PYTHONHASHSEED): every
    later OpenMP runtime and subprocess of the notebook would inherit them. Left behind: distributed's own idle
    helper threads (its offload pool and its futures' callback pool), which it keeps for the process's life."""
    out = run_script(DASK_RUN, str(tmp_path))
    assert changes(out["before"], out["after"]).keys() <= {"threads"}
    added = [t for t in out["after"]["threads"] if t not in out["before"]["threads"]]
    assert all(t.startswith(("Dask-Offload", "Dask-Callback-Thread")) for t in added), added


PROCESSES_RUN = textwrap.dedent(
    """
    import json, multiprocessing, sys
    from pathlib import Path
    import walkforward
    from tests.small import make_small_data, small_config

    tmp = Path(sys.argv[1])
    data = make_small_data(tmp / "data")
    before = multiprocessing.get_start_method(allow_none=True)
    walkforward.run(small_config(data, tmp / "processes", executor="processes"))
    after = multiprocessing.get_start_method(allow_none=True)
    multiprocessing.set_start_method("spawn")  # raises 'context has already been set' if the run fixed it
    print(json.dumps({"before": before, "after": after, "chosen": multiprocessing.get_start_method()}))
    """
)


def test_a_processes_run_leaves_the_start_method_for_the_user_to_choose(tmp_path):
    """Starting a spawn worker reads multiprocessing's default start method, which fixes it for the whole process;
    the pool puts it back unset when it closes, so the notebook can still call `set_start_method`."""
    out = run_script(PROCESSES_RUN, str(tmp_path))
    assert out == {"before": None, "after": None, "chosen": "spawn"}
