"""The `wf` process imports LightGBM without scikit-learn, pandas and Dask (cli/lean.py): the run's outputs are
bitwise those of a process that imported LightGBM as a user would, and the library never does it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import walkforward
from cli.lean import OPTIONAL, wants_lean_lightgbm
from tests.small import make_small_data, small_config
from walkforward.compare import compare_runs

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import json, sys
from cli.lean import import_lightgbm_lean
lean = sys.argv[1] == "lean"
if lean:
    import_lightgbm_lean()
import walkforward
walkforward.run(json.loads(sys.argv[2]))
import lightgbm
print(json.dumps({m: m in sys.modules for m in ("sklearn", "pandas", "dask", "lightgbm")}))
"""


def run_child(mode: str, config: dict) -> dict[str, bool]:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, mode, json.dumps(config)], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_lean_import_leaves_the_outputs_bitwise_unchanged(tmp_path: Path) -> None:
    data = make_small_data(tmp_path / "data")
    base = small_config(data).to_dict()
    lean = run_child("lean", {**base, "output_dir": str(tmp_path / "lean")})
    full = run_child("full", {**base, "output_dir": str(tmp_path / "full")})
    assert lean == {"sklearn": False, "pandas": False, "dask": False, "lightgbm": True}
    assert full["sklearn"] and full["lightgbm"]  # LightGBM as a user imports it brings scikit-learn along
    result = compare_runs(tmp_path / "lean", tmp_path / "full", tolerance=0.0)
    assert result.ok, [t.message for t in result.tables if not t.ok]


def test_lean_import_only_for_runs_that_use_lightgbm_through_its_own_api(tmp_path: Path) -> None:
    cfg = small_config(tmp_path)
    assert wants_lean_lightgbm(cfg)
    assert not wants_lean_lightgbm(cfg.replace(engine="legacy"))
    assert not wants_lean_lightgbm(cfg.replace(executor="dask"))
    assert not wants_lean_lightgbm(cfg.replace(**{"model.kind": "random_forest", "model.params": {}}))


def test_the_library_never_blocks_an_import() -> None:
    source = "\n".join(p.read_text() for p in Path(walkforward.__file__).parent.rglob("*.py"))
    assert "meta_path" not in source and "cli.lean" not in source
    assert set(OPTIONAL) == {"sklearn", "pandas", "dask"}
