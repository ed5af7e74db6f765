"""The Parquet store: conversion, content-based freshness, corruption recovery, fingerprints."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from walkforward.data import store
from walkforward.data.generate import generate
from walkforward.data.read import SCHEMA, load_panel
from walkforward.errors import DataError

SYMBOLS = ["SPY", "AAPL", "BTC-USD"]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    generate(tmp_path, SYMBOLS, "2020-01-01", "2020-06-30", seed=11)
    return tmp_path


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Records the symbols of every conversion that ensure_store triggers."""
    calls: list[list[str]] = []
    real = store._convert

    def counting(data_dir, symbols, price_column, fp):
        calls.append(list(symbols))
        return real(data_dir, symbols, price_column, fp)

    monkeypatch.setattr(store, "_convert", counting)
    return calls


def edit_keeping_mtime(path: Path, old: bytes, new: bytes) -> None:
    """Change the file's bytes (same length) and put its times back as they were."""
    stat = path.stat()
    data = path.read_bytes()
    assert old in data and len(old) == len(new)
    path.write_bytes(data.replace(old, new, 1))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_mtime_ns == stat.st_mtime_ns and path.stat().st_size == stat.st_size


def test_convert_writes_parquet_and_manifest(data_dir: Path) -> None:
    path = store.convert(data_dir, SYMBOLS)
    assert path == data_dir / ".wf" / "prices.parquet"
    frame = pl.read_parquet(path)
    assert frame.schema == pl.Schema(SCHEMA)
    assert_frame_equal(frame, load_panel(data_dir, SYMBOLS))
    manifest = json.loads((data_dir / ".wf" / "prices.json").read_text())
    assert manifest["fingerprint"] == store.fingerprint(data_dir, SYMBOLS)
    assert manifest["symbols"] == sorted(SYMBOLS)
    assert manifest["price_column"] == "close"
    assert manifest["rows"] == frame.height
    assert sorted(p.name for p in path.parent.iterdir()) == [".gitignore", ".lock", "prices.json", "prices.parquet"]


def test_conversion_sweeps_temporaries_of_a_killed_conversion(data_dir: Path) -> None:
    root = data_dir / ".wf"
    root.mkdir()
    strays = [root / ".prices.parquet.k1ll3d.tmp", root / ".prices.json.k1ll3d.tmp"]
    for stray in strays:
        stray.write_bytes(b"half a file")
    keep = root / "notes.txt"  # not the store's: left alone
    keep.write_text("mine")
    store.convert(data_dir, SYMBOLS)
    assert not any(stray.exists() for stray in strays)
    assert keep.read_text() == "mine"
    assert_frame_equal(pl.read_parquet(root / "prices.parquet"), load_panel(data_dir, SYMBOLS))


