"""Date arithmetic for terms, in one place (ARCHITECTURE rule 6).

A term of N years that starts on day D (the designation date counts as the first day) ends at
the latest on the day before D's anniversary N years later: 2025-05-16 + 5 years → 2030-05-15.
A 29 February start counts its anniversary as 28 February in common years.
"""

from __future__ import annotations

import datetime as dt


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year + years, day=28)


def add_months(day: dt.date, months: int) -> dt.date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def last_day_of_term(start: dt.date, years: int) -> dt.date:
    """The last day of a term of `years` years starting (inclusive) on `start`."""
    return add_years(start, years) - dt.timedelta(days=1)
