"""Trading calendars of the generated data: NYSE sessions (weekdays less the main holidays) for equities, every
calendar day for crypto (`*-USD`)."""

from __future__ import annotations

import datetime as dt

import numpy as np


def is_crypto(symbol: str) -> bool:
    """Symbols ending in `-USD` trade every calendar day; everything else trades NYSE sessions."""
    return symbol.upper().endswith("-USD")


def nyse_holidays(year: int) -> list[dt.date]:
    """The main NYSE full-day closures of `year`, by rule, with weekend observance.

    New Year's Day (a Saturday New Year is not observed), Martin Luther King Jr. Day,
    Presidents' Day, Good Friday, Memorial Day, Juneteenth (from 2022), Independence Day, Labor
    Day, Thanksgiving and Christmas. A Saturday holiday is observed on the Friday before, a
    Sunday one on the Monday after. One-off closures (hurricanes, days of mourning) are not
    included.
    """
    out = []
    new_year = dt.date(year, 1, 1)
    if new_year.weekday() != 5:
        out.append(_observed(new_year))
    out += [_nth_weekday(year, 1, 0, 3), _nth_weekday(year, 2, 0, 3)]
    out.append(_easter(year) - dt.timedelta(days=2))
    out.append(_nth_weekday(year, 5, 0, -1))
    if year >= 2022:
        out.append(_observed(dt.date(year, 6, 19)))
    out += [_observed(dt.date(year, 7, 4)), _nth_weekday(year, 9, 0, 1)]
    out += [_nth_weekday(year, 11, 3, 4), _observed(dt.date(year, 12, 25))]
    return out


def trading_days(symbol: str, start: dt.date, end: dt.date) -> np.ndarray:
    """The dates (`datetime64[D]`) on which `symbol` trades in `[start, end]`."""
    days = calendar_days(start, end)
    return days if is_crypto(symbol) else days[session_mask(days)]


def calendar_days(start: dt.date, end: dt.date) -> np.ndarray:
    return np.arange(np.datetime64(start, "D"), np.datetime64(end, "D") + 1)


def session_mask(days: np.ndarray) -> np.ndarray:
    if len(days) == 0:
        return np.zeros(0, dtype=bool)
    first, last = days[0].astype(dt.date).year, days[-1].astype(dt.date).year
    hol = [h for y in range(first, last + 2) for h in nyse_holidays(y)]
    return np.is_busday(days, holidays=np.array(hol, dtype="datetime64[D]"))


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th `weekday` (Mon=0) of the month; n = -1 for the last."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    last = nxt - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: dt.date) -> dt.date:
    shift = {5: -1, 6: 1}.get(day.weekday(), 0)
    return day + dt.timedelta(days=shift)


def _easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 19 * m) // 433
    month = (h + m - 7 * n + 90) // 25
    return dt.date(year, month, (h + m - 7 * n + 33 * month + 19) % 32)
