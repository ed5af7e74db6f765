"""`wf data`: generate synthetic data, convert CSVs to the Parquet store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import console, handle_errors

app = typer.Typer(help="Generate and convert price data.", no_args_is_help=True)


@app.command("generate")
@handle_errors
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder for <SYMBOL>.csv files.")] = Path("data"),
    symbols: Annotated[
        str, typer.Option(help="Comma-separated symbols; '*-USD' trade 7 days a week.")
    ] = "SPY,AAPL,TSLA,GOOG,BTC-USD",
    start: Annotated[str, typer.Option(help="First date, YYYY-MM-DD.")] = "2010-01-01",
    end: Annotated[str, typer.Option(help="Last date, YYYY-MM-DD.")] = "2024-12-31",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = 42,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Write deterministic synthetic daily OHLCV, one CSV per symbol."""
    from walkforward.config import parse_date, parse_symbols
    from walkforward.data.generate import generate as make

    syms = parse_symbols(symbols, "--symbols")
    first, last = parse_date(start, "--start"), parse_date(end, "--end")
    if first > last:
        from walkforward.errors import ConfigError

        raise ConfigError(f"--start {first} is after --end {last}; swap them")
    paths = make(out, list(syms), first, last, seed)
    console.print(f"wrote {len(paths)} files to {out}")


@app.command("convert")
@handle_errors
def convert(
    data_path: Annotated[
        Path,
        typer.Option(
            "--data-path",
            "--data-dir",
            help="Folder of <SYMBOL>.csv files, a long-format .parquet or .csv file, or a folder of Parquet files.",
        ),
    ] = Path("data"),
    symbols: Annotated[
        str | None, typer.Option(help="Comma-separated symbols (default: every symbol in the data).")
    ] = None,
    price_column: Annotated[str, typer.Option(help="close or adj_close.")] = "close",
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Convert the price data into the Parquet store (DATA_DIR/.wf/prices.parquet; FILE's: PARENT/.wf/FILE.store/)."""
    from walkforward.config import parse_choice, parse_symbols
    from walkforward.data.store import convert as to_parquet
    from walkforward.data.store import every_symbol

    parse_choice(price_column, "--price-column", ("close", "adj_close"))
    syms = parse_symbols(symbols, "--symbols") if symbols else every_symbol(data_path, price_column)
    path = to_parquet(data_path, list(syms), price_column)
    console.print(f"wrote {path} ({len(syms)} symbols)")
