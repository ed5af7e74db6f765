"""Hypothesis damages a price CSV (truncated lines, junk bytes, wrong types, deleted cells and rows, shuffled
columns, a BOM, CRLF line ends) and runs `wf data convert` and `wf run` on it. Whatever the damage, neither gives a
traceback: the exit code is 0 or 2, an error is one `error: ...` line, warnings are `warning: ...` lines, and no
temporary file or partial output is left in DATA_DIR/.wf or the output directory. Damage that keeps the data valid
(columns in another order or case, a BOM, CRLF) gives the same outputs as the clean file."""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.main import app
from walkforward.data.generate import generate

SYMBOLS = ["SPY", "AAA"]
runner = CliRunner()


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    """Clean CSVs, a small fast config, and the outputs of a run on them."""
    root = tmp_path_factory.mktemp("clean")
    generate(root / "data", SYMBOLS, dt.date(2018, 1, 1), dt.date(2019, 12, 31), seed=11)
    config = {"model": {"kind": "lightgbm", "params": {"n_estimators": 5}}}
    (root / "config.json").write_text(json.dumps(config))
    result = runner.invoke(app, run_args(root, root / "data", root / "reference"))
    assert result.exit_code == 0, result.output
    return root


def run_args(root: Path, data: Path, out: Path) -> list[str]:
    return [
        "run", "--config", str(root / "config.json"), "--data-dir", str(data), "--assets", ",".join(SYMBOLS),
        "--benchmark", "SPY", "--start-date", "2019-10-01", "--end-date", "2019-12-31", "--fold-length", "60",
        "--step-size", "21", "--n-jobs", "1", "--output-dir", str(out), "--quiet",
    ]  # fmt: skip


# --- damage -----------------------------------------------------------------------------------------------------

WRONG_VALUES = ["abc", "", " ", "NaN", "nan", "inf", "-inf", "1e999", "-1", "0", "1,5", '"', "2019-13-01",
                "01/02/2019", "２０", "0x1F", "None", "1.2.3", "\x00"]  # fmt: skip


@st.composite
def damage(draw, text: str) -> bytes:
    """`text` (a CSV) with 1-4 kinds of damage applied, drawn from the kinds a real file suffers."""
    lines = text.splitlines()
    kinds = draw(
        st.lists(
            st.sampled_from(["truncate", "junk", "wrong", "cell", "rows", "shuffle", "case", "bom", "crlf", "dupe"]),
            min_size=1,
            max_size=4,
        )
    )
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    n = len(lines)
    for kind in kinds:
        if kind == "wrong":  # a cell of the wrong type
            i, j = draw(st.integers(1, max(1, n - 1))), draw(st.integers(0, 5))
            cells = lines[min(i, len(lines) - 1)].split(",")
            if j < len(cells):
                cells[j] = draw(st.sampled_from(WRONG_VALUES) | st.text(max_size=6))
                lines[min(i, len(lines) - 1)] = ",".join(cells)
        elif kind == "cell":  # a cell removed, the row one field short
            i = rnd.randrange(len(lines))
            cells = lines[i].split(",")
            del cells[rnd.randrange(len(cells))]
            lines[i] = ",".join(cells)
        elif kind == "rows":  # random rows deleted (the header too, sometimes)
            k = draw(st.integers(1, 40))
            for _ in range(min(k, len(lines) - 1)):
                del lines[rnd.randrange(len(lines))]
        elif kind == "shuffle":  # columns in another order
            order = draw(st.permutations(range(6)))
            lines = [",".join(c[k] for k in order) if len(c := ln.split(",")) == 6 else ln for ln in lines]
        elif kind == "case":
            lines = [lines[0].upper(), *lines[1:]]
        elif kind == "dupe":
            i = rnd.randrange(1, len(lines)) if len(lines) > 1 else 0
            lines.insert(i, lines[i])
    out = ("\r\n" if "crlf" in kinds else "\n").join(lines) + "\n"
    data = out.encode()
    if "junk" in kinds:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    if "truncate" in kinds:
        data = data[: draw(st.integers(0, len(data)))]
    if "bom" in kinds:
        data = b"\xef\xbb\xbf" + data
    return data


def temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")] if root.exists() else []


def check(result, out: Path | None = None) -> None:
    """Exit code 0 or 2, no traceback; an error is one `error:` line; nothing half written."""
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    if result.exit_code == 2:  # one error line, last; only warnings (the clean file's gaps, say) before it
        assert lines and lines[-1].startswith("error: "), result.stderr
        assert all(line.startswith("warning: ") for line in lines[:-1]), result.stderr
        if out is not None:
            assert not (out / "run.json").exists() and not (out / "checkpoints").exists()
    else:
        assert all(line.startswith("warning: ") for line in lines), result.stderr


@settings(max_examples=30)
@given(symbol=st.sampled_from(SYMBOLS), data=st.data())
def test_damaged_csv_never_gives_a_traceback_or_partial_output(clean, symbol, data):
    text = (clean / "data" / f"{symbol}.csv").read_text()
    damaged = data.draw(damage(text), label="csv")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(clean / "data", root / "data")
        (root / "data" / f"{symbol}.csv").write_bytes(damaged)
        converted = runner.invoke(app, ["data", "convert", "--data-dir", str(root / "data")])
        check(converted)
        out = root / "out"
        ran = runner.invoke(app, run_args(clean, root / "data", out))
        check(ran, out)
        if converted.exit_code == 2:  # the same data: the same verdict
            assert ran.exit_code == 2 and ran.stderr == converted.stderr
        assert not temporaries(root / "data" / ".wf") and not temporaries(out)


@settings(max_examples=10)
@given(
    symbol=st.sampled_from(SYMBOLS),
    order=st.permutations(range(6)),
    upper=st.booleans(),
    bom=st.booleans(),
    crlf=st.booleans(),
)
def test_valid_rearrangements_give_the_same_run(clean, symbol, order, upper, bom, crlf):
    lines = (clean / "data" / f"{symbol}.csv").read_text().splitlines()
    lines = [",".join(ln.split(",")[k] for k in order) for ln in lines]
    if upper:
        lines[0] = lines[0].upper()
    text = ("\r\n" if crlf else "\n").join(lines) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(clean / "data", root / "data")
        (root / "data" / f"{symbol}.csv").write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
        result = runner.invoke(app, run_args(clean, root / "data", root / "out"))
        assert result.exit_code == 0, (result.output, result.exception)
        assert result.stderr == ""
        for name in ("predictions.parquet", "metrics.json"):
            assert (root / "out" / name).read_bytes() == (clean / "reference" / name).read_bytes()
