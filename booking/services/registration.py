"""Accounts for people: register, confirm the address, log in (password or e-mail link),
reset the password, profile and language, invitations to organisations.

Every e-mail goes through the outbox in the same transaction as the token it carries, so a
link is never mailed for a token that was not saved. Tokens are random, single-use, expire,
and only their SHA-256 is stored (``booking.auth.tokens``).

Answers never tell a stranger whether an address has an account: asking for a login link or
a password reset for an unknown address looks exactly like asking for a known one. Only a
correct password earns the "please confirm your address first" answer.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from booking.auth.passwords import hash_password, needs_rehash, password_problem, verify_password
from booking.auth.principal import Principal
from booking.auth.tokens import hash_token, new_token
from booking.domain.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from booking.i18n import LANGUAGES, normalise_language
from booking.mail.outbox import enqueue
from booking.models import EmailToken, Invitation, Membership, Organisation, User
from booking.services import credentials
from booking.services.accounts import normalise_email
from booking.services.context import AppContext

VERIFY_LIFETIME = timedelta(hours=48)
LOGIN_LINK_LIFETIME = timedelta(minutes=20)
RESET_LIFETIME = timedelta(hours=1)
INVITATION_LIFETIME = timedelta(days=14)
MAX_NAME = 200
MAX_ORGANISATION_NAME = 200
ORGANISATION_ROLES = ("member", "admin")

PURPOSE_VERIFY = "verify"
PURPOSE_LOGIN = "login"
PURPOSE_RESET = "reset"


class LoginRefused(DomainError):
    """Password login did not work. ``reason``: ``wrong`` or ``unverified``."""

    status_code = 400
    code = "login_refused"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, field="email" if reason == "unverified" else "password")
        self.reason = reason


class TokenInvalid(DomainError):
    """An e-mail link that is unknown, used or expired."""

    status_code = 400
    code = "token_invalid"


class InvitationWithdrawn(TokenInvalid):
    """An invitation its organisation's admins revoked (or replaced by a newer one): gone."""

    status_code = 410
    code = "invitation_withdrawn"


# --------------------------------------------------------------------------- helpers


def _clean_name(display_name: str) -> str:
    # A name is one line: line breaks and runs of spaces become one space; NUL and other
    # control characters are dropped (PostgreSQL refuses NUL; calendars and mail headers
    # have no place for the rest).
    name = " ".join("".join(c for c in display_name if c.isspace() or unicodedata.category(c) != "Cc").split())
    if not name:
        raise InvalidInput("please enter your name", field="display_name")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"at most {MAX_NAME} characters", field="display_name")
    return name


def _check_password(password: str, field: str = "password") -> None:
    if problem := password_problem(password):
        raise InvalidInput(problem, field=field)
    if len(password) > 1024:
        raise InvalidInput("the password is too long", field=field)


def _link(app: AppContext, path: str) -> str:
    return app.settings.base_url.rstrip("/") + path


async def _user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.exec(select(User).where(User.email == email))).first()


async def _issue_token(session: AsyncSession, app: AppContext, user: User, purpose: str, lifetime: timedelta) -> str:
    """A new single-use token for ``user``; older unused ones of the same purpose stop working."""
    now = app.now()
    earlier = await session.exec(
        select(EmailToken).where(
            EmailToken.user_id == user.id, EmailToken.purpose == purpose, col(EmailToken.used_at).is_(None)
        )
    )
    for token_row in earlier.all():
        token_row.used_at = now
        session.add(token_row)
    token, digest = new_token()
    session.add(EmailToken(user_id=user.id, purpose=purpose, token_hash=digest, expires_at=now + lifetime, created_at=now))  # type: ignore[arg-type]
    return token


async def _mail(
    session: AsyncSession, app: AppContext, kind: str, user: User, link: str, lifetime: timedelta, language: str | None = None
) -> None:
    await enqueue(
        session,
        settings=app.settings,
        kind=kind,
        recipient=user.email,
        language=language or user.language,
        context={"link_url": link, "expires_in": lifetime, "recipient_name": user.display_name or None},
        now=app.now(),
    )


