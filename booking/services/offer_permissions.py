"""Who may do what with volunteer offers: publish them (organisation admins for their
organisation, site staff for their site) and manage one (edit, participants, waiting lists)."""

from __future__ import annotations

from booking.auth.principal import Principal
from booking.models import Offer


def may_create_offer(actor: Principal, site_id: int, organisation_id: int | None) -> bool:
    """Organisation admins (for their organisation, at any site) and the site's staff."""
    if actor.is_city_admin or actor.is_lender_at(site_id):
        return True
    return organisation_id is not None and actor.is_organisation_admin(organisation_id)


def may_manage(actor: Principal | None, offer: Offer) -> bool:
    """Who edits an offer and sees its participants: its organisation's admins, its site's staff."""
    if actor is None:
        return False
    if actor.is_city_admin or actor.is_lender_at(offer.site_id):
        return True
    return offer.organisation_id is not None and actor.is_organisation_admin(offer.organisation_id)


def may_create_any(actor: Principal | None) -> bool:
    return actor is not None and (
        actor.is_city_admin or actor.is_lender_anywhere or any(r == "admin" for r in actor.organisation_roles.values())
    )
