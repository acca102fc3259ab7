"""The waiting list's pure rules: who is offered freed capacity, in which order; moving in line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from booking.domain.availability import Buffers, Holding
from booking.domain.intervals import Interval
from booking.domain.waiting_list import Waiting, choose_offers, swapped_positions

NOW = datetime(2031, 3, 5, 10, 0, tzinfo=UTC)
EVENING = Interval(NOW + timedelta(days=6, hours=7), NOW + timedelta(days=6, hours=9))


def test_pooled_units_go_to_who_fits_in_line_order() -> None:
    # 10 units, 8 still held: 2 free. The first in line wants 3 (keeps its place), then 1, then 2.
    held = [Holding(EVENING, 8)]
    line = [Waiting(1, EVENING, 3, 1), Waiting(2, EVENING, 1, 2), Waiting(3, EVENING, 2, 3)]
    chosen = choose_offers(line, held, capacity=10, buffers=Buffers(), now=NOW)
    assert [w.entry_id for w in chosen] == [2]  # after the one unit, one is left: 2 do not fit


def test_position_orders_before_id_and_started_slots_are_skipped() -> None:
    line = [Waiting(5, EVENING, 1, 2), Waiting(9, EVENING, 1, 1)]
    assert [w.entry_id for w in choose_offers(line, [], capacity=1, buffers=Buffers(), now=NOW)] == [9]
    assert choose_offers(line, [], capacity=1, buffers=Buffers(), now=EVENING.starts_at) == []


def test_buffers_and_blackouts_are_respected() -> None:
    before = Holding(Interval(EVENING.starts_at - timedelta(hours=2), EVENING.starts_at), 1)
    line = [Waiting(1, EVENING, 1, 1)]
    assert choose_offers(line, [before], capacity=1, buffers=Buffers(), now=NOW)
    assert not choose_offers(line, [before], capacity=1, buffers=Buffers(after=timedelta(minutes=30)), now=NOW)
    assert not choose_offers(line, [], capacity=1, buffers=Buffers(), blackouts=[EVENING], now=NOW)


def test_moving_in_line() -> None:
    assert swapped_positions([1, 2, 3], 2, "up") == [2, 1, 3]
    assert swapped_positions([1, 2, 3], 2, "down") == [1, 3, 2]
    assert swapped_positions([1, 2, 3], 1, "up") is None
    assert swapped_positions([1, 2, 3], 3, "down") is None
    assert swapped_positions([1, 2, 3], 4, "up") is None