async def _take_token(session: AsyncSession, app: AppContext, token: str, purpose: str, *, consume: bool = True) -> tuple[EmailToken, User]:
    row = (
        await session.exec(select(EmailToken).where(EmailToken.token_hash == hash_token(token.strip()), EmailToken.purpose == purpose))
    ).first()
    now = app.now()
    if row is None or row.used_at is not None:
        raise TokenInvalid("this link is not valid (any more); please ask for a new one")
    if row.expires_at <= now:
        raise TokenInvalid("this link has expired; please ask for a new one")
    user = await session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise TokenInvalid("this link is not valid (any more); please ask for a new one")
    if consume:
        row.used_at = now
        session.add(row)
    return row, user


# --------------------------------------------------------------------------- registration


async def register(
    app: AppContext, *, email: str, display_name: str, password: str, language: str, new_organisation: str = ""
) -> str | None:
    """Register an account and mail a link that confirms the address.

    The account cannot log in before the address is confirmed. Registering an address again
    that is not confirmed yet replaces name and password and sends a new link (the person may
    have lost the first mail). For an address that already has a confirmed account nothing
    changes and a login link is mailed instead, so the form never reveals who has an account.

    ``new_organisation``: the person registers on behalf of a new association of that name: it
    is created waiting for confirmation (it cannot book) with the person as its administrator;
    the city administrators are told once the address is confirmed (``verify_email``).

    Returns a *registration proof* (or None) for the registering browser to keep: the password
    survives the confirmation only when the link is opened with that proof (``verify_email``),
    so a password someone else chose for this address never outlives its owner's first proof.
    """
    address = normalise_email(email)
    name = _clean_name(display_name)
    _check_password(password)
    language = normalise_language(language)
    organisation_name = " ".join(new_organisation.split())
    if len(organisation_name) > MAX_ORGANISATION_NAME:
        raise InvalidInput(f"at most {MAX_ORGANISATION_NAME} characters", field="new_organisation")
    password_hash = hash_password(password, app.settings.auth.password_cost)
    async with app.database.transaction() as session:
        user = await _user_by_email(session, address)
        if user is not None and user.email_verified_at is not None:
            if user.is_active:
                token = await _issue_token(session, app, user, PURPOSE_LOGIN, LOGIN_LINK_LIFETIME)
                await _mail(session, app, "login_link", user, _link(app, f"/login/link/{token}"), LOGIN_LINK_LIFETIME, language)
            return None
        if user is None:
            user = User(email=address, display_name=name, password_hash=password_hash, language=language, created_at=app.now())
            session.add(user)
            await session.flush()
        else:
            user.display_name, user.password_hash, user.language = name, password_hash, language
            session.add(user)
        if organisation_name:
            await _new_association(session, app, user, organisation_name)
        token = await _issue_token(session, app, user, PURPOSE_VERIFY, VERIFY_LIFETIME)
        await _mail(session, app, "verify_email", user, _link(app, f"/verify/{token}"), VERIFY_LIFETIME)
        return registration_proof(token)


async def _new_association(session: AsyncSession, app: AppContext, user: User, name: str) -> Organisation:
    """A new organisation waiting for confirmation, with ``user`` as its administrator (the same
    one again when an unconfirmed registration is repeated)."""
    existing = (await session.exec(select(Organisation).where(func.lower(Organisation.name) == name.lower()))).first()
    if existing is not None:
        mine = (
            await session.exec(
                select(Membership).where(Membership.user_id == user.id, Membership.organisation_id == existing.id, Membership.role == "admin")
            )
        ).first()
        if existing.is_pending and mine is not None:
            return existing
        raise InvalidInput("an organisation of this name exists already; ask it to let you join in the directory", field="new_organisation")
    organisation = Organisation(name=name, is_pending=True, created_at=app.now())
    session.add(organisation)
    await session.flush()
    session.add(Membership(user_id=user.id, organisation_id=organisation.id, role="admin", created_at=app.now()))  # type: ignore[arg-type]
    return organisation


