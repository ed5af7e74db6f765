"""`wf features check`: does any configured feature use data after its date? (the look-ahead check)"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from cli.common import console, handle_errors

if TYPE_CHECKING:
    from walkforward.features.lookahead import Finding

app = typer.Typer(help="Check the configured features.", no_args_is_help=True)
SHOWN = 20  # findings printed; the rest are counted


def findings_table(findings: list[Finding]) -> Table:
    table = Table(show_header=True, header_style="bold")
    for name in ("feature", "symbol", "date", "cut", "full data", "data up to the cut"):
        table.add_column(name)
    for f in findings[:SHOWN]:
        full, cut = ("null" if v is None else repr(v) for v in (f.full, f.truncated))
        table.add_row(*map(Text, (f.feature, f.symbol, str(f.date), str(f.cut), full, cut)))
    return table


@app.command("check")
@handle_errors
def check(
    config: Annotated[Path | None, typer.Option(help="JSON config (default: the shipped one).")] = None,
    data_path: Annotated[
        str | None, typer.Option("--data-path", "--data-dir", help="Price data (default: the config's).")
    ] = None,
    cuts: Annotated[int, typer.Option(help="Cut dates, evenly spaced inside the data.")] = 5,
    tolerance: Annotated[float, typer.Option(help="Absolute tolerance; 0 means exactly equal.")] = 0.0,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Recompute every feature on the data cut at several dates; exit 1 if a value at or before a cut changed."""
    from walkforward.config import load_config
    from walkforward.features.lookahead import check_lookahead

    cfg = load_config(config, data_path=data_path)
    findings = check_lookahead(cfg, cuts, tolerance)
    n_features = len(cfg.feature_names)
    if not findings:
        console.print(f"OK: {n_features} features, {cuts} cuts: no value at or before a cut changed", highlight=False)
        return
    features = sorted({f.feature for f in findings}, key=list(cfg.feature_names).index)
    console.print(findings_table(findings))
    more = f" (first {SHOWN} shown)" if len(findings) > SHOWN else ""
    console.print(
        f"look-ahead: {len(findings)} values at or before a cut changed{more}, in {', '.join(features)}",
        highlight=False,
        markup=False,
    )
    raise typer.Exit(1)
