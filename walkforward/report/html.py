"""`report.html`: one self-contained page (inline CSS, charts as base64 PNG) with run info and metrics tables.

Every metric cell shows the metrics.json value through `METRIC_FORMATS`; the exact value is its tooltip.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from walkforward.report.formats import METRIC_FORMATS, format_metric

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1180px;
       padding: 0 1rem; color: #222; line-height: 1.4; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0 1rem; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #e5e5e5; text-align: left; vertical-align: top; }
th { background: #f4f6f8; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.neg { color: #a4281b; }
.scroll { overflow-x: auto; }
figure { margin: 1rem 0 2rem; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .85rem; margin-top: .3rem; }
code { font-size: .8rem; word-break: break-all; }
"""
PATTERNS = {key: pattern for key, _, pattern in METRIC_FORMATS}


@dataclass(frozen=True)
class Chart:
    """One PNG of the report: file name, bytes, alt text and caption."""

    name: str
    data: bytes
    alt: str
    caption: str


def metric_cell(key: str, value: Any) -> str:
    pattern = PATTERNS[key]
    text = format_metric(value, pattern)
    negative = isinstance(value, int | float) and value < 0
    cls = "num neg" if negative else "num"
    title = "" if value is None else f' title="{escape(repr(value))}"'
    return f'<td class="{cls}"{title}>{escape(text)}</td>'


def _table(head: Sequence[str], rows: Iterable[str], cls: str = "") -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "\n".join(f"<tr>{r}</tr>" for r in rows)
    table = f"<table><thead><tr>{th}</tr></thead>\n<tbody>\n{body}\n</tbody></table>"
    return f'<div class="{cls}">{table}</div>' if cls else table


def overall_table(overall: dict[str, Any]) -> str:
    rows = (f"<th>{escape(label)}</th>{metric_cell(key, overall.get(key))}" for key, label, _ in METRIC_FORMATS)
    return _table(("Metric", "Value"), rows)


def per_fold_table(per_fold: list[dict[str, Any]]) -> str:
    head = ("Fold", "Train", "Test", *(label for _, label, _ in METRIC_FORMATS))
    rows = []
    for f in per_fold:
        dates = (
            f"<td>{escape(str(f.get('train_start')))} – {escape(str(f.get('train_end')))}</td>"
            f"<td>{escape(str(f.get('test_start')))} – {escape(str(f.get('test_end')))}</td>"
        )
        cells = "".join(metric_cell(key, f.get(key)) for key, _, _ in METRIC_FORMATS)
        rows.append(f"<th>{escape(str(f.get('fold')))}</th>{dates}{cells}")
    return _table(head, rows, "scroll")


def per_asset_table(per_asset: dict[str, dict[str, Any]]) -> str:
    head = ("Asset", *(label for _, label, _ in METRIC_FORMATS))
    rows = (
        f"<th>{escape(sym)}</th>" + "".join(metric_cell(key, m.get(key)) for key, _, _ in METRIC_FORMATS)
        for sym, m in per_asset.items()
    )
    return _table(head, rows, "scroll")


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_compact(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return json.dumps(value) if value is None or isinstance(value, bool) else str(value)


def run_info_rows(info: dict[str, Any], run_dir: str, benchmark_source: str) -> list[tuple[str, str]]:
    """(label, HTML) rows describing the run: engine, folds, config summary, data fingerprint, versions."""
    c = info.get("config", {})
    folds = info.get("folds", [])
    model = c.get("model", {})
    fold_text = f"{len(folds)}"
    if folds:
        fold_text += f" (tests {folds[0].get('test_start')} … {folds[-1].get('test_end')})"
    timings = info.get("timings", {})
    rows = [
        ("Run directory", escape(run_dir)),
        ("Engine", escape(str(info.get("engine")))),
        ("Worker threads (n_jobs)", escape(str(info.get("n_jobs")))),
        ("Folds", escape(fold_text)),
        ("Out-of-sample period", escape(f"{c.get('start_date')} … {c.get('end_date')}")),
        ("Assets", escape(_compact(c.get("assets", [])))),
        ("Benchmark", escape(f"{c.get('benchmark')} (prices: {benchmark_source})")),
        (
            "Folds setup",
            escape(
                f"window={c.get('window')}, fold_length={c.get('fold_length')}, step_size={c.get('step_size')}, "
                f"embargo={c.get('embargo')}, horizon={c.get('horizon')}"
            ),
        ),
        (
            "Model",
            escape(
                f"{model.get('kind')}, scope={model.get('scope')}, warm_start={_compact(model.get('warm_start'))}; "
                f"params: {_compact(model.get('params', {}))}"
            ),
        ),
        ("Strategy", escape(_compact(c.get("strategy", {})))),
        ("Features", escape("; ".join(f"{k}: {_compact(v)}" for k, v in c.get("features", {}).items()))),
        (
            "Other settings",
            escape(
                f"price_column={c.get('price_column')}, annualization={c.get('annualization')}, seed={c.get('seed')}, "
                f"data_path={c.get('data_path', c.get('data_dir'))}"
            ),
        ),
        ("Data fingerprint (sha256 of the input data)", f"<code>{escape(str(info.get('data_fingerprint')))}</code>"),
        ("Packages", escape(_compact(info.get("packages", {})) + f"; python {info.get('python')}")),
    ]
    if "total" in timings:
        rows.append(("Run time", escape(f"{timings['total']:.2f} s")))
    return rows


def figure(chart: Chart) -> str:
    data = base64.b64encode(chart.data).decode("ascii")
    anchor = escape(chart.name.removesuffix(".png"))
    return (
        f'<figure id="{anchor}"><img src="data:image/png;base64,{data}" alt="{escape(chart.alt)}">'
        f"<figcaption>{escape(chart.caption)}</figcaption></figure>"
    )


def page(
    title: str,
    info_rows: list[tuple[str, str]],
    charts: Sequence[Chart],
    metrics: dict[str, Any],
) -> str:
    info = _table(("Setting", "Value"), (f"<th>{label}</th><td>{value}</td>" for label, value in info_rows))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        '<p class="sub">Walk-forward backtest report written by <code>wf report</code>. '
        "Definitions: docs/methodology.md §4–§5.</p>",
        "<h2>Run</h2>",
        info,
        "<h2>Overall metrics</h2>",
        overall_table(metrics.get("overall", {})),
        "<h2>Charts</h2>",
        *(figure(chart) for chart in charts),
        "<h2>Metrics per fold</h2>",
        per_fold_table(metrics.get("per_fold", [])),
        "<h2>Metrics per asset</h2>",
        per_asset_table(metrics.get("per_asset", {})),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"
