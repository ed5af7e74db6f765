"""The row checks of methodology §7 as Polars expressions, shared by every input layout.

A frame to check holds, for each input column `c`, the cell as read (`c_raw`: trimmed text, null when blank) and its
typed value (`c`; `date` is a Date), and `intraday`: the date carries a time of day. The same expressions run eagerly
on one per-symbol CSV (`read.py`) and as lazy aggregations over a long-format file or a Parquet folder (`long.py`).
"""

from __future__ import annotations

import polars as pl

from walkforward.errors import DataError

RTOL = 1e-9  # relative rounding tolerated in the high/low checks
MISSING = ("", "null", "NULL", "None", "NA", "N/A", "NaN", "nan", "-")
# A day as written, with an optional time of day and UTC offset ("2020-01-02 00:00:00-05:00", as yfinance writes):
# group 1 is the date as written (the local date), group 2 the time of day.
DAY_TEXT = r"^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$"
INTRADAY = (
    "date {date_raw!r} has a time of day; intraday bars are not supported: give one row per day, "
    "dated YYYY-MM-DD or at midnight"
)


def raw_text(column: str, source: str | None = None) -> pl.Expr:
    """`column_raw`: the trimmed text of `source` (default `column`); a cell in `MISSING` is null.

    A symbol cell is missing only when blank: "NA" and "-" may be tickers.
    """
    text = pl.col(source or column).cast(pl.String).str.strip_chars()
    missing = ("",) if column == "symbol" else MISSING
    return pl.when(text.is_in(missing)).then(None).otherwise(text).alias(f"{column}_raw")


def typed_from_text(column: str) -> list[pl.Expr]:
    """The typed value(s) of a text column from its `column_raw`: a Date (+ `intraday`), a Float64, or the symbol."""
    raw = pl.col(f"{column}_raw")
    if column == "date":
        day = pl.coalesce(raw.str.extract(DAY_TEXT, 1), raw)
        clock = raw.str.extract(DAY_TEXT, 2)
        return [
            day.str.to_date("%Y-%m-%d", strict=False).alias("date"),
            clock.str.contains("[1-9]").fill_null(False).alias("intraday"),
        ]
    if column == "symbol":
        return [raw.alias("symbol")]
    return [raw.cast(pl.Float64, strict=False).alias(column)]


def intraday_datetime(value: pl.Expr) -> pl.Expr:
    """A Datetime that is not at midnight (in its own time zone, so a local midnight with an offset is fine)."""
    parts = (value.dt.hour(), value.dt.minute(), value.dt.second(), value.dt.nanosecond())
    return pl.any_horizontal(p != 0 for p in parts).fill_null(False)


def row_checks(cols: tuple[str, ...]) -> list[tuple[pl.Expr, str]]:
    """(mask of failing rows, message template) per check, in the order they are reported.

    A template formats with the failing row's columns (`{close}`, `{date_raw!r}`); every message names the fix.
    """
    nums = [c for c in cols if c not in ("date", "symbol")]
    checks: list[tuple[pl.Expr, str]] = [
        (pl.col(f"{c}_raw").is_null(), f"missing {c} value; fill it in or remove the row") for c in cols
    ]
    checks.append((pl.col("date").is_null(), "date {date_raw!r} is not a YYYY-MM-DD date; fix it or remove the row"))
    checks.append((pl.col("intraday"), INTRADAY))
    for c in nums:
        checks.append(
            (
                pl.col(c).is_null() | ~pl.col(c).is_finite(),
                f"{c} {{{c}_raw!r}} is not a number; fix it or remove the row",
            )
        )
    for c in nums:
        if c != "volume":
            checks.append((pl.col(c) <= 0, f"{c} is {{{c}}}; prices must be > 0, fix the row"))
    checks.append((pl.col("volume") < 0, "volume is {volume}; it must be >= 0, fix the row"))
    hi, lo = pl.col("high") * (1 + RTOL), pl.col("low") * (1 - RTOL)
    checks.append((pl.col("high") < lo, "high {high} is below low {low}; fix the row"))
    for c in ("open", "close"):
        checks.append(
            (
                (pl.col(c) > hi) | (pl.col(c) < lo),
                f"{c} {{{c}}} is outside [low {{low}}, high {{high}}]; fix the row",
            )
        )
    return checks


def more_rows(n_bad: int) -> str:
    """What an error adds when more rows than the one it names fail the same check."""
    return f" ({n_bad - 1} more such row{'s' if n_bad > 2 else ''})" if n_bad > 1 else ""


def raise_first_failure(rows: pl.DataFrame, checks: list[tuple[pl.Expr, str]], where: object) -> None:
    """A DataError for the first of `checks` (mask, message) that a row fails: `<where> line <line>: <message>`, the
    message formatted with the row's columns, and how many more rows fail it. One pass counts every check's failures;
    only a failing check is looked at again."""
    counts = rows.select(mask.sum().alias(str(i)) for i, (mask, _) in enumerate(checks)).row(0)
    for (mask, message), n_bad in zip(checks, counts, strict=True):
        if n_bad:
            row = rows.filter(mask).row(0, named=True)
            raise DataError(f"{where} line {row['line']}: {message.format(**row)}{more_rows(n_bad)}")