async def _ask_city_to_confirm(session: AsyncSession, app: AppContext, user: User) -> None:
    """Tell the city administrators about the new associations ``user`` registered (once each)."""
    pending = (
        await session.exec(
            select(Organisation)
            .join(Membership, Membership.organisation_id == Organisation.id)  # type: ignore[arg-type]
            .where(Membership.user_id == user.id, Membership.role == "admin", col(Organisation.is_pending).is_(True))
        )
    ).all()
    if not pending:
        return
    admins = (await session.exec(select(User).where(col(User.is_city_admin).is_(True), col(User.is_active).is_(True)))).all()
    for organisation in pending:
        for admin in admins:
            await enqueue(
                session, settings=app.settings, kind="organisation_to_confirm", recipient=admin.email, language=admin.language,
                context={"organisation_name": organisation.name, "requester_name": user.display_name,
                         "link_url": f"/admin/organisations/{organisation.id}", "recipient_name": admin.display_name},
                dedupe_key=f"organisation-to-confirm:{organisation.id}:{admin.id}", now=app.now(),
            )


def registration_proof(verify_token: str) -> str:
    """What the registering browser keeps to show it chose the password of ``verify_token``'s
    registration (a hash, so the cookie never carries the link itself)."""
    return hash_token("registration-proof:" + verify_token.strip())


async def _first_proof(session: AsyncSession, app: AppContext, user: User, *, keep_password: bool = False) -> bool:
    """The owner proved the address for the first time (a link mailed to it was used).

    Until now anyone could have registered it, with a password of their own: that password is
    dropped (unless the proof came from the browser that chose it) and every session and token
    made before ends. Returns whether the password was dropped.
    """
    if user.email_verified_at is not None:
        return False
    user.email_verified_at = app.now()
    dropped = not keep_password and user.password_hash is not None
    if not keep_password:
        user.password_hash = None
    user.session_epoch += 1
    session.add(user)
    await credentials.end_all(session, user.id, app.now())  # type: ignore[arg-type]
    return dropped


async def resend_verification(app: AppContext, email: str, language: str | None = None) -> None:
    """Mail a new confirmation link to an account that is not confirmed yet; silent otherwise.

    An address that is not an address at all is refused (InvalidInput, shown at the field) as
    on the login-link and password forms: that says nothing about who has an account."""
    address = normalise_email(email)
    async with app.database.transaction() as session:
        user = await _user_by_email(session, address)
        if user is None or user.email_verified_at is not None or not user.is_active:
            return
        token = await _issue_token(session, app, user, PURPOSE_VERIFY, VERIFY_LIFETIME)
        await _mail(session, app, "verify_email", user, _link(app, f"/verify/{token}"), VERIFY_LIFETIME, language)


@dataclass(frozen=True)
class Verified:
    """The outcome of a confirmation link: the account, and a link to choose a password when
    the one given at registration was dropped (``set_password_token``)."""

    user: User
    set_password_token: str | None = None


async def verify_email(app: AppContext, token: str, proof: str | None = None) -> Verified:
    """Confirm the address behind a link from ``register``; the account may log in from now on.

    The password given at registration stays only when ``proof`` (from ``register``, kept by
    the browser that registered) belongs to this link. Otherwise someone else may have chosen
    it: it is dropped and a token to choose a new one comes back (the link proved the address,
    so this is the same as a password reset). A link that was used already, for an account that
    is confirmed, still answers with the user (a mail scanner may have opened the link first).
    """
    async with app.database.transaction() as session:
        confirmed = await _confirmed_by_used_link(session, token)
        if confirmed is not None:
            return Verified(confirmed)
        _, user = await _take_token(session, app, token, PURPOSE_VERIFY)
        same_browser = proof is not None and secrets.compare_digest(proof, registration_proof(token))
        await _first_proof(session, app, user, keep_password=same_browser)
        await _ask_city_to_confirm(session, app, user)
        if user.password_hash is None:
            reset_token = await _issue_token(session, app, user, PURPOSE_RESET, RESET_LIFETIME)
            return Verified(user, reset_token)
        return Verified(user)


# --------------------------------------------------------------------------- logging in


async def password_login(app: AppContext, email: str, password: str) -> User:
    """The user behind a correct e-mail and password; raises ``LoginRefused`` otherwise.

    One Argon2 verification whatever the outcome (unknown addresses hash anyway), so the
    answer time does not tell whether an account exists. ``reason="unverified"`` only after
    the correct password. (``services.accounts.authenticate`` cannot tell that case apart.)
    """
    wrong = LoginRefused("e-mail address or password is wrong", reason="wrong")
    try:
        address = normalise_email(email)
    except InvalidInput:
        verify_password(None, password, app.settings.auth.password_cost)
        raise wrong from None
    async with app.database.reader() as session:
        user = await _user_by_email(session, address)
    if user is None:
        verify_password(None, password, app.settings.auth.password_cost)
        raise wrong
    if not verify_password(user.password_hash, password, app.settings.auth.password_cost) or not user.is_active:
        raise wrong
    if user.email_verified_at is None:
        raise LoginRefused("please confirm your e-mail address first: open the link we sent you", reason="unverified")
    if user.password_hash and needs_rehash(user.password_hash, app.settings.auth.password_cost):
        async with app.database.transaction() as session:
            fresh = await session.get(User, user.id)
            if fresh is not None:
                fresh.password_hash = hash_password(password, app.settings.auth.password_cost)
                session.add(fresh)
    return user


