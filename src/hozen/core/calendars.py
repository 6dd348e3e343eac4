"""Dates for people: Asia/Tokyo and the Japanese era form (和暦), e.g. 令和7年5月16日."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")

# (first day, era name, English name). The day each era began under the Gregorian calendar.
ERAS: tuple[tuple[dt.date, str, str], ...] = (
    (dt.date(2019, 5, 1), "令和", "Reiwa"),
    (dt.date(1989, 1, 8), "平成", "Heisei"),
    (dt.date(1926, 12, 25), "昭和", "Showa"),
    (dt.date(1912, 7, 30), "大正", "Taisho"),
    (dt.date(1873, 1, 1), "明治", "Meiji"),  # Gregorian calendar adopted in Meiji 6
)


def to_tokyo_date(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not allowed: store UTC, show Asia/Tokyo")
        return value.astimezone(TOKYO).date()
    return value


def wareki(value: dt.date | dt.datetime, *, latin: bool = False) -> str:
    """令和7年5月16日; the first year of an era is 元年 (令和元年5月1日).
    With latin=True: "Reiwa 7 (2025)-05-16" style for English screens."""
    day = to_tokyo_date(value)
    for start, name, name_en in ERAS:
        if day >= start:
            year = day.year - start.year + 1
            if latin:
                return f"{name_en} {year}, {day:%Y-%m-%d}"
            year_text = "元" if year == 1 else str(year)
            return f"{name}{year_text}年{day.month}月{day.day}日"
    raise ValueError(f"{day.isoformat()} is before the Gregorian calendar was used in Japan (1873)")