def test_concurrent_conversions_take_turns_and_leave_a_valid_store(data_dir: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        paths = list(pool.map(lambda _: store.convert(data_dir, SYMBOLS), range(4)))
    assert len(set(paths)) == 1
    assert sorted(p.name for p in paths[0].parent.iterdir()) == [".gitignore", ".lock", "prices.json", "prices.parquet"]
    path, _ = store.ensure_store(data_dir, SYMBOLS)  # fresh: its manifest matches the Parquet file
    assert_frame_equal(pl.read_parquet(path), load_panel(data_dir, SYMBOLS))


def test_scan_is_lazy_and_filters(data_dir: Path) -> None:
    path = store.convert(data_dir, SYMBOLS)
    lf = store.scan(path)
    assert isinstance(lf, pl.LazyFrame)
    spy = lf.filter(pl.col("symbol") == "SPY").collect()
    assert_frame_equal(spy, load_panel(data_dir, ["SPY"]))


def test_ensure_store_converts_once_while_csvs_are_unchanged(data_dir: Path, conversions) -> None:
    path, fp = store.ensure_store(data_dir, SYMBOLS)
    assert fp == store.fingerprint(data_dir, SYMBOLS)
    assert store.ensure_store(data_dir, list(reversed(SYMBOLS))) == (path, fp)
    os.utime(data_dir / "SPY.csv")  # a touch changes the mtime, not the content
    assert store.ensure_store(data_dir, SYMBOLS) == (path, fp)
    assert len(conversions) == 1


def test_ensure_store_reconverts_on_content_change_with_same_mtime(data_dir: Path, conversions) -> None:
    path, fp = store.ensure_store(data_dir, SYMBOLS)
    csv = data_dir / "AAPL.csv"
    first_row = csv.read_text().splitlines()[1]
    volume = first_row.rsplit(",", 1)[1].encode()
    changed = str(int(volume) + 1).encode()[: len(volume)]
    edit_keeping_mtime(csv, b"," + volume + b"\n", b"," + changed + b"\n")

    path2, fp2 = store.ensure_store(data_dir, SYMBOLS)
    assert path2 == path and fp2 != fp
    assert len(conversions) == 2
    first = store.scan(path).filter(pl.col("symbol") == "AAPL").head(1).collect()
    assert first["volume"][0] == float(changed)


def test_ensure_store_reconverts_when_symbols_or_price_column_change(data_dir: Path, conversions) -> None:
    store.ensure_store(data_dir, SYMBOLS)
    store.ensure_store(data_dir, SYMBOLS[:2])
    path, _ = store.ensure_store(data_dir, SYMBOLS[:2])
    assert conversions == [sorted(SYMBOLS), sorted(SYMBOLS[:2])]
    assert pl.read_parquet(path)["symbol"].unique().sort().to_list() == ["AAPL", "SPY"]
    with pytest.raises(DataError, match=r"missing column 'adj_close'"):
        store.ensure_store(data_dir, SYMBOLS, price_column="adj_close")


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "delete"])
def test_corrupt_parquet_is_rebuilt(data_dir: Path, conversions, damage: str) -> None:
    path, fp = store.ensure_store(data_dir, SYMBOLS)
    good = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "flip":
        mid = len(good) // 2
        path.write_bytes(good[:mid] + bytes([good[mid] ^ 0xFF]) + good[mid + 1 :])
    elif damage == "garbage":
        path.write_bytes(b"not a parquet file")
    else:
        path.unlink()
    assert store.ensure_store(data_dir, SYMBOLS) == (path, fp)
    assert len(conversions) == 2
    assert_frame_equal(pl.read_parquet(path), load_panel(data_dir, SYMBOLS))


@pytest.mark.parametrize("manifest", ["", "{not json", "[]", '{"fingerprint": "x"}'])
def test_bad_manifest_is_rebuilt(data_dir: Path, conversions, manifest: str) -> None:
    store.ensure_store(data_dir, SYMBOLS)
    (data_dir / ".wf" / "prices.json").write_text(manifest)
    store.ensure_store(data_dir, SYMBOLS)
    assert len(conversions) == 2


def test_corrupt_parquet_without_csvs_is_a_data_error(data_dir: Path) -> None:
    path, _ = store.ensure_store(data_dir, SYMBOLS)
    path.write_bytes(b"corrupt")
    (data_dir / "BTC-USD.csv").unlink()
    with pytest.raises(DataError, match=r"no data for symbol 'BTC-USD'"):
        store.ensure_store(data_dir, SYMBOLS)


def test_fingerprint_is_stable_and_content_based(data_dir: Path) -> None:
    fp = store.fingerprint(data_dir, SYMBOLS)
    assert len(fp) == 64 and int(fp, 16) >= 0
    assert store.fingerprint(data_dir, list(reversed(SYMBOLS))) == fp
    assert store.fingerprint(data_dir, SYMBOLS[:2]) != fp
    os.utime(data_dir / "SPY.csv", ns=(0, 0))
    assert store.fingerprint(data_dir, SYMBOLS) == fp
    # The same bytes under another symbol name are a different dataset.
    (data_dir / "SPY.csv").rename(data_dir / "SPX.csv")
    assert store.fingerprint(data_dir, ["SPX", "AAPL", "BTC-USD"]) != fp


def test_fingerprint_of_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"data directory .* does not exist"):
        store.fingerprint(tmp_path / "missing", SYMBOLS)