async def request_login_link(app: AppContext, email: str, language: str | None = None) -> None:
    """Mail a one-time login link to an active account; silent for unknown addresses."""
    await _mail_token_link(app, email, language, PURPOSE_LOGIN, LOGIN_LINK_LIFETIME, "login_link", "/login/link")


async def check_login_link(app: AppContext, token: str) -> User:
    """The user a login link belongs to, without using it up (for the confirmation page)."""
    return await _token_owner(app, token, PURPOSE_LOGIN)


async def login_with_link(app: AppContext, token: str) -> User:
    """Use up a login link. It proves the address: an unconfirmed account counts as confirmed
    from now on, and a password set before (by whoever registered the address) is dropped;
    the owner chooses one on the profile page or with "forgot your password"."""
    async with app.database.transaction() as session:
        _, user = await _take_token(session, app, token, PURPOSE_LOGIN)
        await _first_proof(session, app, user)
        return user


# --------------------------------------------------------------------------- passwords


async def _confirmed_by_used_link(session: AsyncSession, token: str) -> User | None:
    """The confirmed user of a confirmation link that was used already (a mail scanner may have
    opened it first), else None."""
    row = (
        await session.exec(
            select(EmailToken).where(EmailToken.token_hash == hash_token(token.strip()), EmailToken.purpose == PURPOSE_VERIFY)
        )
    ).first()
    if row is None or row.used_at is None:
        return None
    user = await session.get(User, row.user_id)
    return user if user is not None and user.email_verified_at is not None else None


async def check_verify_link(app: AppContext, token: str) -> User:
    """The user a confirmation link belongs to, without using it up (for the confirmation page).
    A link used already for a confirmed account still names its user."""
    async with app.database.reader() as session:
        confirmed = await _confirmed_by_used_link(session, token)
        if confirmed is not None:
            return confirmed
        _, user = await _take_token(session, app, token, PURPOSE_VERIFY, consume=False)
    return user


async def request_password_reset(app: AppContext, email: str, language: str | None = None) -> None:
    """Mail a link to set a new password; silent for unknown addresses."""
    await _mail_token_link(app, email, language, PURPOSE_RESET, RESET_LIFETIME, "password_reset", "/password/reset")


async def check_reset_token(app: AppContext, token: str) -> User:
    return await _token_owner(app, token, PURPOSE_RESET)


async def _mail_token_link(
    app: AppContext, email: str, language: str | None, purpose: str, lifetime: timedelta, kind: str, path: str
) -> None:
    """Issue a token of ``purpose`` to an active account and mail its link (``path``/token);
    nothing for an unknown or deactivated address, so the answer does not tell who has an account."""
    address = normalise_email(email)
    async with app.database.transaction() as session:
        user = await _user_by_email(session, address)
        if user is None or not user.is_active:
            return
        token = await _issue_token(session, app, user, purpose, lifetime)
        await _mail(session, app, kind, user, _link(app, f"{path}/{token}"), lifetime, language)


async def _token_owner(app: AppContext, token: str, purpose: str) -> User:
    """The user a valid token belongs to, without using it up."""
    async with app.database.reader() as session:
        _, user = await _take_token(session, app, token, purpose, consume=False)
    return user


async def reset_password(app: AppContext, token: str, new_password: str) -> User:
    """Set a new password with a reset link. Every session and API token of the account ends
    (the caller starts a new session for the person who reset it)."""
    _check_password(new_password)
    async with app.database.transaction() as session:
        _, user = await _take_token(session, app, token, PURPOSE_RESET)
        await _first_proof(session, app, user)
        user.password_hash = hash_password(new_password, app.settings.auth.password_cost)
        user.session_epoch += 1
        session.add(user)
        await credentials.end_all(session, user.id, app.now())  # type: ignore[arg-type]
        return user


