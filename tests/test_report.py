"""`wf report` and `walkforward.report`: every chart is a real PNG, report.html embeds them and shows exactly the
metrics.json values in the shared formats, the series behind the charts follow the metric definitions, and a run
whose data has gone still gets a report (the strategy alone)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import shutil
import struct
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.small import SYMBOLS, small_config
from walkforward.outputs import METRIC_NAMES
from walkforward.report import METRIC_FORMATS, format_metric, write_report
from walkforward.report import series as report_series
from walkforward.runner import execute

CHARTS = ("equity.png", "drawdown.png", "folds.png", "ic.png", "importance.png", "quantiles.png")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
RTOL = 1e-9
ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def make_run(data: Path, out: Path, scope: str = "unified") -> Path:
    execute(small_config(data, out, **{"model.scope": scope}))
    return out


@pytest.fixture(scope="module")
def data_dir(small_data) -> Path:
    return small_data


@pytest.fixture(scope="module")
def run_dir(data_dir, tmp_path_factory) -> Path:
    return make_run(data_dir, tmp_path_factory.mktemp("runs") / "unified")


@pytest.fixture(scope="module")
def report(run_dir) -> Path:
    return write_report(run_dir)


@pytest.fixture(scope="module")
def metrics(run_dir) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


class Tables(HTMLParser):
    """The text of every cell of every <table>, as tables -> rows -> cells."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def tables_of(html: str) -> dict[str, list[list[str]]]:
    """Tables keyed by their first header cell: 'Setting' (run info), 'Metric', 'Fold', 'Asset'."""
    parser = Tables()
    parser.feed(html)
    return {table[0][0]: table for table in parser.tables}


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# --- files -----------------------------------------------------------------------------------------


def test_write_report_returns_report_html_in_run_dir_report(report, run_dir):
    assert report == run_dir / "report" / "report.html"
    assert report.is_file()


@pytest.mark.parametrize("name", CHARTS)
def test_every_chart_is_a_readable_png_of_reasonable_size(report, name):
    import matplotlib.image

    path = report.parent / name
    width, height = png_size(path)
    assert 700 <= width <= 2000 and 300 <= height <= 1200, (width, height)
    assert path.stat().st_size > 10_000  # an empty canvas compresses to a few kB
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].std() > 0.05  # something is drawn


@pytest.mark.parametrize("name", CHARTS)
def test_report_html_embeds_every_chart_as_base64(report, name):
    html = report.read_text()
    encoded = base64.b64encode((report.parent / name).read_bytes()).decode()
    assert f"data:image/png;base64,{encoded}" in html


def test_report_html_is_self_contained(report):
    html = report.read_text()
    assert "http://" not in html and "https://" not in html
    assert html.count("<img ") == len(CHARTS)


# --- metrics tables --------------------------------------------------------------------------------


def test_metric_formats_cover_every_metric_in_order():
    assert [key for key, _, _ in METRIC_FORMATS] == list(METRIC_NAMES)
    labels = [label for _, label, _ in METRIC_FORMATS]
    assert len(set(labels)) == len(labels)


def test_format_metric_shows_null_as_a_dash_and_whole_floats_as_integers():
    assert format_metric(None, "{:.2%}") == "—"
    assert format_metric(82.0, "{:d}") == "82"
    assert format_metric(-0.10450958, "{:.2%}") == "-10.45%"


def test_overall_table_shows_every_metrics_json_value_formatted(report, metrics):
    html = report.read_text()
    rows = tables_of(html)["Metric"][1:]
    expected = [[label, format_metric(metrics["overall"][key], pattern)] for key, label, pattern in METRIC_FORMATS]
    assert rows == expected
    for key, _, pattern in METRIC_FORMATS:  # the exact value is the cell's tooltip; a null has none
        value = metrics["overall"][key]
        cell = '<td class="num">' if value is None else f'title="{value!r}">'
        assert f"{cell}{format_metric(value, pattern)}</td>" in html
    assert metrics["overall"]["long_short_spread"] is None  # 3 assets: the quantile returns are null


