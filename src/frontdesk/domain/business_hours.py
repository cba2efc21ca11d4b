"""Business hours of a workspace: when its people work, in its own timezone (F31, F22).

Pure code, no database. A workspace keeps them as JSON in ``workspace.settings["business_hours"]``::

    {"timezone": "Europe/Berlin",
     "weekly": {"mon": [["09:00", "12:30"], ["13:30", "17:00"]], "tue": [["09:00", "17:00"]]},
     "holidays": ["2026-12-25", "2026-12-26"]}

* ``weekly``: a day left out is closed; a day may have several intervals, each ``[start, end)``
  in local time, ``"HH:MM"`` from 00:00, with ``"24:00"`` allowed as an end (until midnight). An
  interval cannot cross midnight: write it as two, one on each day.
* ``holidays``: whole local days on which the workspace is closed.
* Nothing configured: always open, 24/7 in UTC.

Every ``datetime`` taken and returned is timezone-aware; results are in UTC. Local times are
turned into instants through :mod:`zoneinfo`, so the daylight-saving changes are exact: an
interval on the night the clocks go forward is an hour shorter in real time, one on the night
they go back an hour longer. A local time that does not exist (inside the spring-forward gap)
is taken as the moment the clocks jump; an ambiguous one (the repeated hour in autumn) as its
first occurrence.

Business seconds are real seconds that fall inside the open intervals: 1 hour of business time
from Friday 16:30 with hours 09:00-17:00 ends on Monday at 09:30.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from frontdesk.errors import InvalidInput

__all__ = [
    "DAY_NAMES",
    "MAX_HOLIDAYS",
    "MAX_INTERVALS_PER_DAY",
    "BusinessHours",
]

log = logging.getLogger(__name__)

DAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_LABELS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_INTERVALS_PER_DAY: Final = 10
MAX_HOLIDAYS: Final = 1000
MIDNIGHT: Final = time(0, 0)
# No week is open and every day a holiday for this long: the definition cannot be worked with.
_MAX_CLOSED_DAYS: Final = 4000

_SECOND: Final = timedelta(seconds=1)
_TIME = re.compile(r"^(\d{2}):(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$")

Interval = tuple[time, time]


def _problem(field_name: str, message: str) -> dict[str, str]:
    return {"field": field_name, "message": message}


def _raise(problems: list[dict[str, str]]) -> None:
    if problems:
        first = problems[0]
        raise InvalidInput(
            f"Business hours: {first['field']}: {first['message']}", details=problems
        )


def load_zone(name: Any) -> ZoneInfo:
    """The IANA timezone ``name`` (``Europe/Berlin``), or InvalidInput saying why not."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(
            "The timezone must be an IANA name such as Europe/Berlin.",
            details=[_problem("timezone", "must be an IANA name such as Europe/Berlin")],
        )
    if len(name) > 64 or not _ZONE.match(name):
        message = f"{name[:64]!r} is not a timezone name; use one such as Europe/Berlin."
        raise InvalidInput(message, details=[_problem("timezone", message)])
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        message = f"Unknown timezone {name!r}; use an IANA name such as Europe/Berlin."
        raise InvalidInput(message, details=[_problem("timezone", message)]) from None


def _parse_time(raw: Any, *, is_end: bool) -> time:
    """``"HH:MM"``; ``"24:00"`` only as an end (returned as 00:00, meaning midnight after)."""
    if not isinstance(raw, str):
        raise ValueError("must be a time written HH:MM, such as 09:00")
    found = _TIME.match(raw.strip())
    if not found:
        raise ValueError(f"{raw[:20]!r} is not a time written HH:MM, such as 09:00")
    hours, minutes = int(found.group(1)), int(found.group(2))
    if (hours, minutes) == (24, 0):
        if not is_end:
            raise ValueError("24:00 can only end an interval (open until midnight)")
        return MIDNIGHT
    if hours > 23 or minutes > 59:
        raise ValueError(f"{raw} is not a time of day (00:00 to 23:59, or 24:00 as an end)")
    if is_end and (hours, minutes) == (0, 0):
        raise ValueError("an interval cannot end at 00:00: write 24:00 for midnight")
    return time(hours, minutes)


def _format_time(value: time, *, is_end: bool) -> str:
    if is_end and value == MIDNIGHT:
        return "24:00"
    text = f"{value.hour:02d}:{value.minute:02d}"
    if value.second or value.microsecond:
        text += f":{value.second:02d}"
    return text


