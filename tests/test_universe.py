"""The research-universe generator (`wf data universe`): the long Parquet layout, determinism, staggered listings,
delistings and collapses, methodology §7's row rules, point-in-time membership, sectors, fat tails, bad options."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.main import get_command
from typer.testing import CliRunner

from cli.main import app
from walkforward.data.calendar import trading_days
from walkforward.data.lifecycle import draw_lifecycles
from walkforward.data.universe import CHUNK, UniverseSpec, generate_universe, symbol_names
from walkforward.errors import DataError

ROOT = Path(__file__).resolve().parent.parent
SPEC = UniverseSpec(n_symbols=60, start="2016-01-01", end="2019-12-31", seed=5, sectors=3, zero_share=0.5)
START, END = dt.date(2016, 1, 1), dt.date(2019, 12, 31)
SESSIONS = trading_days("SPX", START, END)
COLUMNS = ["symbol", "date", "open", "high", "low", "close", "volume"]


def read(out: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    return pl.read_parquet(out / "prices.parquet"), pl.read_csv(out / "membership.csv", try_parse_dates=True)


def lives(prices: pl.DataFrame) -> pl.DataFrame:
    """Per symbol: first and last date, rows, last close and highest close."""
    return prices.group_by("symbol", maintain_order=True).agg(
        first=pl.col("date").first(),
        last=pl.col("date").last(),
        rows=pl.len(),
        last_close=pl.col("close").last(),
        max_close=pl.col("close").max(),
    )


def check_rows(prices: pl.DataFrame) -> None:
    """Methodology §7: every price finite and > 0, low <= open, close <= high, volume >= 0, a date once per symbol;
    and the long layout: sorted by symbol, then date."""
    checks = prices.select(
        finite=pl.all_horizontal(pl.col(c).is_finite().all() for c in ("open", "high", "low", "close")),
        positive=(pl.min_horizontal("open", "high", "low", "close") > 0).all(),
        high=(pl.col("high") >= pl.max_horizontal("open", "close")).all(),
        low=(pl.col("low") <= pl.min_horizontal("open", "close")).all(),
        volume=(pl.col("volume") >= 0).all(),
        unique=pl.struct("symbol", "date").is_unique().all(),
        symbols_sorted=pl.col("symbol").is_sorted(),
        dates_sorted=pl.col("date").is_sorted().over("symbol").all(),
    )
    assert checks.row(0, named=True) == dict.fromkeys(checks.columns, True)


def log_returns(prices: pl.DataFrame) -> pl.DataFrame:
    """Wide daily log returns: one column per symbol, one row per date (null where a symbol does not trade)."""
    r = prices.with_columns(r=pl.col("close").log().diff().over("symbol")).drop_nulls("r")
    return r.pivot(on="symbol", index="date", values="r").sort("date")


@pytest.fixture(scope="module")
def universe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("universe")
    generate_universe(out, SPEC)
    return out


def test_writes_the_long_parquet_layout_and_the_membership_file(universe: Path) -> None:
    assert sorted(p.name for p in universe.iterdir()) == ["membership.csv", "prices.parquet"]  # no temp files
    prices, members = read(universe)
    assert prices.columns == COLUMNS
    assert prices.dtypes == [pl.String, pl.Date, pl.Float64, pl.Float64, pl.Float64, pl.Float64, pl.Int64]
    assert members.columns == ["symbol", "start", "end"]
    assert prices["symbol"].unique().sort().to_list() == [*symbol_names(60), "SPX"]
    assert symbol_names(60)[:2] == ["S0001", "S0002"] and symbol_names(12345)[0] == "S00001"


def test_every_row_passes_the_methodology_rules(universe: Path) -> None:
    prices, _ = read(universe)
    check_rows(prices)
    assert prices["date"].is_in(SESSIONS.tolist()).all()  # NYSE sessions only


def test_same_seed_gives_byte_identical_files(universe: Path, tmp_path: Path) -> None:
    generate_universe(tmp_path, SPEC)
    for name in ("prices.parquet", "membership.csv"):
        assert (tmp_path / name).read_bytes() == (universe / name).read_bytes(), name


def test_different_seed_gives_different_files(universe: Path, tmp_path: Path) -> None:
    generate_universe(tmp_path, dataclasses.replace(SPEC, seed=6))
    for name in ("prices.parquet", "membership.csv"):
        assert (tmp_path / name).read_bytes() != (universe / name).read_bytes(), name


def test_adding_a_symbol_changes_no_other(universe: Path, tmp_path: Path) -> None:
    generate_universe(tmp_path, dataclasses.replace(SPEC, n_symbols=61))
    (prices, members), (more, more_members) = read(universe), read(tmp_path)
    assert more.filter(pl.col("symbol") != "S0061").equals(prices)
    assert more_members.filter(pl.col("symbol") != "S0061").equals(members)
    assert more.filter(pl.col("symbol") == "S0061").height > 0


def test_adding_a_symbol_across_a_chunk_boundary_changes_no_other(tmp_path: Path) -> None:
    spec = UniverseSpec(n_symbols=CHUNK, start="2019-01-01", end="2019-03-31", seed=9)
    generate_universe(tmp_path / "a", spec)
    generate_universe(tmp_path / "b", dataclasses.replace(spec, n_symbols=CHUNK + 1))
    (prices, _), (more, _) = read(tmp_path / "a"), read(tmp_path / "b")
    assert more.filter(pl.col("symbol") != symbol_names(CHUNK + 1)[-1]).equals(prices)


@pytest.mark.parametrize("benchmark", ["AAA", "S0002X", "ZZZ"])
def test_rows_stay_sorted_wherever_the_benchmark_sorts(tmp_path: Path, benchmark: str) -> None:
    generate_universe(tmp_path, UniverseSpec(n_symbols=4, start="2019-01-01", end="2019-06-30", benchmark=benchmark))
    prices, _ = read(tmp_path)
    check_rows(prices)
    assert prices["symbol"].unique(maintain_order=True).to_list() == sorted([*symbol_names(4), benchmark])


def test_listings_are_staggered(universe: Path) -> None:
    life = lives(read(universe)[0])
    first = life["first"]
    at_start = (first == SESSIONS[0].item()).sum()
    assert 15 <= at_start <= 45  # listed_share 0.5 of 60 (and SPX)
    late = first.filter(first > SESSIONS[0].item())
    assert late.n_unique() == late.len() > 15  # each late listing on its own day...
    assert late.min() < dt.date(2017, 1, 1) and late.max() > dt.date(2018, 12, 31)  # ...spread over the span


def test_some_symbols_delist_and_some_of_those_go_to_near_zero(universe: Path) -> None:
    life = lives(read(universe)[0])
    delisted = life.filter(pl.col("last") < SESSIONS[-1].item())
    assert 8 <= delisted.height <= 30  # delist_share 0.3 of 60
    to_zero = delisted.filter(pl.col("last_close") < 0.06)
    assert 2 <= to_zero.height < delisted.height  # zero_share 0.5 of the delisted
    assert (to_zero["last_close"] > 0).all()
    assert (to_zero["last_close"] < 0.01 * to_zero["max_close"]).all()  # a collapse, not a cheap stock
    survivors = life.filter(pl.col("last") == SESSIONS[-1].item())
    assert (survivors["last_close"] > 0.06).all()


def test_the_benchmark_trades_every_session_and_is_no_member(universe: Path) -> None:
    prices, members = read(universe)
    assert prices.filter(pl.col("symbol") == "SPX")["date"].to_list() == SESSIONS.tolist()
    assert "SPX" not in members["symbol"].to_list()


def test_membership_windows_lie_within_each_symbols_rows(universe: Path) -> None:
    prices, members = read(universe)
    life = lives(prices)
    assert (members["start"] <= members["end"]).all()
    joined = members.join(life, on="symbol", how="left")
    assert joined["first"].null_count() == 0
    assert ((joined["first"] <= joined["start"]) & (joined["end"] <= joined["last"])).all()
    # window bounds are trading days of the symbol; a symbol's windows are sorted and apart (a gap between them)
    rows = prices.select("symbol", "date")
    for col in ("start", "end"):
        hits = members.join(rows, left_on=["symbol", col], right_on=["symbol", "date"], how="semi")
        assert hits.height == members.height, col
    apart = members.with_columns(prev_end=pl.col("end").shift().over("symbol")).drop_nulls("prev_end")
    assert apart.height > 0  # at least one membership with a gap
    assert (apart["prev_end"] < apart["start"]).all()


def test_membership_starts_at_the_first_session_or_after_seasoning(universe: Path) -> None:
    prices, members = read(universe)
    first_window = members.group_by("symbol", maintain_order=True).agg(pl.col("start").first())
    joined = first_window.join(lives(prices), on="symbol")
    session = {d.item(): i for i, d in enumerate(SESSIONS)}
    for row in joined.iter_rows(named=True):
        expected = 0 if row["first"] == SESSIONS[0].item() else session[row["first"]] + SPEC.seasoning
        assert session[row["start"]] == expected, row
    # a listing that delists within its seasoning never joins
    never = set(symbol_names(60)) - set(members["symbol"].to_list())
    assert all(session[r["last"]] - session[r["first"]] < SPEC.seasoning for r in lives(prices).iter_rows(named=True)
               if r["symbol"] in never)  # fmt: skip


def test_same_sector_symbols_correlate_more_than_cross_sector(tmp_path: Path) -> None:
    spec = UniverseSpec(n_symbols=30, start="2016-01-01", end="2019-12-31", seed=3, sectors=3, listed_share=1.0,
                        delist_share=0.0)  # fmt: skip
    generate_universe(tmp_path, spec)
    wide = log_returns(read(tmp_path)[0])
    names = symbol_names(30)
    corr = np.corrcoef(wide.select(names).to_numpy(), rowvar=False)
    sector = draw_lifecycles(3, names, len(SESSIONS), sectors=3, listed_share=1, delist_share=0, zero_share=0).sector
    same = sector[:, None] == sector[None, :]
    off_diagonal = ~np.eye(len(names), dtype=bool)
    within, across = corr[same & off_diagonal].mean(), corr[~same].mean()
    assert across > 0.1  # the market factor
    assert within > across + 0.05, (within, across)


def test_low_degrees_of_freedom_give_fat_tails(tmp_path: Path) -> None:
    def median_excess_kurtosis(dof: float) -> float:
        out = tmp_path / str(dof)
        spec = UniverseSpec(n_symbols=20, start="2010-01-01", end="2019-12-31", seed=2, dof=dof, listed_share=1.0,
                            delist_share=0.0)  # fmt: skip
        generate_universe(out, spec)
        r = log_returns(read(out)[0]).drop("date").to_numpy()
        r = r - r.mean(axis=0)
        return float(np.median((r**4).mean(axis=0) / (r**2).mean(axis=0) ** 2 - 3))

    fat, normal = median_excess_kurtosis(3.0), median_excess_kurtosis(float("inf"))
    assert fat > 1.0
    assert fat > normal + 1.0, (fat, normal)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"n_symbols": 0}, r"^universe: n_symbols must be an integer >= 1, got 0; pass how many symbols"),
        ({"sectors": 0}, r"^universe: sectors must be an integer >= 1, got 0; pass the number of sector factors"),
        ({"dof": 2.0}, r"^universe: dof must be > 2 .*got 2.0; pass e.g. 4 for fat tails, or inf for normal ones"),
        ({"dof": float("nan")}, r"^universe: dof must be > 2 .*got nan"),
        ({"listed_share": 1.5}, r"^universe: listed_share must be a share from 0 to 1, got 1.5; pass e.g. 0.3"),
        ({"delist_share": -0.1}, r"^universe: delist_share must be a share from 0 to 1, got -0.1"),
        ({"zero_share": 2}, r"^universe: zero_share must be a share from 0 to 1, got 2"),
        ({"seasoning": -1}, r"^universe: seasoning must be an integer >= 0, got -1; pass 0"),
        ({"seed": -1}, r"^universe: seed must be an integer >= 0, got -1"),
        ({"benchmark": "S0003"}, r"^universe: benchmark is one of the universe's symbols, got 'S0003'; name it"),
        ({"benchmark": " "}, r"^universe: benchmark must be a name, got ' '"),
        ({"start": "2020-13-01"}, r"^universe: start must be a date as YYYY-MM-DD, got '2020-13-01'$"),
        ({"start": "2020-02-01", "end": "2020-01-01"}, r"^universe: start 2020-02-01 is after end 2020-01-01; swap"),
        ({"start": "2022-01-01", "end": "2022-01-03"}, r"holds 1 NYSE session\(s\), at least 2 are needed; widen"),
    ],
)
def test_bad_options(tmp_path: Path, change: dict, match: str) -> None:
    with pytest.raises(DataError, match=match):
        generate_universe(tmp_path, dataclasses.replace(SPEC, **change))
    assert list(tmp_path.iterdir()) == []


# --- the command -------------------------------------------------------------------------------------------------

runner = CliRunner()


def test_wf_data_universe_writes_both_files(tmp_path: Path) -> None:
    line = "-n 5 --start 2019-01-01 --end 2019-12-31 --sectors 2 --dof inf --benchmark IDX"
    result = runner.invoke(app, ["data", "universe", "--out", str(tmp_path), *line.split()])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stdout and "(5 symbols and IDX)" in result.stdout
    prices, _ = read(tmp_path)
    check_rows(prices)
    assert prices["symbol"].unique().sort().to_list() == ["IDX", *symbol_names(5)]
    before = (tmp_path / "prices.parquet").read_bytes()
    again = runner.invoke(app, ["data", "universe", "--out", str(tmp_path), *line.replace("IDX", "OTHER").split()])
    assert again.exit_code == 2 and "already holds prices.parquet (and 1 more" in again.stderr
    assert (tmp_path / "prices.parquet").read_bytes() == before
    replaced = runner.invoke(app, ["data", "universe", "--out", str(tmp_path), *line.split(), "--overwrite"])
    assert replaced.exit_code == 0 and (tmp_path / "prices.parquet").read_bytes() == before  # deterministic


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ("-n 0", r"^error: universe: --n-symbols must be an integer >= 1, got 0; pass how many symbols to draw"),
        ("--dof 1.5", r"^error: universe: --dof must be > 2 .*; pass e.g. 4 for fat tails, or inf for normal ones$"),
        ("--zero-share 3", r"^error: universe: --zero-share must be a share from 0 to 1, got 3.0; pass e.g. 0.3$"),
        ("--start 2020-02-01 --end 2020-01-01", r"^error: universe: --start 2020-02-01 is after --end 2020-01-01"),
    ],
)
def test_wf_data_universe_bad_option_is_one_line(tmp_path: Path, args: str, match: str) -> None:
    result = runner.invoke(app, ["data", "universe", "--out", str(tmp_path), *args.split()])
    assert result.exit_code == 2
    assert result.stdout.strip() == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and re.search(match, lines[0]), result.stderr


def test_readme_data_section_names_every_universe_option() -> None:
    readme = (ROOT / "README.md").read_text()
    data = re.search(r"^## Data\n(.*?)(?=^## )", readme, flags=re.M | re.S).group(1)
    command = get_command(app).commands["data"].commands["universe"]
    options = {opt for p in command.params for opt in p.opts if opt.startswith("--")} - {"--debug", "--help"}
    assert "wf data universe" in data
    assert {o for o in options if o not in data} == set()