def test_per_fold_table_has_one_row_per_fold_with_its_dates_and_metrics(report, metrics):
    table = tables_of(report.read_text())["Fold"]
    assert table[0][3:] == [label for _, label, _ in METRIC_FORMATS]
    assert len(table) - 1 == len(metrics["per_fold"]) >= 2
    for row, fold in zip(table[1:], metrics["per_fold"], strict=True):
        assert row[:3] == [
            str(fold["fold"]),
            f"{fold['train_start']} – {fold['train_end']}",
            f"{fold['test_start']} – {fold['test_end']}",
        ]
        assert row[3:] == [format_metric(fold[key], pattern) for key, _, pattern in METRIC_FORMATS]


def test_per_asset_table_has_one_row_per_asset(report, metrics):
    table = tables_of(report.read_text())["Asset"]
    assert [row[0] for row in table[1:]] == list(metrics["per_asset"]) == SYMBOLS
    for row in table[1:]:
        m = metrics["per_asset"][row[0]]
        assert row[1:] == [format_metric(m[key], pattern) for key, _, pattern in METRIC_FORMATS]


def test_run_info_names_engine_folds_and_data_fingerprint(report, run_dir):
    info = json.loads((run_dir / "run.json").read_text())
    settings = dict(tables_of(report.read_text())["Setting"][1:])
    assert settings["Engine"] == info["engine"] == "polars"
    assert settings["Worker threads (n_jobs)"] == str(info["n_jobs"])
    assert settings["Folds"].startswith(f"{len(info['folds'])} (tests ")
    assert settings["Data fingerprint (sha256 of the input data)"] == info["data_fingerprint"]
    assert "prices.parquet" in settings["Benchmark"]


# --- the series behind the charts ------------------------------------------------------------------


def test_drawdown_bottoms_at_the_max_drawdown_metric(run_dir, metrics):
    port = report_series.portfolio(pl.read_parquet(run_dir / "returns.parquet"))
    assert port["drawdown"].min() == pytest.approx(metrics["overall"]["max_drawdown"], rel=RTOL)
    assert port["drawdown"].max() <= 0.0


def test_buy_and_hold_earns_the_benchmark_dated_when_earned_from_the_close_before_the_first_date(data_dir):
    closes = pl.read_parquet(data_dir / ".wf" / "prices.parquet").filter(pl.col("symbol") == "SPY")
    first, last = dt.date(2019, 1, 2), dt.date(2019, 6, 30)  # the strategy's first and last return dates
    bh = report_series.buy_and_hold(closes.select("date", "close"), first, last)
    entry = closes.filter(pl.col("date") < first)["close"][-1]  # 2018-12-31: the return dated 2019-01-02 starts here
    exit_ = closes.filter(pl.col("date") <= last)["close"][-1]  # the last return is earned at the last close
    assert bh["date"].min() >= first and bh["date"].max() <= last
    assert bh["equity"][0] == pytest.approx(closes.filter(pl.col("date") == bh["date"][0])["close"][0] / entry)
    assert bh["equity"][-1] == pytest.approx(exit_ / entry, rel=RTOL)


def test_rolling_ic_over_the_whole_run_is_the_ic_metric(run_dir, metrics):
    predictions = pl.read_parquet(run_dir / "predictions.parquet")
    days = (predictions["date"].max() - predictions["date"].min()).days + 1
    whole = report_series.rolling_ic(predictions, days=days)
    assert whole.height == 1
    assert whole["ic"][0] == pytest.approx(metrics["overall"]["ic"], rel=1e-9)


def test_rolling_ic_starts_once_a_full_window_is_available(run_dir):
    predictions = pl.read_parquet(run_dir / "predictions.parquet")
    rolling = report_series.rolling_ic(predictions)
    first = predictions["date"].min()
    assert rolling.height > 30
    assert rolling["date"].min() == first + dt.timedelta(days=report_series.IC_WINDOW_DAYS - 1)
    assert rolling["ic"].is_between(-1, 1).all()


