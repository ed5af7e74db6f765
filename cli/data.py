"""`wf data`: generate synthetic data (per-symbol CSVs, or a research universe), convert CSVs to the Parquet store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import console, handle_errors

app = typer.Typer(
    help="Generate price data (per-symbol CSVs, or a research universe) and convert it.", no_args_is_help=True
)


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
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace CSVs of these symbols in --out.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Write deterministic synthetic daily OHLCV, one CSV per symbol."""
    from walkforward.config import parse_date, parse_symbols
    from walkforward.data.generate import generate as make
    from walkforward.data.synth import check_out

    syms = parse_symbols(symbols, "--symbols")
    first, last = parse_date(start, "--start"), parse_date(end, "--end")
    if first > last:
        from walkforward.errors import ConfigError

        raise ConfigError(f"--start {first} is after --end {last}; swap them")
    check_out(out, [f"{s}.csv" for s in syms], overwrite=overwrite)
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


@app.command("universe")
@handle_errors
def universe(
    out: Annotated[Path, typer.Option("--out", help="Folder for prices.parquet and membership.csv.")] = Path(
        "data/universe"
    ),
    n_symbols: Annotated[int, typer.Option("--n-symbols", "-n", help="Symbols S0001.. to draw.")] = 500,
    start: Annotated[str, typer.Option(help="First date, YYYY-MM-DD.")] = "2005-01-01",
    end: Annotated[str, typer.Option(help="Last date, YYYY-MM-DD.")] = "2024-12-31",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives byte-identical files.")] = 42,
    sectors: Annotated[int, typer.Option(help="Sector factors; each symbol loads on the market and one sector.")] = 10,
    dof: Annotated[float, typer.Option(help="Student-t degrees of freedom of the shocks (> 2; inf: normal).")] = 5.0,
    listed_share: Annotated[float, typer.Option(help="Share of symbols trading from the first session.")] = 0.5,
    delist_share: Annotated[float, typer.Option(help="Share of symbols delisted before the end.")] = 0.3,
    zero_share: Annotated[float, typer.Option(help="Share of the delisted that fall to near zero first.")] = 0.3,
    seasoning: Annotated[int, typer.Option(help="Sessions from a later listing to index membership.")] = 63,
    benchmark: Annotated[str, typer.Option(help="Name of the benchmark index (trades every session).")] = "SPX",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace prices.parquet and membership.csv in --out.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Write a synthetic research universe: one long prices.parquet (symbol, date, OHLCV) and membership.csv."""
    from rich.progress import Progress

    from walkforward.data.synth import check_out
    from walkforward.data.universe import UNIVERSE_FILES, UniverseSpec, check, generate_universe

    spec = UniverseSpec(
        n_symbols=n_symbols, start=start, end=end, seed=seed, sectors=sectors, dof=dof, listed_share=listed_share,
        delist_share=delist_share, zero_share=zero_share, seasoning=seasoning, benchmark=benchmark,
    )  # fmt: skip
    check(spec, flag=lambda field: "--" + field.replace("_", "-"))
    check_out(out, list(UNIVERSE_FILES), overwrite=overwrite)
    with Progress(console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("simulating", total=n_symbols)
        paths = generate_universe(out, spec, progress=lambda done, _: bar.update(task, completed=done))
    console.print(f"wrote {paths[0]} ({n_symbols} symbols and {benchmark}) and {paths[1]}")
