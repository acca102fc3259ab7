"""Permission rules as pure functions over a Principal and plain facts. Deny by default."""

from __future__ import annotations

from dataclasses import dataclass

from booking.auth.principal import Principal

#: Visibility of resources that no listing shows and nobody books directly (offer places).
HIDDEN_VISIBILITY = "hidden"


@dataclass(frozen=True)
class BookingFacts:
    """What permission rules need to know about a booking."""

    booker_id: int
    organisation_id: int | None
    site_id: int


def can_view_booking(actor: Principal, booking: BookingFacts) -> bool:
    return (
        actor.user_id == booking.booker_id
        or actor.is_member_of(booking.organisation_id)
        or actor.is_lender_at(booking.site_id)
    )


def can_change_booking(actor: Principal, booking: BookingFacts) -> bool:
    """Change time or quantity, or cancel: the booker, their organisation's admins, site staff."""
    return (
        actor.user_id == booking.booker_id
        or actor.is_organisation_admin(booking.organisation_id)
        or actor.is_lender_at(booking.site_id)
    )


def can_decide(actor: Principal, booking: BookingFacts) -> bool:
    """Approve or decline: lenders and managers of the booking's site, city admins."""
    return actor.is_lender_at(booking.site_id)


def can_hand_out(actor: Principal, booking: BookingFacts) -> bool:
    return actor.is_lender_at(booking.site_id)


def can_book_for(actor: Principal, organisation_id: int | None) -> bool:
    """A booking on behalf of an organisation needs membership; a private one needs nothing."""
    return organisation_id is None or actor.is_member_of(organisation_id) or actor.is_city_admin


def can_manage_site(actor: Principal, site_id: int) -> bool:
    return actor.is_manager_at(site_id)


def can_see_resource(actor: Principal | None, visibility: str, site_id: int) -> bool:
    """Public resources are for everyone; members-only ones for members of any organisation
    and the site's staff. ``hidden`` resources (the places of volunteer offers) are nobody's to
    see or book directly: only the offers service books them."""
    if visibility == HIDDEN_VISIBILITY:
        return False
    if visibility == "public":
        return True
    if actor is None:
        return False
    return bool(actor.organisation_roles) or actor.is_lender_at(site_id)