@pytest.mark.parametrize("scope", ["unified", "per_asset"])
def test_importance_shares_sum_to_one_per_fold(data_dir, tmp_path, scope):
    run = make_run(data_dir, tmp_path / scope, scope=scope)
    features, folds, shares = report_series.importance_shares(pl.read_parquet(run / "feature_importance.parquet"))
    assert folds == [0, 1]
    assert sorted(features) == sorted(pl.read_parquet(run / "feature_importance.parquet")["feature"].unique())
    assert shares.sum(axis=0) == pytest.approx([1.0, 1.0], rel=RTOL)
    assert (shares >= 0).all()
    if scope == "per_asset":
        html = write_report(run).read_text()
        assert "shares averaged over 3 per-asset models" in html


def test_importance_shares_skip_a_model_without_splits():
    fi = pl.DataFrame(
        {
            "fold": [0, 0, 0, 0, 1, 1],
            "symbol": ["A", "A", "B", "B", "A", "A"],
            "feature": ["x", "y", "x", "y", "x", "y"],
            "importance": [3.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        }
    )
    features, folds, shares = report_series.importance_shares(fi)
    assert features == ["x", "y"] and folds == [0, 1]
    assert shares[:, 0].tolist() == [0.75, 0.25]  # B made no split: A's shares alone
    assert all(v != v for v in shares[:, 1])  # no model of fold 1 has shares: NaN (grey cells)


def test_quantile_chart_draws_each_quintile_return_as_a_bar():
    from walkforward.metrics.quantiles import QUANTILE_RETURNS
    from walkforward.report import charts

    overall = dict(zip(QUANTILE_RETURNS, [-0.002, 0.0, 0.001, None, 0.003], strict=True))
    overall |= {"long_short_spread": 0.005, "long_short_tstat": 2.5}
    fig = charts.quantile_chart(overall, QUANTILE_RETURNS)
    ax = fig.axes[0]
    heights = [bar.get_height() for bar in ax.patches]
    assert heights[:3] == [-0.002, 0.0, 0.001] and heights[3] != heights[3] and heights[4] == 0.003  # Q4 null: NaN
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Q1\n(lowest)", "Q2", "Q3", "Q4", "Q5\n(highest)"]
    assert "Q5 - Q1: +0.500% a session, t = 2.50" in ax.get_title()
    assert charts.png(fig).startswith(PNG_SIGNATURE)


def test_quantile_chart_says_so_when_no_date_has_five_assets(report):
    # the small run trades 3 assets: every quantile return is null, the chart says why instead of drawing bars
    from walkforward.metrics.quantiles import QUANTILE_RETURNS
    from walkforward.report import charts

    fig = charts.quantile_chart(dict.fromkeys(QUANTILE_RETURNS), QUANTILE_RETURNS)
    assert [t.get_text() for t in fig.axes[0].texts] == ["no date with 5 assets having a prediction"]
    assert 'id="quantiles"' in report.read_text()


# --- missing data, bad input, CLI ------------------------------------------------------------------


def test_report_without_benchmark_data_draws_the_strategy_alone(run_dir, tmp_path):
    moved = tmp_path / "run"
    shutil.copytree(run_dir, moved, ignore=shutil.ignore_patterns("report"))
    info = json.loads((moved / "run.json").read_text())
    info["config"]["data_path"] = str(tmp_path / "gone")
    (moved / "run.json").write_text(json.dumps(info))
    html = write_report(moved, tmp_path / "out").read_text()
    assert "not found; the equity chart shows the strategy alone" in html
    png_size(tmp_path / "out" / "equity.png")


def test_report_reads_the_benchmark_csv_when_there_is_no_store(run_dir, data_dir, tmp_path):
    data = tmp_path / "csv_only"
    data.mkdir()
    shutil.copy(data_dir / "SPY.csv", data / "SPY.csv")
    moved = tmp_path / "run"
    shutil.copytree(run_dir, moved, ignore=shutil.ignore_patterns("report"))
    info = json.loads((moved / "run.json").read_text())
    info["config"]["data_path"] = str(data)
    (moved / "run.json").write_text(json.dumps(info))
    settings = dict(tables_of(write_report(moved).read_text())["Setting"][1:])
    assert settings["Benchmark"] == f"SPY (prices: {data / 'SPY.csv'})"


def test_cli_report_exits_0_and_prints_the_path(run_dir, tmp_path):
    out = tmp_path / "cli_report"
    result = runner.invoke(app, ["report", str(run_dir), "--output", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stdout.strip() == str(out / "report.html")
    assert result.stderr == ""
    assert all((out / name).is_file() for name in CHARTS)


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda tmp, run: tmp / "missing", r"run dir .*missing' not found; pass the --output-dir of a finished"),
        (lambda tmp, run: tmp, r"has no predictions\.parquet; it is not a finished run"),
    ],
    ids=["missing-run-dir", "not-a-run"],
)
def test_cli_report_bad_run_dir_is_one_line_exit_2(tmp_path, run_dir, make, pattern):
    result = runner.invoke(app, ["report", str(make(tmp_path, run_dir))])
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stdout.strip() == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert re.search(pattern, lines[0]), lines[0]


