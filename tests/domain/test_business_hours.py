"""Business-hours arithmetic (F31): opening hours in a workspace's timezone, holidays,
daylight-saving changes, and the properties the SLA clocks rely on."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.domain.business_hours import BusinessHours
from frontdesk.errors import InvalidInput

BERLIN = ZoneInfo("Europe/Berlin")
BANGKOK = ZoneInfo("Asia/Bangkok")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def office(zone: str = "Europe/Berlin", *, holidays: list[str] | None = None) -> BusinessHours:
    return BusinessHours.parse(
        {
            "timezone": zone,
            "weekly": {d: [["09:00", "17:00"]] for d in WEEKDAYS},
            "holidays": holidays or [],
        }
    )


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


# Parsing and validation --------------------------------------------------------------------


def test_parse_and_store_round_trip() -> None:
    data = {
        "timezone": "Europe/Berlin",
        "weekly": {"mon": [["13:30", "17:00"], ["09:00", "12:30"]], "sat": [["10:00", "24:00"]]},
        "holidays": ["2026-12-26", "2026-12-25", "2026-12-25"],
    }
    hours = BusinessHours.parse(data)
    assert hours.weekly[0] == [(time(9), time(12, 30)), (time(13, 30), time(17))]
    assert hours.weekly[5] == [(time(10), time(0))]  # 24:00: until midnight
    assert hours.holidays == frozenset({date(2026, 12, 25), date(2026, 12, 26)})
    stored = hours.to_settings()
    assert stored == {
        "timezone": "Europe/Berlin",
        "weekly": {"mon": [["09:00", "12:30"], ["13:30", "17:00"]], "sat": [["10:00", "24:00"]]},
        "holidays": ["2026-12-25", "2026-12-26"],
    }
    assert BusinessHours.parse(stored) == hours
    assert hours.weekly_seconds() == (3.5 + 3.5 + 14) * 3600


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        (
            {"timezone": "Mars/Olympus", "weekly": {"mon": [["09:00", "17:00"]]}},
            "timezone",
            "Unknown timezone",
        ),
        (
            {"timezone": "../../etc/passwd", "weekly": {"mon": [["09:00", "17:00"]]}},
            "timezone",
            "not a timezone",
        ),
        ({"timezone": 7, "weekly": {"mon": [["09:00", "17:00"]]}}, "timezone", "IANA"),
        ({"weekly": {"mon": [["25:00", "26:00"]]}}, "weekly.mon[0]", "not a time of day"),
        ({"weekly": {"mon": [["09:60", "17:00"]]}}, "weekly.mon[0]", "not a time of day"),
        ({"weekly": {"mon": [["9am", "17:00"]]}}, "weekly.mon[0]", "HH:MM"),
        ({"weekly": {"mon": [["24:00", "24:00"]]}}, "weekly.mon[0]", "only end"),
        ({"weekly": {"mon": [["09:00", "00:00"]]}}, "weekly.mon[0]", "write 24:00"),
        ({"weekly": {"mon": [["17:00", "09:00"]]}}, "weekly.mon", "ends before it starts"),
        ({"weekly": {"mon": [["09:00", "09:00"]]}}, "weekly.mon", "ends before it starts"),
        ({"weekly": {"mon": [["09:00", "12:00"], ["11:59", "14:00"]]}}, "weekly.mon", "overlap"),
        ({"weekly": {"mon": [["09:00"]]}}, "weekly.mon[0]", "start, end"),
        ({"weekly": {"monday": [["09:00", "17:00"]]}}, "weekly.monday", "unknown day"),
        ({"weekly": {"mon": "09:00-17:00"}}, "weekly.mon", "list"),
        ({"weekly": {}}, "weekly", "at least one interval"),
        ({"weekly": {"sun": []}}, "weekly", "at least one interval"),
        ({"timezone": "UTC"}, "weekly", "required"),
        (
            {"weekly": {"mon": [["09:00", "17:00"]]}, "holidays": ["2026-02-30"]},
            "holidays[0]",
            "not a date in the calendar",
        ),
        (
            {"weekly": {"mon": [["09:00", "17:00"]]}, "holidays": ["25.12.2026"]},
            "holidays[0]",
            "YYYY-MM-DD",
        ),
        ({"weekly": {"mon": [["09:00", "17:00"]]}, "holidays": "2026-12-25"}, "holidays", "list"),
        ({"weekly": {"mon": [["09:00", "17:00"]]}, "holiday": []}, "holiday", "unknown field"),
    ],
)
def test_bad_definitions_are_refused_with_the_field(data: object, field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        BusinessHours.parse(data)
    problems = caught.value.details
    assert any(p["field"] == field and words in p["message"] for p in problems), problems
    assert words in str(caught.value.message) or len(problems) > 1


def test_every_problem_is_listed() -> None:
    with pytest.raises(InvalidInput) as caught:
        BusinessHours.parse(
            {
                "timezone": "Nowhere/City",
                "weekly": {"mon": [["25:00", "26:00"]], "tue": [["10:00", "09:00"]]},
                "holidays": ["someday"],
            }
        )
    fields = {p["field"] for p in caught.value.details}
    assert fields == {"timezone", "weekly.mon[0]", "weekly.tue", "holidays[0]"}


def test_the_constructor_validates_too() -> None:
    with pytest.raises(InvalidInput, match="overlap"):
        BusinessHours("UTC", {0: [(time(9), time(12)), (time(10), time(11))]}, frozenset())
    with pytest.raises(InvalidInput, match="weekday"):
        BusinessHours("UTC", {7: [(time(9), time(12))]}, frozenset())


def test_nothing_configured_is_always_open() -> None:
    for stored in (None, {}, {"policy": {}}, {"business_hours": None}):
        hours = BusinessHours.from_settings(stored)
        assert hours.is_always_open and hours.timezone == "UTC"
    moment = datetime(2026, 1, 4, 3, 17, tzinfo=UTC)  # a Sunday night
    assert hours.is_open(moment)
    assert hours.next_opening(moment) == moment
    assert hours.add_business_seconds(moment, 90) == moment + timedelta(seconds=90)


def test_from_settings_reads_the_workspace_settings_or_the_entry() -> None:
    entry = office().to_settings()
    assert BusinessHours.from_settings({"business_hours": entry, "policy": {}}) == office()
    assert BusinessHours.from_settings(entry) == office()


def test_unreadable_stored_hours_are_logged_and_treated_as_24_7(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hours = BusinessHours.from_settings({"business_hours": {"timezone": "Bad/Zone", "weekly": {}}})
    assert hours.is_always_open
    assert "invalid" in caplog.text


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        office().is_open(datetime(2026, 3, 2, 10))  # noqa: DTZ001 - the point of the test


# Questions ---------------------------------------------------------------------------------


def test_open_closed_and_next_opening() -> None:
    hours = office()
    monday_10 = local(BERLIN, 2026, 3, 2, 10)
    assert hours.is_open(monday_10)
    assert hours.next_opening(monday_10) == monday_10
    assert hours.is_open(local(BERLIN, 2026, 3, 2, 9))  # opening time is open
    assert not hours.is_open(local(BERLIN, 2026, 3, 2, 17))  # closing time is closed
    assert hours.next_opening(local(BERLIN, 2026, 3, 2, 17)) == local(BERLIN, 2026, 3, 3, 9)
    saturday = local(BERLIN, 2026, 3, 7, 12)
    assert not hours.is_open(saturday)
    assert hours.next_opening(saturday) == local(BERLIN, 2026, 3, 9, 9)
    assert hours.next_closing(monday_10) == local(BERLIN, 2026, 3, 2, 17)


def test_friday_afternoon_one_hour_is_due_monday_morning() -> None:
    hours = office()
    friday = local(BERLIN, 2026, 3, 6, 16, 30)
    due = hours.add_business_seconds(friday, 3600)
    assert due == local(BERLIN, 2026, 3, 9, 9, 30)
    assert due.tzinfo == UTC
    assert hours.business_seconds_between(friday, due) == 3600


def test_budget_ending_at_closing_time_ends_there() -> None:
    hours = office()
    start = local(BERLIN, 2026, 3, 2, 16)
    assert hours.add_business_seconds(start, 3600) == local(BERLIN, 2026, 3, 2, 17)
    assert hours.add_business_seconds(start, 3601) == local(BERLIN, 2026, 3, 3, 9, 0, 1)
    assert hours.add_business_seconds(start, 0) == start
    with pytest.raises(ValueError):
        hours.add_business_seconds(start, -1)


def test_holidays_are_whole_local_days() -> None:
    # Friday 2026-12-25 and Monday 2026-12-28 closed: Thursday 16:00 + 2h → Tuesday 10:00.
    hours = office(holidays=["2026-12-25", "2026-12-28"])
    thursday = local(BERLIN, 2026, 12, 24, 16)
    assert hours.add_business_seconds(thursday, 7200) == local(BERLIN, 2026, 12, 29, 10)
    assert not hours.is_open(local(BERLIN, 2026, 12, 25, 10))
    # The holiday is the local day: Bangkok's 25 December starts at 17:00 UTC on the 24th.
    bangkok = BusinessHours.parse(
        {
            "timezone": "Asia/Bangkok",
            "weekly": {"thu": [["00:00", "24:00"]], "fri": [["00:00", "24:00"]]},
            "holidays": ["2026-12-25"],
        }
    )
    assert bangkok.is_open(datetime(2026, 12, 24, 16, 59, tzinfo=UTC))
    assert not bangkok.is_open(datetime(2026, 12, 24, 17, 0, tzinfo=UTC))


def test_several_intervals_a_day() -> None:
    hours = BusinessHours.parse(
        {"timezone": "UTC", "weekly": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}}
    )
    start = datetime(2026, 3, 2, 11, tzinfo=UTC)
    assert not hours.is_open(datetime(2026, 3, 2, 12, 30, tzinfo=UTC))
    assert hours.next_opening(datetime(2026, 3, 2, 12, 30, tzinfo=UTC)) == datetime(
        2026, 3, 2, 13, tzinfo=UTC
    )
    assert hours.add_business_seconds(start, 2 * 3600) == datetime(2026, 3, 2, 14, tzinfo=UTC)
    assert (
        hours.business_seconds_between(start, datetime(2026, 3, 9, 10, tzinfo=UTC))
        == (1 + 4 + 1) * 3600
    )


def test_a_zone_far_from_utc() -> None:
    # Bangkok is UTC+7 all year: Monday 09:00 there is Monday 02:00 UTC; Friday 17:00 is 10:00.
    hours = office("Asia/Bangkok")
    sunday_utc_evening = datetime(2026, 3, 1, 22, tzinfo=UTC)  # Monday 05:00 in Bangkok
    assert hours.next_opening(sunday_utc_evening) == datetime(2026, 3, 2, 2, tzinfo=UTC)
    friday = local(BANGKOK, 2026, 3, 6, 16, 30)
    assert friday == datetime(2026, 3, 6, 9, 30, tzinfo=UTC)
    assert hours.add_business_seconds(friday, 3600) == datetime(2026, 3, 9, 2, 30, tzinfo=UTC)
    assert hours.is_open(datetime(2026, 3, 2, 9, 59, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))


# Daylight saving (Europe/Berlin: forward on 2026-03-29 at 02:00, back on 2026-10-25 at 03:00)


def test_a_dst_week_in_berlin() -> None:
    hours = office()
    # 09:00 Berlin is 08:00 UTC before the change, 07:00 UTC after it.
    assert hours.next_opening(datetime(2026, 3, 27, 16, tzinfo=UTC)) == datetime(
        2026, 3, 30, 7, tzinfo=UTC
    )
    friday = local(BERLIN, 2026, 3, 27, 16, 30)
    assert friday == datetime(2026, 3, 27, 15, 30, tzinfo=UTC)
    due = hours.add_business_seconds(friday, 3600)
    assert due == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)  # Monday 09:30 CEST
    assert due.astimezone(BERLIN).hour == 9
    week = hours.business_seconds_between(
        datetime(2026, 3, 23, tzinfo=UTC), datetime(2026, 3, 30, 23, tzinfo=UTC)
    )
    assert week == 6 * 8 * 3600  # five days of the old week and Monday of the new one
    # And back in October: Monday 09:00 is 07:00 UTC before, 08:00 UTC after.
    assert hours.next_opening(datetime(2026, 10, 23, 16, tzinfo=UTC)) == datetime(
        2026, 10, 26, 8, tzinfo=UTC
    )


def test_intervals_across_the_clock_changes_count_real_time() -> None:
    night = {"timezone": "Europe/Berlin", "weekly": {"sun": [["01:00", "04:00"]]}}
    hours = BusinessHours.parse(night)
    spring = hours.business_seconds_between(
        datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 3, 30, tzinfo=UTC)
    )
    autumn = hours.business_seconds_between(
        datetime(2026, 10, 24, tzinfo=UTC), datetime(2026, 10, 26, tzinfo=UTC)
    )
    assert (spring, autumn) == (2 * 3600, 4 * 3600)


def test_a_time_in_the_spring_gap_opens_when_the_clocks_jump() -> None:
    hours = BusinessHours.parse(
        {"timezone": "Europe/Berlin", "weekly": {"sun": [["02:30", "05:00"]]}}
    )
    opening = hours.next_opening(datetime(2026, 3, 28, 12, tzinfo=UTC))
    assert opening == datetime(2026, 3, 29, 1, tzinfo=UTC)  # 03:00 CEST, the first real minute
    assert opening.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 3, 29, 3)  # noqa: DTZ001


# Properties --------------------------------------------------------------------------------

ZONES = st.sampled_from(
    ["UTC", "Europe/Berlin", "Asia/Bangkok", "America/New_York", "Australia/Lord_Howe"]
)
MINUTE = st.integers(min_value=0, max_value=23 * 60)


@st.composite
def business_hours(draw: st.DrawFn) -> BusinessHours:
    weekly: dict[str, list[list[str]]] = {}
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        if draw(st.booleans()):
            starts = sorted(draw(st.sets(MINUTE, min_size=1, max_size=3)))
            intervals = []
            for index, start in enumerate(starts):
                limit = starts[index + 1] if index + 1 < len(starts) else 24 * 60
                end = draw(st.integers(min_value=start + 1, max_value=limit))
                intervals.append(
                    [f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"]
                )
            weekly[day] = intervals
    if not weekly:
        weekly["wed"] = [["10:00", "11:00"]]
    holidays = draw(st.lists(st.dates(date(2025, 12, 1), date(2027, 2, 1)), max_size=20))
    return BusinessHours.parse(
        {"timezone": draw(ZONES), "weekly": weekly, "holidays": [d.isoformat() for d in holidays]}
    )


# hypothesis takes naive bounds and attaches the timezone itself
MOMENTS = st.datetimes(
    datetime(2026, 1, 1),  # noqa: DTZ001
    datetime(2026, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)
BUDGET = st.integers(min_value=0, max_value=30 * 86400)


@settings(max_examples=150, deadline=None)
@given(hours=business_hours(), start=MOMENTS, seconds=BUDGET)
def test_add_then_between_round_trips(hours: BusinessHours, start: datetime, seconds: int) -> None:
    end = hours.add_business_seconds(start, seconds)
    assert end >= start
    assert hours.business_seconds_between(start, end) == seconds
    if seconds > 0:
        assert hours.is_open(end - timedelta(microseconds=1))


@settings(max_examples=150, deadline=None)
@given(hours=business_hours(), start=MOMENTS, a=BUDGET, b=BUDGET)
def test_adding_is_monotonic(hours: BusinessHours, start: datetime, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert hours.add_business_seconds(start, low) <= hours.add_business_seconds(start, high)


@settings(max_examples=150, deadline=None)
@given(hours=business_hours(), moments=st.lists(MOMENTS, min_size=3, max_size=3))
def test_between_is_monotonic_and_additive(hours: BusinessHours, moments: list[datetime]) -> None:
    a, b, c = sorted(moments)
    ab, bc, ac = (
        hours.business_seconds_between(a, b),
        hours.business_seconds_between(b, c),
        hours.business_seconds_between(a, c),
    )
    assert 0 <= ab <= ac and 0 <= bc <= ac
    assert ab + bc in (ac, ac - 1)  # whole seconds: the two floors may lose one
    assert ac <= (c - a).total_seconds()


@settings(max_examples=150, deadline=None)
@given(hours=business_hours(), at=MOMENTS)
def test_next_opening_is_open_and_nothing_is_open_before_it(
    hours: BusinessHours, at: datetime
) -> None:
    opening = hours.next_opening(at)
    assert opening >= at
    assert hours.is_open(opening)
    assert hours.is_open(at) == (opening == at)
    assert hours.business_seconds_between(at, opening) == 0
