"""The borrower's own view of lending: GET /bookings/loans ("Ausgeliehen") lists what the
person has now with its due time (overdue things first, marked in words and colour) and the
things they will pick up. Reads only; hand-out and return are the lender's (booking.web.loans).
"""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.di import NamedDependency

from booking.services import overviews
from booking.services.context import AppContext
from booking.web.base import page_login, render_page

Ctx = NamedDependency[AppContext]


@get("/bookings/loans", guards=[page_login], name="borrower:loans")
async def my_loans(request: Request, app_context: Ctx) -> Response:
    loans = await overviews.my_loans(app_context, request.user)
    return render_page(request, "bookings/loans.html", {"loans": loans, "active_nav": "loans"})


ROUTES = [my_loans]
