"""The legal pages (Impressum, Datenschutz, Barrierefreiheit) and the accessibility feedback form.

The texts come from the operator's content folder (``services.legal_pages``); the feedback form
works without an account, carries CSRF like every form, and is rate-limited per client because
every message sends an e-mail.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency

from booking.auth.guards import public
from booking.auth.ratelimit import client_address
from booking.domain.errors import DomainError
from booking.services import feedback, legal_pages
from booking.services.context import AppContext
from booking.web.base import FormErrors, flash, form_value, hourly_limiter, page_language, redirect, render_page, safe_next
from booking.web.texts import error_fields, gettext

Ctx = NamedDependency[AppContext]
FEEDBACK_LIMITER_KEY = "feedback_rate_limiter"


def _legal_page(request: Request, app: AppContext, name: str) -> Response:
    page = legal_pages.load_page(app.settings, name, page_language(request))
    return render_page(request, "legal/page.html", {"page": page, "active_nav": name})


@get("/imprint", guards=[public], name="legal:imprint")
async def imprint(request: Request, app_context: Ctx) -> Response:
    return _legal_page(request, app_context, "imprint")


@get("/privacy", guards=[public], name="legal:privacy")
async def privacy(request: Request, app_context: Ctx) -> Response:
    return _legal_page(request, app_context, "privacy")


@get("/accessibility", guards=[public], name="legal:accessibility")
async def accessibility(request: Request, app_context: Ctx) -> Response:
    return _legal_page(request, app_context, "accessibility")


@get(["/sicherheit", "/security"], guards=[public], name="legal:security")
async def security_policy(request: Request, app_context: Ctx) -> Response:
    """The security policy that /.well-known/security.txt names as its ``Policy``."""
    page = legal_pages.security_policy_page(app_context.settings, page_language(request))
    return render_page(request, "legal/page.html", {"page": page, "active_nav": "security"})


SECURITY_TXT_VALID_DAYS = 365


@get("/.well-known/security.txt", guards=[public], name="legal:security_txt")
async def security_txt(request: Request, app_context: Ctx) -> Response:
    """RFC 9116: where to report a vulnerability of this installation (the operator's contact)."""
    text = legal_pages.security_txt(app_context.settings, now=app_context.clock(), valid_days=SECURITY_TXT_VALID_DAYS)
    return Response(text, media_type="text/plain; charset=utf-8", headers={"Cache-Control": "max-age=86400"})


def _feedback_page(request: Request, form: dict[str, str], errors: FormErrors | None = None, status_code: int = 200) -> Response:
    return render_page(request, "legal/feedback.html", {"form": form, "errors": errors or FormErrors()}, status_code=status_code)


@get("/accessibility/feedback", guards=[public], name="legal:feedback")
async def feedback_form(request: Request) -> Response:
    page_url = safe_next(request.query_params.get("page"), "")
    return _feedback_page(request, {"page_url": page_url})


@post("/accessibility/feedback", guards=[public], name="legal:feedback-send")
async def feedback_send(request: Request, app_context: Ctx) -> Response:
    form = await request.form()
    values = {name: form_value(form, name) for name in ("name", "email", "message", "page_url")}
    values["message"] = str(form.get("message") or "").strip()
    wait = hourly_limiter(request, FEEDBACK_LIMITER_KEY).hit(f"feedback|{client_address(request)}", max(1, app_context.settings.privacy.feedback_per_hour))
    if wait:
        errors = FormErrors(general=gettext(request, "Too many messages. Please wait %(seconds)s seconds and try again.", seconds=wait))
        response = _feedback_page(request, values, errors, status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        await feedback.send_accessibility_feedback(
            app_context, message=values["message"], name=values["name"], email=values["email"],
            page_url=values["page_url"], language=page_language(request),
        )
    except DomainError as error:
        errors = error_fields(request, error, "message", known=("name", "email", "message"))
        return _feedback_page(request, values, errors, status_code=error.status_code)
    flash(request, "success", gettext(request, "Thank you: your message has been sent. We will answer you if you gave your e-mail address."))
    return redirect("/accessibility")


ROUTES: list[Any] = [imprint, privacy, accessibility, feedback_form, feedback_send, security_policy, security_txt]
