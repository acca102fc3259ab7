"""Hourly limits on organisers' actions that mail many people, one count per person whether
the action comes through a page or the JSON API (both call these functions).

Each returns the seconds ``request.user`` must wait before the next such action (0: go ahead,
and this one is counted). Counts live in the process like every limiter of ``auth.ratelimit``.
"""

from __future__ import annotations

from litestar import Request

from booking.auth.ratelimit import hourly_limiter

# Moves, removals and place changes of an offer's dates: each may mail every participant.
OFFER_DATE_CHANGES_PER_HOUR = 30
OFFER_DATES_LIMITER_KEY = "offer_dates_rate_limiter"
# Cancelled offers: each mails every participant and everyone waiting.
OFFER_CANCELS_PER_HOUR = 10
OFFER_LIMITER_KEY = "offer_rate_limiter"
# People taken off a waiting list (by lenders or organisers): each gets a mail.
WAITING_LIST_REMOVALS_PER_HOUR = 30
WAITING_LIST_LIMITER_KEY = "waiting_list_rate_limiter"


def offer_date_change_wait(request: Request) -> int:
    """Before a move, a removal of a date or a change of places."""
    return hourly_limiter(request, OFFER_DATES_LIMITER_KEY).hit(
        f"offer-dates|{request.user.user_id}", OFFER_DATE_CHANGES_PER_HOUR)


def offer_cancel_wait(request: Request) -> int:
    """Before cancelling an offer."""
    return hourly_limiter(request, OFFER_LIMITER_KEY).hit(f"offer-cancel|{request.user.user_id}", OFFER_CANCELS_PER_HOUR)


def waiting_list_removal_wait(request: Request) -> int:
    """Before taking someone off a waiting list."""
    return hourly_limiter(request, WAITING_LIST_LIMITER_KEY).hit(
        f"waiting-list-removal|{request.user.user_id}", WAITING_LIST_REMOVALS_PER_HOUR)