def _end_key(interval: Interval) -> tuple[int, int, int, int]:
    """Sort key of an interval's end, with 00:00 as an end meaning midnight after (24:00)."""
    end = interval[1]
    if end == MIDNIGHT:
        return (24, 0, 0, 0)
    return (end.hour, end.minute, end.second, end.microsecond)


def _check_day(
    intervals: list[Interval], where: str, problems: list[dict[str, str]]
) -> list[Interval]:
    """Intervals of one day, sorted; problems (end before start, overlaps) appended."""
    if len(intervals) > MAX_INTERVALS_PER_DAY:
        problems.append(_problem(where, f"at most {MAX_INTERVALS_PER_DAY} intervals a day"))
    ordered = sorted(intervals, key=lambda i: (i[0], _end_key(i)))
    for start, end in ordered:
        if start.tzinfo is not None or end.tzinfo is not None:
            problems.append(_problem(where, "times are local: give them without a timezone"))
        elif end != MIDNIGHT and end <= start:
            problems.append(
                _problem(
                    where,
                    f"{_format_time(start, is_end=False)}–{_format_time(end, is_end=True)} "
                    "ends before it starts (an interval cannot cross midnight: split it)",
                )
            )
    for (s1, e1), (s2, e2) in pairwise(ordered):
        first_end = _end_key((s1, e1))
        if (s2.hour, s2.minute, s2.second, s2.microsecond) < first_end:
            problems.append(
                _problem(
                    where,
                    f"{_format_time(s1, is_end=False)}–{_format_time(e1, is_end=True)} and "
                    f"{_format_time(s2, is_end=False)}–{_format_time(e2, is_end=True)} overlap",
                )
            )
    return ordered


def _as_utc(moment: datetime) -> datetime:
    if not isinstance(moment, datetime):
        raise TypeError("a datetime is needed")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime given to business hours; use an aware one (UTC)")
    return moment.astimezone(UTC)


def _local_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """The instant of the naive local time ``local`` in ``zone``.

    Ambiguous (repeated hour): its first occurrence. Non-existent (skipped hour): the instant
    the clocks jumped, i.e. the first instant whose local time is later than ``local``."""
    first = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == local:
        return first
    # In a gap: fold=1 gives an instant before the jump, fold=0 one after it.
    low = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = first
    if low > high:
        low, high = high, low
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) > local:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0) if high.microsecond else high


def _always_open_week() -> dict[int, list[Interval]]:
    return {day: [(MIDNIGHT, MIDNIGHT)] for day in range(7)}


