"""The Python API: README's example runs; the terminal summary, the report and metrics.json agree."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import walkforward
from cli.main import app
from walkforward.errors import WalkforwardError
from walkforward.report.formats import METRIC_FORMATS, format_metric

ROOT = Path(__file__).resolve().parent.parent


def readme_python_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def in_project_copy(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "data", tmp_path / "data", ignore=shutil.ignore_patterns(".wf"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_python_example_runs(in_project_copy):
    namespace: dict = {}
    exec(compile(readme_python_example(), "README.md", "exec"), namespace)  # noqa: S102
    result = namespace["result"]
    assert isinstance(result, walkforward.RunResult)
    assert result.metrics == json.loads(Path("results/api-example/metrics.json").read_text())
    assert len(result.run_info["folds"]) == 4
    assert set(result.predictions.columns) == {"fold", "symbol", "date", "prediction", "target", "position", "weight"}


def test_run_accepts_config_objects_dicts_and_paths(in_project_copy):
    base = {"start_date": "2021-01-01", "end_date": "2021-12-31", "model": {"params": {"n_estimators": 5}}}
    a = walkforward.run(dict(base), output_dir="a")
    b = walkforward.run(a.config, output_dir="b")
    path = Path("cfg.json")
    path.write_text(json.dumps({**base, "output_dir": "c"}))
    c = walkforward.run(path)
    assert a.predictions.equals(b.predictions) and a.predictions.equals(c.predictions)
    with pytest.raises(WalkforwardError, match="holds a finished run; pass --overwrite"):
        walkforward.run(path)


def test_load_a_directory_without_a_run_says_so(tmp_path):
    with pytest.raises(WalkforwardError, match="holds no finished run"):
        walkforward.RunResult.load(tmp_path)


def test_terminal_summary_report_and_metrics_json_show_the_same_numbers(in_project_copy):
    from walkforward.report import write_report

    runner = CliRunner()
    args = ["run", "--start-date", "2021-01-01", "--end-date", "2021-12-31", "--output-dir", "out"]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    overall = json.loads(Path("out/metrics.json").read_text())["overall"]
    html = write_report("out").read_text()
    for key, label, pattern in METRIC_FORMATS:
        shown = format_metric(overall[key], pattern)
        assert re.search(rf"{re.escape(label)}\s*│\s*{re.escape(shown)}\s*│", result.stdout), (label, shown)
        assert shown in html, (key, shown)