async def change_password(app: AppContext, actor: Principal, current_password: str, new_password: str) -> User:
    """Change the password after checking the current one (an account without a password,
    e.g. after logging in by e-mail link, sets its first one). Every session and API token of
    the account ends; the caller starts a new session for the person who changed it."""
    async with app.database.reader() as session:
        user = await session.get(User, actor.user_id)
    if user is None:
        raise NotFound("account not found")
    if user.password_hash is not None and not verify_password(user.password_hash, current_password, app.settings.auth.password_cost):
        raise InvalidInput("the current password is wrong", field="current_password")
    _check_password(new_password, field="new_password")
    async with app.database.transaction() as session:
        user = await session.get(User, actor.user_id)
        assert user is not None
        user.password_hash = hash_password(new_password, app.settings.auth.password_cost)
        user.session_epoch += 1
        session.add(user)
        await credentials.end_all(session, user.id, app.now())  # type: ignore[arg-type]
        return user


# --------------------------------------------------------------------------- profile


async def get_user(app: AppContext, user_id: int) -> User:
    async with app.database.reader() as session:
        user = await session.get(User, user_id)
    if user is None:
        raise NotFound("account not found")
    return user


async def update_profile(
    app: AppContext, actor: Principal, *, display_name: str, language: str, phone: str | None = None
) -> User:
    """Change the name, the language (of pages and e-mails) and, when given, the optional phone
    number (shown to the lenders of the person's bookings only) of the signed-in person."""
    from booking.domain.contact import clean_phone

    name = _clean_name(display_name)
    if language not in LANGUAGES:
        raise InvalidInput("please choose a language from the list", field="language")
    cleaned_phone = clean_phone(phone) if phone is not None else None
    async with app.database.transaction() as session:
        user = await session.get(User, actor.user_id)
        if user is None:
            raise NotFound("account not found")
        user.display_name, user.language = name, language
        if cleaned_phone is not None:
            user.phone = cleaned_phone
        session.add(user)
        return user


async def set_language(app: AppContext, user_id: int, language: str) -> None:
    """Remember the chosen language on the account (pages and e-mails)."""
    if language not in LANGUAGES:
        raise InvalidInput("please choose a language from the list", field="lang")
    async with app.database.transaction() as session:
        user = await session.get(User, user_id)
        if user is not None and user.language != language:
            user.language = language
            session.add(user)


# --------------------------------------------------------------------------- invitations


@dataclass(frozen=True)
class InvitationView:
    id: int
    organisation_id: int
    organisation_name: str
    email: str
    role: str
    expires_at: datetime
    accepted_at: datetime | None
    has_account: bool


async def invite_member(
    app: AppContext, actor: Principal, organisation_id: int, *, email: str, role: str = "member", language: str | None = None
) -> Invitation:
    """An organisation admin invites someone by e-mail; the mail carries a link to join.

    The invitee may have an account or not: the link lets them register (or log in) and join.
    """
    if not actor.is_organisation_admin(organisation_id):
        raise PermissionDenied("only administrators of the organisation may invite")
    address = normalise_email(email)
    if role not in ORGANISATION_ROLES:
        raise InvalidInput("please choose a role from the list", field="role")
    now = app.now()
    async with app.database.transaction() as session:
        organisation = await session.get(Organisation, organisation_id)
        if organisation is None:
            raise NotFound(f"organisation {organisation_id} does not exist")
        invitee = await _user_by_email(session, address)
        if invitee is not None:
            already = (
                await session.exec(
                    select(Membership).where(Membership.user_id == invitee.id, Membership.organisation_id == organisation_id)
                )
            ).first()
            if already is not None:
                raise InvalidInput("this person is a member already", field="email")
        open_ones = await session.exec(
            select(Invitation).where(
                Invitation.organisation_id == organisation_id,
                Invitation.email == address,
                col(Invitation.accepted_at).is_(None),
                col(Invitation.revoked_at).is_(None),
            )
        )
        for earlier in open_ones.all():
            earlier.revoked_at = now
            session.add(earlier)
        token, digest = new_token()
        invitation = Invitation(
            organisation_id=organisation_id, email=address, role=role, token_hash=digest,
            invited_by_id=actor.user_id, expires_at=now + INVITATION_LIFETIME, created_at=now,
        )
        session.add(invitation)
        await session.flush()
        await enqueue(
            session,
            settings=app.settings,
            kind="invitation",
            recipient=address,
            language=(invitee.language if invitee is not None else language),
            context={
                "organisation_name": organisation.name,
                "link_url": _link(app, f"/invitations/{token}"),
                "expires_in": INVITATION_LIFETIME,
                "recipient_name": invitee.display_name if invitee is not None else None,
            },
            now=now,
        )
        return invitation


