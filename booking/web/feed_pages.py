"""Calendar addresses (feeds) on pages: one feed's address (shown again whenever its owner
asks, see services/feeds.py for why that is safe), renewing it, and public subscriptions of a
resource or a site from the resource page.

  GET  /bookings/feeds/{feed_id}         the address, a copy button, webcal link, how to subscribe
  POST /bookings/feeds/{feed_id}/renew   a new address (the old one stops working)
  POST /resources/{resource_id}/feed     a public feed of the resource (busy times, no names)
  POST /sites/{site_id}/feed             a public feed of the site

Making a feed answers with a redirect to its page (Post/Redirect/Get): reloading shows the
same address and makes no second feed.
"""

from __future__ import annotations

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from booking.domain.errors import InvalidInput
from booking.services import feeds
from booking.services.context import AppContext
from booking.web.base import page_login, redirect, render_page

Ctx = NamedDependency[AppContext]


def feed_page_redirect(view: feeds.FeedView) -> Response:
    return redirect(f"/bookings/feeds/{view.feed.id}")


@get("/bookings/feeds/{feed_id:int}", guards=[page_login])
async def feed_page(request: Request, app_context: Ctx, feed_id: FromPath[int]) -> Response:
    try:
        view = await feeds.feed_address(app_context, request.user, feed_id)
    except InvalidInput:
        # Made before addresses could be shown again (or the secret key changed): say so.
        views = {v.feed.id: v for v in await feeds.list_feeds(app_context, request.user)}
        return render_page(request, "bookings/feed_created.html", {
            "view": views[feed_id], "url": None, "webcal": None, "active_nav": "bookings", "next_url": "/bookings",
        })
    url, webcal = feeds.feed_urls(app_context.settings.base_url, view.token or "")
    return render_page(request, "bookings/feed_created.html", {
        "view": view, "url": url, "webcal": webcal, "active_nav": "bookings", "next_url": "/bookings",
    })


@post("/bookings/feeds/{feed_id:int}/renew", guards=[page_login])
async def renew_feed(request: Request, app_context: Ctx, feed_id: FromPath[int]) -> Response:
    return feed_page_redirect(await feeds.regenerate_feed(app_context, request.user, feed_id))


@post("/resources/{resource_id:int}/feed", guards=[page_login])
async def resource_feed(request: Request, app_context: Ctx, resource_id: FromPath[int]) -> Response:
    return feed_page_redirect(await feeds.create_feed(app_context, request.user, "resource", resource_id))


@post("/sites/{site_id:int}/feed", guards=[page_login])
async def site_feed(request: Request, app_context: Ctx, site_id: FromPath[int]) -> Response:
    return feed_page_redirect(await feeds.create_feed(app_context, request.user, "site", site_id))


ROUTES = [feed_page, renew_feed, resource_feed, site_feed]