@dataclass(frozen=True)
class BusinessHours:
    """When a workspace is open. Build it with :meth:`from_settings` (stored JSON),
    :meth:`parse` (input to validate) or :meth:`always_open`; the constructor validates too."""

    timezone: str = "UTC"
    # 0 = Monday … 6 = Sunday; [start, end) local times; an end of 00:00 means midnight after.
    weekly: dict[int, list[Interval]] = field(default_factory=_always_open_week)
    holidays: frozenset[date] = frozenset()
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _always: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        zone = load_zone(self.timezone)
        problems: list[dict[str, str]] = []
        clean: dict[int, list[Interval]] = {}
        if not isinstance(self.weekly, Mapping):
            raise InvalidInput("weekly must map weekdays (0 = Monday) to intervals.")
        for day, intervals in self.weekly.items():
            if not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6:
                problems.append(_problem("weekly", f"{day!r} is not a weekday (0 = Monday … 6)"))
                continue
            if not intervals:
                continue
            pairs = [(s, e) for s, e in intervals]
            clean[day] = _check_day(pairs, f"weekly.{DAY_NAMES[day]}", problems)
        if not problems and not clean:
            problems.append(
                _problem("weekly", "no day has opening hours: give at least one interval")
            )
        if len(self.holidays) > MAX_HOLIDAYS:
            problems.append(_problem("holidays", f"at most {MAX_HOLIDAYS} holidays"))
        if any(not isinstance(d, date) or isinstance(d, datetime) for d in self.holidays):
            problems.append(_problem("holidays", "holidays are dates"))
        _raise(problems)
        object.__setattr__(self, "weekly", clean)
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "_zone", zone)
        always = not self.holidays and all(
            clean.get(day) == [(MIDNIGHT, MIDNIGHT)] for day in range(7)
        )
        object.__setattr__(self, "_always", always)

    # Building ----------------------------------------------------------------------------------

    @classmethod
    def always_open(cls) -> BusinessHours:
        """24/7 in UTC: what a workspace without business hours has, and calendar time."""
        return cls()

    @classmethod
    def parse(cls, data: Any) -> BusinessHours:
        """Validate the JSON form (see the module docstring); InvalidInput lists every problem
        as ``{field, message}`` in ``details``."""
        if not isinstance(data, Mapping):
            raise InvalidInput(
                "Business hours must be an object with timezone, weekly and holidays."
            )
        problems: list[dict[str, str]] = []
        unknown = sorted(str(k) for k in data if k not in ("timezone", "weekly", "holidays"))
        for key in unknown:
            problems.append(_problem(key[:40], "unknown field: use timezone, weekly, holidays"))
        timezone = data.get("timezone", "UTC")
        try:
            load_zone(timezone)
        except InvalidInput as exc:
            problems.extend(exc.details)
        weekly_raw = data.get("weekly")
        weekly: dict[int, list[Interval]] = {}
        if weekly_raw is None:
            problems.append(_problem("weekly", "required: the opening hours of each weekday"))
        elif not isinstance(weekly_raw, Mapping):
            problems.append(_problem("weekly", 'must map days ("mon" … "sun") to intervals'))
        else:
            for key, intervals in weekly_raw.items():
                if key not in DAY_NAMES:
                    problems.append(
                        _problem(
                            f"weekly.{str(key)[:20]}",
                            f"unknown day: use {', '.join(DAY_NAMES)}",
                        )
                    )
                    continue
                weekly[DAY_NAMES.index(key)] = cls._parse_intervals(
                    intervals, f"weekly.{key}", problems
                )
        holidays: set[date] = set()
        holidays_raw = data.get("holidays", [])
        if holidays_raw is None:
            holidays_raw = []
        if not isinstance(holidays_raw, list):
            problems.append(_problem("holidays", 'must be a list of dates such as "2026-12-25"'))
        elif len(holidays_raw) > MAX_HOLIDAYS:
            problems.append(_problem("holidays", f"at most {MAX_HOLIDAYS} holidays"))
        else:
            for index, raw in enumerate(holidays_raw):
                where = f"holidays[{index}]"
                if not isinstance(raw, str) or not _DATE.match(raw):
                    problems.append(_problem(where, f"{str(raw)[:20]!r} is not a date YYYY-MM-DD"))
                    continue
                try:
                    holidays.add(date.fromisoformat(raw))
                except ValueError:
                    problems.append(_problem(where, f"{raw} is not a date in the calendar"))
        _raise(problems)
        return cls(timezone=str(timezone), weekly=weekly, holidays=frozenset(holidays))

    @staticmethod
    def _parse_intervals(
        intervals: Any, where: str, problems: list[dict[str, str]]
    ) -> list[Interval]:
        if not isinstance(intervals, list):
            problems.append(_problem(where, 'must be a list of ["HH:MM", "HH:MM"] intervals'))
            return []
        if len(intervals) > MAX_INTERVALS_PER_DAY:
            problems.append(_problem(where, f"at most {MAX_INTERVALS_PER_DAY} intervals a day"))
            return []
        parsed: list[Interval] = []
        for index, pair in enumerate(intervals):
            at = f"{where}[{index}]"
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                problems.append(_problem(at, 'an interval is ["HH:MM", "HH:MM"] (start, end)'))
                continue
            try:
                start = _parse_time(pair[0], is_end=False)
                end = _parse_time(pair[1], is_end=True)
            except ValueError as exc:
                problems.append(_problem(at, str(exc)))
                continue
            parsed.append((start, end))
        if len(parsed) == len(intervals):
            # Ordering and overlaps are checked once every interval of the day could be read.
            before = len(problems)
            parsed = _check_day(parsed, where, problems)
            if len(problems) > before:
                return []
        return parsed

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> BusinessHours:
        """The business hours stored for a workspace: pass ``workspace.settings`` (its
        ``"business_hours"`` entry is read) or that entry itself. None configured: always open
        (24/7, UTC). Stored hours were validated when saved; if they cannot be read any more
        (written by hand), that is logged and the workspace is treated as always open."""
        if not settings:
            return cls.always_open()
        if "business_hours" in settings:
            data = settings["business_hours"]
        elif any(key in settings for key in ("weekly", "timezone", "holidays")):
            data = settings
        else:
            return cls.always_open()
        if data is None:
            return cls.always_open()
        try:
            return cls.parse(data)
        except InvalidInput as exc:
            log.warning("stored business hours are invalid (%s); treating as 24/7", exc.message)
            return cls.always_open()

    def to_settings(self) -> dict[str, Any]:
        """The JSON form, as stored in ``workspace.settings["business_hours"]``."""
        return {
            "timezone": self.timezone,
            "weekly": {
                DAY_NAMES[day]: [
                    [_format_time(s, is_end=False), _format_time(e, is_end=True)]
                    for s, e in self.weekly[day]
                ]
                for day in sorted(self.weekly)
            },
            "holidays": sorted(d.isoformat() for d in self.holidays),
        }

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    @property
    def is_always_open(self) -> bool:
        """Open every second of every day (no holidays): business time is calendar time."""
        return self._always

    def weekly_seconds(self) -> int:
        """Open seconds in a week without holidays (ignoring daylight-saving changes)."""
        total = 0
        for intervals in self.weekly.values():
            for start, end in intervals:
                end_seconds = 86400 if end == MIDNIGHT else _seconds_of_day(end)
                total += end_seconds - _seconds_of_day(start)
        return total

    # Questions ---------------------------------------------------------------------------------

    def _day_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of local ``day`` as UTC instants."""
        if day in self.holidays:
            return []
        result = []
        for start, end in self.weekly.get(day.weekday(), ()):
            opens = _local_to_utc(datetime.combine(day, start), self._zone)
            end_day = day + timedelta(days=1) if end == MIDNIGHT else day
            closes = _local_to_utc(datetime.combine(end_day, end), self._zone)
            result.append((opens, closes))
        return result

    def intervals_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open intervals ``[opens, closes)`` (UTC) that end after ``start``, in order,
        never overlapping; the first may begin before ``start``. Endless."""
        start = _as_utc(start)
        if self.is_always_open:
            day_start = start.replace(hour=0, minute=0, second=0, microsecond=0)
            while True:
                yield day_start, day_start + timedelta(days=1)
                day_start += timedelta(days=1)
        day = start.astimezone(self._zone).date() - timedelta(days=1)
        last_end = start - timedelta(days=2)
        closed_days = 0
        while True:
            found = False
            for opens, closes in self._day_intervals(day):
                opens = max(opens, last_end)
                if closes <= opens or closes <= start:
                    continue
                found = True
                last_end = closes
                yield opens, closes
            closed_days = 0 if found else closed_days + 1
            if closed_days > _MAX_CLOSED_DAYS:
                raise RuntimeError("business hours never open: every day is closed")
            day += timedelta(days=1)

    def is_open(self, at: datetime) -> bool:
        at = _as_utc(at)
        for opens, closes in self.intervals_from(at):
            return opens <= at < closes
        return False  # pragma: no cover - the generator is endless

    def next_opening(self, at: datetime) -> datetime:
        """``at`` itself (in UTC) if open, else the moment the workspace next opens."""
        at = _as_utc(at)
        for opens, _closes in self.intervals_from(at):
            return max(opens, at)
        raise AssertionError("unreachable")  # pragma: no cover

    def next_closing(self, at: datetime) -> datetime:
        """When the interval open at ``at`` (or the next one) closes."""
        at = _as_utc(at)
        for _opens, closes in self.intervals_from(at):
            return closes
        raise AssertionError("unreachable")  # pragma: no cover

    def add_business_seconds(self, start: datetime, seconds: int) -> datetime:
        """The instant at which ``seconds`` of open time have passed since ``start``.

        ``seconds`` = 0 is ``start`` itself; a budget that runs out exactly when an interval
        closes ends at that closing time (not at the next opening)."""
        start = _as_utc(start)
        if seconds < 0:
            raise ValueError("seconds must be zero or more")
        if seconds == 0:
            return start
        if self.is_always_open:
            return start + timedelta(seconds=seconds)
        remaining = timedelta(seconds=seconds)
        for opens, closes in self.intervals_from(start):
            opens = max(opens, start)
            available = closes - opens
            if remaining <= available:
                return opens + remaining
            remaining -= available
        raise AssertionError("unreachable")  # pragma: no cover

    def business_seconds_between(self, start: datetime, end: datetime) -> int:
        """Whole seconds of open time in ``[start, end)``; 0 when ``end`` is not after."""
        start, end = _as_utc(start), _as_utc(end)
        if end <= start:
            return 0
        if self.is_always_open:
            return (end - start) // _SECOND
        total = timedelta(0)
        for opens, closes in self.intervals_from(start):
            if opens >= end:
                break
            total += min(closes, end) - max(opens, start)
        return total // _SECOND


def _seconds_of_day(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second