async def _open_invitation(session: AsyncSession, app: AppContext, token: str) -> tuple[Invitation, Organisation]:
    invitation = (await session.exec(select(Invitation).where(Invitation.token_hash == hash_token(token.strip())))).first()
    if invitation is not None and invitation.revoked_at is not None and invitation.accepted_at is None:
        raise InvitationWithdrawn("this invitation was withdrawn by the organisation; please ask them for a new one")
    if invitation is None or invitation.accepted_at is not None:
        raise TokenInvalid("this invitation is not valid (any more); please ask for a new one")
    if invitation.expires_at <= app.now():
        raise TokenInvalid("this invitation has expired; please ask for a new one")
    organisation = await session.get(Organisation, invitation.organisation_id)
    if organisation is None:
        raise TokenInvalid("this invitation is not valid (any more); please ask for a new one")
    return invitation, organisation


async def get_invitation(app: AppContext, token: str) -> InvitationView:
    async with app.database.reader() as session:
        invitation, organisation = await _open_invitation(session, app, token)
        invitee = await _user_by_email(session, invitation.email)
    return InvitationView(
        id=invitation.id, organisation_id=organisation.id, organisation_name=organisation.name,  # type: ignore[arg-type]
        email=invitation.email, role=invitation.role, expires_at=invitation.expires_at,
        accepted_at=invitation.accepted_at, has_account=invitee is not None and invitee.email_verified_at is not None,
    )


async def _join(session: AsyncSession, app: AppContext, invitation: Invitation, user: User) -> None:
    existing = (
        await session.exec(
            select(Membership).where(Membership.user_id == user.id, Membership.organisation_id == invitation.organisation_id)
        )
    ).first()
    if existing is None:
        session.add(Membership(user_id=user.id, organisation_id=invitation.organisation_id, role=invitation.role, created_at=app.now()))  # type: ignore[arg-type]
    elif invitation.role == "admin" and existing.role != "admin":
        existing.role = "admin"
        session.add(existing)
    invitation.accepted_at = app.now()
    invitation.accepted_by_id = user.id
    session.add(invitation)


async def accept_invitation(app: AppContext, actor: Principal, token: str) -> Invitation:
    """A signed-in person joins the organisation of an invitation (sent to any of their addresses:
    whoever holds the link was invited)."""
    async with app.database.transaction() as session:
        invitation, _ = await _open_invitation(session, app, token)
        user = await session.get(User, actor.user_id)
        if user is None:
            raise NotFound("account not found")
        await _join(session, app, invitation, user)
        return invitation


async def register_with_invitation(
    app: AppContext, token: str, *, display_name: str, password: str, language: str
) -> tuple[User, int]:
    """Create the invitee's account from the link and join; returns it and the organisation's id.
    The link came to that address, so it counts as confirmed; the account may log in at once."""
    name = _clean_name(display_name)
    _check_password(password)
    password_hash = hash_password(password, app.settings.auth.password_cost)
    async with app.database.transaction() as session:
        invitation, _ = await _open_invitation(session, app, token)
        user = await _user_by_email(session, invitation.email)
        if user is not None and user.email_verified_at is not None:
            raise InvalidInput("this address has an account already: please log in to accept", field="email")
        now = app.now()
        if user is None:
            user = User(email=invitation.email, display_name=name, password_hash=password_hash,
                        language=normalise_language(language), email_verified_at=now, created_at=now)
            session.add(user)
            await session.flush()
        else:
            # The invitation link proves the address: whatever was set before goes.
            await _first_proof(session, app, user)
            user.display_name, user.password_hash = name, password_hash
            user.language = normalise_language(language)
            session.add(user)
        await _join(session, app, invitation, user)
        return user, invitation.organisation_id
