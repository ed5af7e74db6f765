"""How each metric of metrics.json is shown to a person: one table of (key, label, format), shared by every view.

Light on purpose (no Polars, no matplotlib): the CLI's summary table can import it at start-up.
"""

from __future__ import annotations

from typing import Any

# every metric of `walkforward.outputs.METRIC_NAMES`, in that order: (key, label, str.format pattern)
METRIC_FORMATS: tuple[tuple[str, str, str], ...] = (
    ("total_return", "Total return", "{:.2%}"),
    ("cagr", "CAGR", "{:.2%}"),
    ("volatility", "Volatility", "{:.2%}"),
    ("sharpe", "Sharpe", "{:.3f}"),
    ("sortino", "Sortino", "{:.3f}"),
    ("max_drawdown", "Max drawdown", "{:.2%}"),
    ("calmar", "Calmar", "{:.3f}"),
    ("hit_rate", "Hit rate", "{:.2%}"),
    ("n_trades", "Trades", "{:d}"),
    ("turnover", "Turnover (daily)", "{:.2%}"),
    ("turnover_long", "Turnover long leg", "{:.2%}"),
    ("turnover_short", "Turnover short leg", "{:.2%}"),
    ("exposure", "Exposure", "{:.2%}"),
    ("ic", "IC (Spearman, pooled)", "{:.4f}"),
    ("ic_mean", "IC mean (per date)", "{:.4f}"),
    ("ic_std", "IC std (per date)", "{:.4f}"),
    ("ic_ir", "IC IR", "{:.3f}"),
    ("directional_accuracy", "Directional accuracy", "{:.2%}"),
    ("long_short_spread", "Long-short spread (Q5-Q1)", "{:.3%}"),
    ("long_short_tstat", "Long-short t-stat", "{:.2f}"),
    ("quantile_return_1", "Q1 return (lowest)", "{:.3%}"),
    ("quantile_return_2", "Q2 return", "{:.3%}"),
    ("quantile_return_3", "Q3 return", "{:.3%}"),
    ("quantile_return_4", "Q4 return", "{:.3%}"),
    ("quantile_return_5", "Q5 return (highest)", "{:.3%}"),
    ("beta", "Beta", "{:.3f}"),
    ("alpha", "Alpha (annual)", "{:.2%}"),
    ("tracking_error", "Tracking error", "{:.2%}"),
    ("information_ratio", "Information ratio", "{:.3f}"),
    ("periods_per_year", "Periods per year", "{:.1f}"),
    ("n_days", "Days", "{:d}"),
)
MISSING = "—"  # a metric that is null (undefined) in metrics.json


def format_metric(value: Any, pattern: str) -> str:
    """`value` formatted with `pattern`; null is a dash, and a whole float (82.0) passes a `{:d}` pattern."""
    if value is None:
        return MISSING
    if pattern.endswith("d}") and isinstance(value, float) and value.is_integer():
        value = int(value)
    return pattern.format(value)
