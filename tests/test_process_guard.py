"""A script that runs the processes executor without the `__main__` guard gets an error that says so (spawned
workers re-run the script, fail at start-up, and the pool only knows they died)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.small import make_small_data, small_config

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import json, sys
import walkforward
walkforward.run(json.loads(sys.argv[1]))
"""


def test_processes_executor_without_main_guard_names_the_guard(tmp_path: Path) -> None:
    config = small_config(make_small_data(tmp_path / "data"), tmp_path / "out", executor="processes").to_dict()
    script = tmp_path / "noguard.py"
    script.write_text(SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), json.dumps(config)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=240,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert "FoldFailed" in last and "if __name__ == '__main__':" in last and "executor 'threads'" in last
