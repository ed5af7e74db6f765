"""What each path imports, checked in a fresh interpreter: the Polars engine with LightGBM never loads pandas or
scikit-learn (README: "the Polars path never loads pandas or scikit-learn"), the forest loads scikit-learn only, and
the CLI loads no model library or pandas until a command runs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "sklearn", "lightgbm")

RUN = textwrap.dedent(
    """
    import datetime as dt, json, sys
    from walkforward.config import Config
    from walkforward.data.generate import generate
    from walkforward.runner import execute

    data, out, kind = sys.argv[1:4]
    generate(data, ["SPY", "AAA"], dt.date(2018, 1, 1), dt.date(2019, 6, 30), seed=5)
    params = {"n_estimators": 5} if kind == "lightgbm" else {"n_estimators": 5, "max_depth": 3}
    config = Config.from_dict({
        "data_dir": data, "assets": ["SPY", "AAA"], "benchmark": "SPY", "start_date": "2019-03-01",
        "end_date": "2019-06-30", "fold_length": 150, "step_size": 42, "output_dir": out, "n_jobs": 1,
        "model": {"kind": kind, "params": params},
    })
    result, info = execute(config)
    assert len(result.folds) >= 2 and info["engine"] == "polars"
    print(json.dumps({m: m in sys.modules for m in sys.argv[4:]}))
    """
)


def loaded_after(code: str, *args: str, modules: tuple[str, ...] = HEAVY, cwd: Path = ROOT) -> dict[str, bool]:
    """Run `code` in a fresh interpreter; return which of `modules` it left in sys.modules (its last line of output)."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *args, *modules], capture_output=True, text=True, cwd=cwd, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def forest_loaded(tmp_path_factory) -> dict[str, bool]:
    tmp = tmp_path_factory.mktemp("forest")
    return loaded_after(RUN, str(tmp / "data"), str(tmp / "out"), "random_forest")


def test_polars_engine_with_lightgbm_loads_neither_pandas_nor_sklearn(tmp_path):
    loaded = loaded_after(RUN, str(tmp_path / "data"), str(tmp_path / "out"), "lightgbm")
    assert loaded == {"pandas": False, "sklearn": False, "lightgbm": True}


def test_polars_engine_with_random_forest_loads_sklearn_but_not_pandas(forest_loaded):
    assert forest_loaded == {"pandas": False, "sklearn": True, "lightgbm": False}


def test_polars_engine_with_random_forest_loads_sklearn_and_not_lightgbm(forest_loaded):
    assert forest_loaded["sklearn"] and not forest_loaded["lightgbm"]


def test_importing_the_cli_loads_no_model_library_and_no_pandas():
    code = "import json, sys\nimport cli.main\nprint(json.dumps({m: m in sys.modules for m in sys.argv[1:]}))"
    loaded = loaded_after(code, modules=(*HEAVY, "walkforward.engine", "walkforward.legacy.engine"))
    assert not any(loaded.values()), loaded


def test_the_legacy_engine_imports_nothing_of_the_polars_path():
    """The oracle shares no code with what it checks (STYLE.md): walkforward/legacy/ imports, of walkforward, only
    itself, the config, the errors and the output schema, and never Polars (its own reading of methodology §7 too)."""
    allowed = (
        "walkforward.legacy",
        "walkforward.config",
        "walkforward.errors",
        "walkforward.outputs",
        "walkforward.timing",
    )
    for path in sorted((ROOT / "walkforward" / "legacy").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = (
                    [node.module or ""]
                    if node.module != "walkforward"
                    else [f"walkforward.{a.name}" for a in node.names]
                )
            else:
                continue
            for name in names:
                assert name.split(".")[0] != "polars", (path.name, name)
                if name.split(".")[0] == "walkforward":
                    assert name.startswith(allowed), (path.name, name)
