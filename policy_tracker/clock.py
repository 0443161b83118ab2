"""China Standard Time (UTC+8), the one clock of ptrack: stamps, change ids, days and shown times (pure)."""

from __future__ import annotations

import datetime as dt

# The Opinions, the statistics and the offices all count days in China; so does ptrack, wherever it runs.
CHINA = dt.timezone(dt.timedelta(hours=8))
ZONE_LABEL = "UTC+8"


def now() -> dt.datetime:
    """The current time in China, whatever the machine's local zone (TZ)."""
    return dt.datetime.now(CHINA)


def today() -> dt.date:
    """Today's date in China: the default as-of date."""
    return now().date()


def china_day(moment: dt.datetime) -> dt.date:
    """The day an aware moment falls on in China (`--since` and `--as-of` count these days)."""
    return moment.astimezone(CHINA).date()


def minute_text(moment: dt.datetime) -> str:
    """'2026-06-01 01:00': a moment to the minute in China time (say the zone where the reader cannot know it)."""
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
