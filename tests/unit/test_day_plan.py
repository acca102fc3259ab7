"""Free and taken time per day (domain.day_plan): states, opening hours, closures, DST days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from booking.domain.availability import Buffers, Holding
from booking.domain.day_plan import day_window, plan_days
from booking.domain.intervals import Interval
from booking.domain.opening_hours import open_intervals

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 2, 3)  # a Tuesday in winter (UTC+1)
BEFORE = datetime(2026, 1, 1, tzinfo=UTC)


def at(hour: float, day: date = DAY) -> datetime:
    return datetime.combine(day, datetime.min.time(), BERLIN) + timedelta(hours=hour)


def span(start: float, end: float, day: date = DAY) -> Interval:
    return Interval(at(start, day), at(end, day))


def states(plan) -> list[tuple[str, str, str]]:
    return [
        (s.state, s.interval.starts_at.astimezone(BERLIN).strftime("%H:%M"), s.interval.ends_at.astimezone(BERLIN).strftime("%H:%M"))
        for s in plan.segments
    ]


def one_day(**options):
    defaults = dict(timezone="Europe/Berlin", capacity=1, holdings=[], now=BEFORE)
    defaults.update(options)
    [plan] = plan_days([DAY], **defaults)
    return plan


def test_an_empty_day_is_free_all_day():
    plan = one_day()
    assert plan.state == "free" and not plan.partly_used
    assert states(plan) == [("free", "00:00", "00:00")]
    assert plan.free_time == timedelta(hours=24)


def test_bookings_split_the_day_in_opening_hours():
    hours = {"tue": [["08:00", "22:00"]]}
    plan = one_day(
        holdings=[Holding(span(10, 12), 1), Holding(span(18, 20), 1, "requested")],
        open_time=open_intervals(hours, "Europe/Berlin", day_window(DAY, BERLIN)),
    )
    assert states(plan) == [
        ("free", "08:00", "10:00"), ("taken", "10:00", "12:00"), ("free", "12:00", "18:00"),
        ("tentative", "18:00", "20:00"), ("free", "20:00", "22:00"),
    ]
    assert plan.state == "free" and plan.partly_used and plan.free_time == timedelta(hours=10)
    assert plan.first_free.interval == span(8, 10)


def test_full_days_are_taken_or_tentative_and_closed_days_closed():
    taken = one_day(holdings=[Holding(Interval(at(-2), at(26)), 1)])
    assert taken.state == "taken" and taken.free_time == timedelta(0)
    tentative = one_day(holdings=[Holding(Interval(at(-2), at(26)), 1, "requested")])
    assert tentative.state == "tentative"
    closed_day = one_day(open_time=[])  # open on no day
    assert closed_day.state == "closed" and closed_day.segments == ()
    blackout = one_day(closures=[Interval(at(-5), at(30))])
    assert blackout.state == "closed" and states(blackout) == [("closed", "00:00", "00:00")]


def test_pooled_units_and_tentative_only_when_requested_fill_the_pool():
    holdings = [Holding(span(9, 12), 6), Holding(span(10, 11), 4, "requested")]
    plan = one_day(capacity=10, holdings=holdings)
    assert states(plan) == [("free", "00:00", "10:00"), ("tentative", "10:00", "11:00"), ("free", "11:00", "00:00")]
    assert plan.fewest_free_units == 4
    confirmed = one_day(capacity=10, holdings=[Holding(span(9, 12), 6), Holding(span(10, 11), 4)])
    assert ("taken", "10:00", "11:00") in states(confirmed)


def test_buffers_widen_what_a_booking_blocks_and_short_gaps_are_not_offered():
    plan = one_day(
        holdings=[Holding(span(10, 12), 1), Holding(span(13, 15), 1)],
        buffers=Buffers(before=timedelta(minutes=15), after=timedelta(minutes=15)),
        min_free=timedelta(minutes=60),
    )
    # Blocked 09:30–12:30 and 12:30–15:30 (before+after on both sides): no gap left between.
    assert states(plan) == [("free", "00:00", "09:30"), ("taken", "09:30", "15:30"), ("free", "15:30", "00:00")]
    gap = one_day(holdings=[Holding(span(10, 12), 1), Holding(span(12.5, 15), 1)], min_free=timedelta(minutes=45))
    assert [s for s in states(gap) if s[0] == "free"] == [("free", "00:00", "10:00"), ("free", "15:00", "00:00")]


def test_taken_time_is_shown_as_booked_not_widened_by_the_buffers():
    buffers = Buffers(before=timedelta(minutes=15))
    plan = one_day(holdings=[Holding(span(18, 20), 1)], buffers=buffers, booked_times=True)
    # Free until a new booking must end (17:45), taken as booked, free again from 20:15.
    assert states(plan) == [("free", "00:00", "17:45"), ("taken", "18:00", "20:00"), ("free", "20:15", "00:00")]
    # At the edge of the day (nothing known beyond it) the stretch is not moved.
    edge = one_day(holdings=[Holding(span(0, 2), 1)], buffers=buffers, booked_times=True)
    assert states(edge) == [("taken", "00:00", "02:00"), ("free", "02:15", "00:00")]
    assert states(one_day(holdings=[Holding(span(18, 20), 1)], buffers=buffers))[1] == ("taken", "17:45", "20:15")


def test_the_past_is_not_offered():
    plans = plan_days([DAY - timedelta(days=1), DAY], timezone="Europe/Berlin", capacity=1, holdings=[], now=at(14))
    assert plans[0].state == "past" and plans[0].segments == ()
    assert states(plans[1]) == [("free", "14:00", "00:00")]


def test_dst_days_have_23_and_25_hours():
    assert day_window(date(2026, 3, 29), BERLIN).duration == timedelta(hours=23)
    assert day_window(date(2026, 10, 25), BERLIN).duration == timedelta(hours=25)
    spring, autumn = plan_days([date(2026, 3, 29), date(2026, 10, 25)], timezone="Europe/Berlin", capacity=1, holdings=[], now=BEFORE)
    assert (spring.free_time, autumn.free_time) == (timedelta(hours=23), timedelta(hours=25))


def test_many_days_from_one_sorted_sweep():
    days = [DAY + timedelta(days=offset) for offset in range(31)]
    holdings = [Holding(span(9, 11, day), 1) for day in days[::2]]
    plans = plan_days(days, timezone="Europe/Berlin", capacity=1, holdings=holdings, now=BEFORE)
    assert [p.partly_used for p in plans] == [offset % 2 == 0 for offset in range(31)]
    assert all(p.state == "free" for p in plans)


# --- property: segments against a brute-force minute grid -----------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

QUARTERS = st.integers(min_value=-8, max_value=24 * 4 + 8)  # quarter hours around the day


@st.composite
def scenarios(draw):  # type: ignore[no-untyped-def]
    capacity = draw(st.integers(1, 3))
    holdings = []
    for _ in range(draw(st.integers(0, 6))):
        start = draw(QUARTERS)
        length = draw(st.integers(1, 40))
        holdings.append(Holding(span(start / 4, (start + length) / 4), draw(st.integers(1, capacity)), draw(st.sampled_from(["confirmed", "requested"]))))
    opening = draw(st.one_of(st.none(), st.tuples(st.integers(0, 40), st.integers(41, 96))))
    closures = [span(a / 4, (a + draw(st.integers(1, 20))) / 4) for a in draw(st.lists(QUARTERS, max_size=2))]
    buffer = draw(st.sampled_from([0, 15]))
    return capacity, holdings, opening, closures, buffer


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_segments_match_a_minute_by_minute_reading(scenario):  # type: ignore[no-untyped-def]
    capacity, holdings, opening, closures, buffer = scenario
    buffers = Buffers(before=timedelta(minutes=buffer), after=timedelta(minutes=0))
    open_time = None if opening is None else [span(opening[0] / 4, opening[1] / 4)]
    [plan] = plan_days(
        [DAY], timezone="Europe/Berlin", capacity=capacity, holdings=holdings, buffers=buffers,
        open_time=open_time, closures=closures, now=BEFORE, min_free=timedelta(0),
    )
    margin = timedelta(minutes=buffer)

    def expected(moment: datetime) -> str | None:
        if open_time is not None and not (open_time[0].starts_at <= moment < open_time[0].ends_at):
            return None
        if not (at(0) <= moment < at(24)):
            return None
        if any(c.starts_at <= moment < c.ends_at for c in closures):
            return "closed"
        held = [h for h in holdings if h.interval.starts_at - margin <= moment < h.interval.ends_at + margin]
        used = sum(h.quantity for h in held)
        firm = sum(h.quantity for h in held if h.status != "requested")
        if used < capacity:
            return "free"
        return "tentative" if firm < capacity else "taken"

    def shown(moment: datetime) -> str | None:
        for segment in plan.segments:
            if segment.starts_at <= moment < segment.ends_at:
                return segment.state
        return None

    for minute in range(0, 24 * 60, 5):
        moment = at(minute / 60)
        assert shown(moment) == expected(moment), (moment.astimezone(BERLIN), plan.segments)
    # Neighbours never share a state (merged), and nothing overlaps.
    for first, second in zip(plan.segments, plan.segments[1:]):
        assert first.end <= second.start
        assert not (first.state == second.state and first.end == second.start)
