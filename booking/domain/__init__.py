"""Pure booking rules: no I/O, no ORM sessions, no clock (callers pass ``now``)."""
