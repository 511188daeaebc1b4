"""Local time for messages: quiet hours, preferred times and retry back-off.

Everything is stored in UTC and computed in the organisation's zone (Europe/Amsterdam by
default), so a quiet period that ends at 09:00 ends at 09:00 on the wall clock also on the
nights the clocks change (last Sunday of March and of October).
"""

from __future__ import annotations

import datetime as dt
import random
from functools import lru_cache
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_minute(moment: dt.datetime, tz: ZoneInfo) -> int:
    local = moment.astimezone(tz)
    return local.hour * 60 + local.minute


def wall_time(day: dt.date, minute: int, tz: ZoneInfo) -> dt.datetime:
    """``day`` at ``minute`` after local midnight on the wall clock, as aware UTC.

    A wall time skipped by the spring change (02:30 on the last Sunday of March) comes out one
    hour later on the clock (03:30); an ambiguous one in October (02:30) its first occurrence.
    """
    local = dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=tz)
    return local.astimezone(dt.UTC)


def in_quiet_hours(moment: dt.datetime, tz: ZoneInfo, start: int, end: int) -> bool:
    """Whether ``moment`` falls in the quiet period ``start``-``end`` (local minutes, may wrap
    past midnight; ``start == end`` means no quiet hours)."""
    if start == end:
        return False
    minute = local_minute(moment, tz)
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def quiet_until(moment: dt.datetime, tz: ZoneInfo, start: int, end: int) -> dt.datetime | None:
    """When the quiet period around ``moment`` ends (aware UTC), or None outside it."""
    if not in_quiet_hours(moment, tz, start, end):
        return None
    local = moment.astimezone(tz)
    day = local.date()
    minute = local.hour * 60 + local.minute
    if start > end and minute >= start:
        day += dt.timedelta(days=1)  # evening part of a period that wraps past midnight
    return wall_time(day, end, tz)


def not_quiet(moment: dt.datetime, tz: ZoneInfo, start: int | None, end: int | None) -> dt.datetime:
    """``moment``, or the end of the quiet period it falls in."""
    if start is None or end is None:
        return moment
    return quiet_until(moment, tz, start, end) or moment


def backoff(attempts: int, *, base: float = 5.0, cap: float = 900.0, jitter: float = 0.2) -> float:
    """Seconds to wait before attempt ``attempts + 1``: 5 s, 10 s, 20 s, ... at most ``cap``,
    with +-``jitter`` so a failed batch does not come back all at once."""
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    return delay * (1 + random.uniform(-jitter, jitter))
