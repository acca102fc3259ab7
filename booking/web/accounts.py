"""Account pages: register, confirm the address, log in (password or e-mail link), log out,
forgotten password, profile, and the language switch.

Thin: parse the form, call one function of ``services.registration``, render or redirect.
Logging in always starts a fresh session (``start_session`` clears the old one first), so a
session cookie planted before the login is worth nothing afterwards (no session fixation).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from booking.api.auth import TokenId, end_session, start_session
from booking.auth.guards import public
from booking.domain.errors import DomainError, InvalidInput
from booking.i18n import LANGUAGES
from booking.services import credentials, registration
from booking.services.context import AppContext
from booking.auth import ratelimit
from booking.web.base import (
    FLASH_SESSION_KEY,
    LANGUAGE_SESSION_KEY,
    FormErrors,
    flash,
    form_value,
    page_language,
    page_login,
    redirect,
    render_page,
    safe_next,
)
from booking.web.texts import error_fields, gettext, ngettext, translate_message

Ctx = NamedDependency[AppContext]
LANGUAGE_NAMES = (("de", "Deutsch"), ("en", "English"))


def _limit(request: Request, app: AppContext) -> int:
    return max(1, app.settings.login_rate_limit_per_minute)


def _too_many(request: Request, template: str, context: dict[str, Any], wait: int) -> Response:
    errors = FormErrors(general=gettext(request, "Too many attempts. Please wait %(seconds)s seconds and try again.", seconds=wait))
    response = render_page(request, template, {**context, "errors": errors}, status_code=429)
    response.headers["Retry-After"] = str(wait)
    return response


REGISTRATION_PROOF_KEY = "registration_proof"


async def _log_in(request: Request, app_context: AppContext, user_id: int, user_language: str) -> None:
    """A new server-side session for the user; a language picked before logging in stays."""
    chosen = request.session.get(LANGUAGE_SESSION_KEY) if isinstance(request.session, dict) else None
    await start_session(request, app_context, user_id, chosen if chosen in LANGUAGES else user_language)


# --------------------------------------------------------------------------- login / logout


@get("/login", guards=[public], name="login")
async def login_form(request: Request) -> Response:
    if request.user is not None:
        return redirect(safe_next(request.query_params.get("next")))
    context = {"form": {"email": request.query_params.get("email", "")}, "errors": FormErrors(),
               "next": safe_next(request.query_params.get("next"), "")}
    return render_page(request, "accounts/login.html", context)


@post("/login", guards=[public])
async def login(request: Request, app_context: Ctx) -> Response:
    form = await request.form()
    email, password = form_value(form, "email"), str(form.get("password") or "")
    target = safe_next(form_value(form, "next"), "")
    context: dict[str, Any] = {"form": {"email": email}, "next": target}
    wait = ratelimit.check(request, "login", email, _limit(request, app_context))
    if wait:
        return _too_many(request, "accounts/login.html", context, wait)
    errors = FormErrors()
    if not email:
        errors["email"] = gettext(request, "please enter your e-mail address")
    if not password:
        errors["password"] = gettext(request, "please enter your password")
    if errors:
        return render_page(request, "accounts/login.html", {**context, "errors": errors}, status_code=400)
    try:
        user = await registration.password_login(app_context, email, password)
    except registration.LoginRefused as refused:
        context["unverified"] = refused.reason == "unverified"
        return render_page(request, "accounts/login.html", {**context, "errors": error_fields(request, refused)}, status_code=400)
    await _log_in(request, app_context, user.id, user.language)  # type: ignore[arg-type]
    flash(request, "success", gettext(request, "You are logged in."))
    return redirect(target or "/")


@post("/logout", guards=[public])
async def logout(request: Request, app_context: Ctx) -> Response:
    language = page_language(request)
    await end_session(request, app_context)  # a copy of the cookie is refused from now on
    # A new, anonymous session that only keeps the language and says goodbye.
    request.set_session({LANGUAGE_SESSION_KEY: language, FLASH_SESSION_KEY: [["success", gettext(request, "You are logged out.")]]})
    return redirect("/")


# --------------------------------------------------------------------------- registration


@get("/register", guards=[public])
async def register_form(request: Request) -> Response:
    return render_page(request, "accounts/register.html", {"form": {}, "errors": FormErrors()})


@post("/register", guards=[public])
async def register(request: Request, app_context: Ctx) -> Response:
    form = await request.form()
    values = {"email": form_value(form, "email"), "display_name": form_value(form, "display_name"),
              "new_organisation": form_value(form, "new_organisation")}
    password, repeated = str(form.get("password") or ""), str(form.get("password_repeat") or "")
    wait = ratelimit.check(request, "register", values["email"], _limit(request, app_context))
    if wait:
        return _too_many(request, "accounts/register.html", {"form": values}, wait)
    if password != repeated:
        errors = FormErrors(password_repeat=gettext(request, "the two passwords are not the same"))
        return render_page(request, "accounts/register.html", {"form": values, "errors": errors}, status_code=400)
    try:
        proof = await registration.register(
            app_context, email=values["email"], display_name=values["display_name"], password=password,
            language=page_language(request), new_organisation=values["new_organisation"],
        )
    except DomainError as error:
        errors = error_fields(request, error, "email", known=("email", "display_name", "password", "new_organisation"))
        return render_page(request, "accounts/register.html", {"form": values, "errors": errors}, status_code=error.status_code)
    request.session["registered_email"] = values["email"]
    # Only this browser may keep the password when confirming (see registration.verify_email).
    request.session[REGISTRATION_PROOF_KEY] = proof
    return redirect("/register/sent")


@get("/register/sent", guards=[public])
async def register_sent(request: Request) -> Response:
    email = request.session.get("registered_email", "") if isinstance(request.session, dict) else ""
    return render_page(request, "accounts/message.html", {
        "title": gettext(request, "Please check your e-mail"),
        "text": gettext(request, "We have sent a link to %(email)s. Open it to confirm your address; then you can log in.", email=email or "…"),
        "links": [("/verify/resend" + ("?" + urlencode({"email": email}) if email else ""), gettext(request, "No e-mail? Send the link again"))],
    })


def _bad_verify_link(request: Request, error: DomainError) -> Response:
    return render_page(request, "accounts/message.html", {
        "title": gettext(request, "This link does not work"),
        "text": translate_message(request, error.message),
        "level": "danger",
        "links": [("/verify/resend", gettext(request, "Send a new confirmation link"))],
    }, status_code=400)


@get("/verify/{token:str}", guards=[public])
async def verify_page(request: Request, app_context: Ctx, token: FromPath[str]) -> Response:
    # Opening the link changes nothing (mail scanners open links too): the button does.
    try:
        user = await registration.check_verify_link(app_context, token)
    except DomainError as error:
        return _bad_verify_link(request, error)
    if user.email_verified_at is not None:
        return redirect("/login?" + urlencode({"email": user.email}))
    return render_page(request, "accounts/confirm_link.html", {
        "email": user.email, "action": f"/verify/{token}", "title": gettext(request, "Confirm your e-mail address"),
        "question": gettext(request, "Confirm the address %(email)s for your account?", email=user.email),
        "button": gettext(request, "Confirm the address"),
    })


@post("/verify/{token:str}", guards=[public])
async def verify(request: Request, app_context: Ctx, token: FromPath[str]) -> Response:
    session = request.session if isinstance(request.session, dict) else {}
    proof = session.get(REGISTRATION_PROOF_KEY)
    try:
        verified = await registration.verify_email(app_context, token, proof if isinstance(proof, str) else None)
    except DomainError as error:
        return _bad_verify_link(request, error)
    session.pop(REGISTRATION_PROOF_KEY, None)
    if verified.set_password_token is not None:
        # Confirmed in another browser than the one that registered: the password given at
        # registration may be someone else's, so the owner chooses it now.
        flash(request, "success", gettext(request, "Thank you: your e-mail address is confirmed. Please choose your password now."))
        return redirect(f"/password/reset/{verified.set_password_token}")
    flash(request, "success", gettext(request, "Thank you: your e-mail address is confirmed. You can log in now."))
    return redirect("/login?" + urlencode({"email": verified.user.email}))


@get("/verify/resend", guards=[public])
async def resend_form(request: Request) -> Response:
    return render_page(request, "accounts/email_only.html", _email_page(request, "resend", request.query_params.get("email", "")))


@post("/verify/resend", guards=[public])
async def resend(request: Request, app_context: Ctx) -> Response:
    return await _email_request(request, app_context, "resend", registration.resend_verification)


# --------------------------------------------------------------------------- login by e-mail


@get("/login/link", guards=[public])
async def login_link_form(request: Request) -> Response:
    return render_page(request, "accounts/email_only.html", _email_page(request, "login_link", request.query_params.get("email", "")))


@post("/login/link", guards=[public])
async def login_link_request(request: Request, app_context: Ctx) -> Response:
    return await _email_request(request, app_context, "login_link", registration.request_login_link)


@get("/login/link/{token:str}", guards=[public])
async def login_link_page(request: Request, app_context: Ctx, token: FromPath[str]) -> Response:
    # Opening the link does not log in: mail scanners open links too. The button does.
    try:
        user = await registration.check_login_link(app_context, token)
    except DomainError as error:
        return _bad_link(request, error, "/login/link")
    return render_page(request, "accounts/confirm_link.html", {"email": user.email, "action": f"/login/link/{token}"})


@post("/login/link/{token:str}", guards=[public])
async def login_with_link(request: Request, app_context: Ctx, token: FromPath[str]) -> Response:
    try:
        user = await registration.login_with_link(app_context, token)
    except DomainError as error:
        return _bad_link(request, error, "/login/link")
    await _log_in(request, app_context, user.id, user.language)  # type: ignore[arg-type]
    flash(request, "success", gettext(request, "You are logged in."))
    return redirect("/")


# --------------------------------------------------------------------------- password reset


@get("/password/forgot", guards=[public])
async def forgot_form(request: Request) -> Response:
    return render_page(request, "accounts/email_only.html", _email_page(request, "reset", request.query_params.get("email", "")))


@post("/password/forgot", guards=[public])
async def forgot(request: Request, app_context: Ctx) -> Response:
    return await _email_request(request, app_context, "reset", registration.request_password_reset)


@get("/password/reset/{token:str}", guards=[public])
async def reset_form(request: Request, app_context: Ctx, token: FromPath[str]) -> Response:
    try:
        user = await registration.check_reset_token(app_context, token)
    except DomainError as error:
        return _bad_link(request, error, "/password/forgot")
    return render_page(request, "accounts/reset.html", {"email": user.email, "action": f"/password/reset/{token}", "errors": FormErrors()})


@post("/password/reset/{token:str}", guards=[public])
async def reset(request: Request, app_context: Ctx, token: FromPath[str]) -> Response:
    form = await request.form()
    password, repeated = str(form.get("password") or ""), str(form.get("password_repeat") or "")
    context: dict[str, Any] = {"action": f"/password/reset/{token}", "email": ""}
    if password != repeated:
        errors = FormErrors(password_repeat=gettext(request, "the two passwords are not the same"))
        return render_page(request, "accounts/reset.html", {**context, "errors": errors}, status_code=400)
    try:
        user = await registration.reset_password(app_context, token, password)
    except registration.TokenInvalid as error:
        return _bad_link(request, error, "/password/forgot")
    except DomainError as error:
        errors = error_fields(request, error, "password", known=("password",))
        return render_page(request, "accounts/reset.html", {**context, "errors": errors}, status_code=error.status_code)
    await _log_in(request, app_context, user.id, user.language)  # type: ignore[arg-type]
    flash(request, "success", gettext(request, "Your new password is set. Other sessions of your account have ended."))
    return redirect("/")


# --------------------------------------------------------------------------- profile


NEW_TOKEN_SESSION_KEY = "new_api_token"
TOKEN_LIFETIMES = (("30", "30"), ("90", "90"), ("365", "365"), ("", ""))


def _token_lifetime_options(request: Request) -> list[tuple[str, str]]:
    return [(value, ngettext(request, "%(days)s day", "%(days)s days", int(days), days=days) if days else gettext(request, "no expiry"))
            for value, days in TOKEN_LIFETIMES]


async def _profile_page(
    request: Request, app_context: AppContext, form: dict[str, str] | None = None, *, errors: FormErrors | None = None,
    password_errors: FormErrors | None = None, token_errors: FormErrors | None = None, token_form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    user = await registration.get_user(app_context, request.user.user_id)
    session = request.session if isinstance(request.session, dict) else {}
    return render_page(request, "accounts/profile.html", {
        "email": user.email, "has_password": user.password_hash is not None,
        "form": form or {"display_name": user.display_name, "language": user.language, "phone": user.phone},
        "errors": errors or FormErrors(), "password_errors": password_errors or FormErrors(),
        "token_errors": token_errors or FormErrors(), "token_form": token_form or {"name": "", "expires_days": "90"},
        "tokens": await credentials.list_api_tokens(app_context, request.user),
        # A new token is shown once, on the page right after it was made.
        "new_token": session.pop(NEW_TOKEN_SESSION_KEY, None) if status_code == 200 else None,
        "token_lifetimes": _token_lifetime_options(request),
        "language_options": LANGUAGE_NAMES, "active_nav": "profile", "next_url": "/profile",
    }, status_code=status_code)


@get("/profile", guards=[page_login])
async def profile(request: Request, app_context: Ctx) -> Response:
    return await _profile_page(request, app_context)


@post("/profile", guards=[page_login])
async def profile_save(request: Request, app_context: Ctx) -> Response:
    form = await request.form()
    values = {"display_name": form_value(form, "display_name"), "language": form_value(form, "language"),
              "phone": form_value(form, "phone")}
    try:
        user = await registration.update_profile(
            app_context, request.user, display_name=values["display_name"], language=values["language"], phone=values["phone"],
        )
    except DomainError as error:
        errors = error_fields(request, error, "display_name", known=("display_name", "language", "phone"))
        return await _profile_page(request, app_context, values, errors=errors, status_code=error.status_code)
    request.session[LANGUAGE_SESSION_KEY] = user.language
    # The flash is worded in the language just chosen.
    request.scope.setdefault("state", {})["language"] = user.language
    flash(request, "success", gettext(request, "Your profile is saved."))
    return redirect("/profile")


@post("/profile/password", guards=[page_login])
async def profile_password(request: Request, app_context: Ctx) -> Response:
    form = await request.form()
    current, new, repeated = (str(form.get(name) or "") for name in ("current_password", "new_password", "new_password_repeat"))
    if new != repeated:
        errors = FormErrors(new_password_repeat=gettext(request, "the two passwords are not the same"))
        return await _profile_page(request, app_context, password_errors=errors, status_code=400)
    try:
        user = await registration.change_password(app_context, request.user, current, new)
    except DomainError as error:
        errors = error_fields(request, error, "new_password", known=("current_password", "new_password"))
        return await _profile_page(request, app_context, password_errors=errors, status_code=error.status_code)
    # Every session and token of the account ended; this browser goes on in a new session.
    await _log_in(request, app_context, user.id, user.language)  # type: ignore[arg-type]
    flash(request, "success", gettext(request, "Your password is changed. Your other sessions and your API tokens have ended."))
    return redirect("/profile")


@post("/profile/tokens", guards=[page_login])
async def profile_token_create(request: Request, app_context: Ctx) -> Response:
    form = await request.form()
    values = {"name": form_value(form, "name"), "expires_days": form_value(form, "expires_days")}
    try:
        if values["expires_days"] not in {value for value, _ in TOKEN_LIFETIMES}:
            raise InvalidInput("please choose a lifetime from the list", field="expires_days")
        expires_at = app_context.now() + timedelta(days=int(values["expires_days"])) if values["expires_days"] else None
        credentials.require_session(request.scope.get("auth"))
        token, _ = await credentials.issue_api_token(app_context, request.user.user_id, values["name"], expires_at)
    except DomainError as error:
        errors = error_fields(request, error, "name", known=("name", "expires_days"))
        return await _profile_page(request, app_context, token_errors=errors, token_form=values, status_code=error.status_code)
    request.session[NEW_TOKEN_SESSION_KEY] = token
    flash(request, "success", gettext(request, "Your new API token is made. Copy it now: it is shown only once."))
    return redirect("/profile#tokens")


@post("/profile/tokens/{token_id:int}/revoke", guards=[page_login])
async def profile_token_revoke(request: Request, app_context: Ctx, token_id: TokenId) -> Response:
    await credentials.revoke_api_token(app_context, request.user, token_id)
    flash(request, "success", gettext(request, "The token is revoked."))
    return redirect("/profile#tokens")


# --------------------------------------------------------------------------- language


@post("/language", guards=[public])
async def language(request: Request, app_context: Ctx) -> Response:
    form = await request.form()
    chosen = form_value(form, "lang")
    target = safe_next(form_value(form, "next"), "/")
    if chosen not in LANGUAGES:
        return redirect(target)
    session = request.session if isinstance(request.session, dict) else {}
    request.set_session({**session, LANGUAGE_SESSION_KEY: chosen})
    if request.user is not None:
        await registration.set_language(app_context, request.user.user_id, chosen)
    return redirect(target)


# --------------------------------------------------------------------------- shared pieces


_EMAIL_PAGES = {
    "resend": ("Send the confirmation link again", "We send a new link to confirm your e-mail address.", "/verify/resend", "Send link"),
    "login_link": ("Log in with an e-mail link", "We send you a link that logs you in once, without a password.", "/login/link", "Send login link"),
    "reset": ("Forgot your password?", "We send you a link to set a new password.", "/password/forgot", "Send link"),
}


def _email_page(request: Request, kind: str, email: str, errors: FormErrors | None = None) -> dict[str, Any]:
    title, text, action, button = _EMAIL_PAGES[kind]
    return {"title": gettext(request, title), "intro": gettext(request, text), "action": action,
            "button": gettext(request, button), "form": {"email": email}, "errors": errors or FormErrors()}


async def _email_request(request: Request, app_context: AppContext, kind: str, service: Any) -> Response:
    form = await request.form()
    email = form_value(form, "email")
    wait = ratelimit.check(request, "mail_link", email, _limit(request, app_context))
    if wait:
        return _too_many(request, "accounts/email_only.html", _email_page(request, kind, email), wait)
    try:
        await service(app_context, email, page_language(request))
    except DomainError as error:
        page = _email_page(request, kind, email, error_fields(request, error, "email", known=("email",)))
        return render_page(request, "accounts/email_only.html", page, status_code=error.status_code)
    # The same answer whether or not the address has an account.
    flash(request, "info", gettext(request, "If an account with %(email)s exists, we have sent the e-mail. Please check your inbox.", email=email))
    return redirect("/login")


def _bad_link(request: Request, error: DomainError, again: str) -> Response:
    return render_page(request, "accounts/message.html", {
        "title": gettext(request, "This link does not work"),
        "text": error_fields(request, error)["general"],
        "level": "danger",
        "links": [(again, gettext(request, "Ask for a new link"))],
    }, status_code=400)


ROUTES = [
    login_form, login, logout, register_form, register, register_sent, resend_form, resend, verify_page, verify,
    login_link_form, login_link_request, login_link_page, login_with_link, forgot_form, forgot, reset_form, reset,
    profile, profile_save, profile_password, profile_token_create, profile_token_revoke, language,
]