def test_cli_report_missing_metrics_json_is_one_line_exit_2(run_dir, tmp_path):
    broken = tmp_path / "run"
    shutil.copytree(run_dir, broken, ignore=shutil.ignore_patterns("report"))
    (broken / "metrics.json").unlink()
    result = runner.invoke(app, ["report", str(broken)])
    assert result.exit_code == 2
    expected = f"error: run dir {str(broken)!r} has no metrics.json; it is not a finished run (rerun `wf run`)"
    assert result.stderr.splitlines() == [expected]


def test_cli_and_the_formats_load_no_plotting_library():
    """`cli.main` and `walkforward.report` (where the CLI's metric formats live) import matplotlib only when a report
    is written."""
    code = (
        "import json, sys\nimport cli.main\nfrom walkforward.report import METRIC_FORMATS\n"
        "print(json.dumps([m for m in ('matplotlib', 'walkforward.report.charts') if m in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


def test_wf_run_report_writes_the_report_at_the_end_of_the_run(tmp_path, data_dir):
    args = ["run", "--data-dir", str(data_dir), "--assets", ",".join(SYMBOLS), "--benchmark", "SPY"]
    args += ["--start-date", "2019-01-01", "--end-date", "2019-06-30", "--fold-length", "200", "--step-size", "63"]
    result = runner.invoke(app, [*args, "--output-dir", str(tmp_path / "run"), "--report"])
    assert result.exit_code == 0, result.output
    page = tmp_path / "run" / "report" / "report.html"
    assert page.is_file() and "report: " in result.stdout
    assert all((tmp_path / "run" / "report" / f"{n}.png").is_file() for n in ("equity", "drawdown", "ic"))


def test_rolling_ic_is_at_most_points_windows_each_the_ic_of_its_rows(run_dir):
    """A window per chart point, not per row (a universe of hundreds has millions of rows): evenly spread, the last
    date kept, each the pooled Spearman IC of the rows in its trailing window, worked out here with Polars."""
    predictions = pl.read_parquet(run_dir / "predictions.parquet")
    full = report_series.rolling_ic(predictions, points=10_000)
    thin = report_series.rolling_ic(predictions, points=7)
    assert thin.height == 7 and thin["date"][-1] == full["date"][-1] and thin["date"][0] == full["date"][0]
    days = report_series.IC_WINDOW_DAYS
    for d, ic, n in thin.iter_rows():
        window = predictions.drop_nulls(["prediction", "target"]).filter(
            pl.col("date").is_between(d - dt.timedelta(days=days - 1), d)
        )
        assert n == window.height
        assert ic == pytest.approx(window.select(pl.corr("prediction", "target", method="spearman")).item(), rel=1e-9)
