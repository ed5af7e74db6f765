"""Docs kept honest (as backtesting.py does): every metric, summary label, config key and flag that the code has is
documented, and README's Quick start is what CI runs."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from rich.console import Console
from typer.main import get_command

from cli.main import app
from cli.run import SUMMARY, summary_table
from walkforward.config import Config, Features, Model, Strategy, Target
from walkforward.outputs import METRIC_NAMES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
METHODOLOGY = (ROOT / "docs" / "methodology.md").read_text()
CI = (ROOT / ".ci" / "run").read_text()
PYTEST_COMMAND = "python -m pip install -e '.[test]' && python -m pytest"


def section(text: str, heading: str) -> str:
    """The body of the markdown section titled `heading` (up to the next heading of any level)."""
    match = re.search(rf"^#+ {re.escape(heading)}\n(.*?)(?=^#+ |\Z)", text, flags=re.M | re.S)
    assert match, f"no section {heading!r}"
    return match.group(1)


def table_names(text: str) -> list[str]:
    """The backticked names in the first column of a markdown table (`a`, `b` in one cell gives both)."""
    names = []
    for line in text.splitlines():
        if line.startswith("| `"):
            names += re.findall(r"`([^`]+)`", line.split("|")[1])
    return names


def bash_lines(text: str) -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


# --- metrics ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", METRIC_NAMES)
def test_metric_is_documented_in_readme_and_methodology(name):
    assert f"`{name}`" in section(README, "Metrics")
    assert f"`{name}`" in README
    assert f"`{name}`" in METHODOLOGY


def test_methodology_metrics_table_matches_the_code():
    """docs/methodology.md §5 defines exactly the metrics metrics.json holds, in the same order."""
    assert table_names(section(METHODOLOGY, "5. Metrics")) == list(METRIC_NAMES)


def test_readme_metrics_list_matches_the_code():
    listed = re.findall(r"`(\w+)`", section(README, "Metrics"))
    assert listed == list(METRIC_NAMES)


def test_every_summary_label_maps_to_a_documented_metric():
    keys = [key for key, _, _ in SUMMARY]
    assert keys == list(METRIC_NAMES)  # every metric is printed, in the documented order, once
    labels = [label for _, label, _ in SUMMARY]
    assert len(set(labels)) == len(labels)
    documented = set(table_names(section(METHODOLOGY, "5. Metrics")))
    assert set(keys) <= documented


def test_summary_table_prints_exactly_the_summary_labels():
    console = Console(record=True, width=100)
    metrics = {"overall": dict.fromkeys(METRIC_NAMES, 0) | {"n_trades": 3, "n_days": 10}}
    console.print(summary_table(metrics))
    text = console.export_text()
    rows = [line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")]
    assert rows == [label for _, label, _ in SUMMARY]


def test_summary_table_shows_missing_metrics_as_a_dash():
    console = Console(record=True, width=100)
    console.print(summary_table({"overall": dict.fromkeys(METRIC_NAMES)}))
    values = [line.split("│")[2].strip() for line in console.export_text().splitlines() if line.startswith("│")]
    assert values == ["—"] * len(SUMMARY)


# --- config ----------------------------------------------------------------------------------------


def test_every_config_key_is_in_the_readme_table():
    documented = table_names(section(README, "Config keys"))
    top = {name.split(".")[0] for name in documented}
    keys = [f.name for f in dataclasses.fields(Config)]
    assert [k for k in keys if k not in top] == []


def test_the_readme_config_table_names_only_real_keys():
    documented = table_names(section(README, "Config keys"))
    keys = {f.name for f in dataclasses.fields(Config)}
    sections = {"features": Features, "model": Model, "target": Target, "strategy": Strategy}
    for name in documented:
        head, _, leaf = name.partition(".")
        assert head in keys, name
        if leaf:
            assert head in sections and leaf in {f.name for f in dataclasses.fields(sections[head])}, name


def test_every_run_flag_in_the_readme_exists_and_every_option_is_listed():
    listed = set(re.findall(r"--[a-z][a-z-]*", section(README, "Running")))
    command = get_command(app).commands["run"]
    options = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    assert listed - options == set()
    # --quiet/-q is the one option README does not mention
    assert {o for o in options if o.startswith("--")} - listed - {"--quiet", "--help"} == set()


# --- quick start and CI ----------------------------------------------------------------------------


def test_quick_start_is_exactly_two_commands():
    assert bash_lines(section(README, "Quick start")) == ["python -m pip install -e . && wf run", PYTEST_COMMAND]


def test_ci_runs_the_quick_start_test_command():
    lines = [line.strip() for line in CI.splitlines()]
    assert "python -m pytest" in lines  # the Quick start's test command, as its own line
    install = [
        i for i, line in enumerate(lines) if re.fullmatch(r"python -m pip install( --quiet)? -e '\.\[test\]'", line)
    ]
    assert install, "CI installs the package with the Quick start's [test] extras"
    assert install[0] < lines.index("python -m pytest")


def test_the_quick_start_table_is_what_the_default_run_prints(tmp_path):
    """README's Quick start shows the default run's summary: every value there is the default run's, formatted as
    `wf run` formats it (the bundled data is copied, so the store is built outside the repository)."""
    import json
    import shutil

    from walkforward.config import load_config
    from walkforward.report.formats import format_metric
    from walkforward.runner import execute

    shutil.copytree(ROOT / "data", tmp_path / "data", ignore=shutil.ignore_patterns(".wf"))
    execute(load_config(None, data_path=str(tmp_path / "data"), output_dir=str(tmp_path / "out")))
    overall = json.loads((tmp_path / "out" / "metrics.json").read_text())["overall"]
    shown = dict(re.findall(r"│ ([^│]+?) +│ +([^│]+?) │", section(README, "Quick start")))
    assert len(shown) == len(SUMMARY)
    for key, label, pattern in SUMMARY:
        assert shown[label] == format_metric(overall[key], pattern), label
