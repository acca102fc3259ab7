"""Who is asking, with their roles: the input of every permission decision."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Principal:
    user_id: int
    email: str
    display_name: str
    language: str = "de"
    is_city_admin: bool = False
    # organisation id -> "member" | "admin"
    organisation_roles: dict[int, str] = field(default_factory=dict)
    # site id -> "lender" | "manager"
    site_roles: dict[int, str] = field(default_factory=dict)

    @property
    def member_of(self) -> frozenset[int]:
        return frozenset(self.organisation_roles)

    def is_member_of(self, organisation_id: int | None) -> bool:
        return organisation_id is not None and organisation_id in self.organisation_roles

    def is_organisation_admin(self, organisation_id: int | None) -> bool:
        return self.is_city_admin or (
            organisation_id is not None and self.organisation_roles.get(organisation_id) == "admin"
        )

    def is_lender_at(self, site_id: int) -> bool:
        """Lenders and managers decide requests and hand things out at their sites."""
        return self.is_city_admin or site_id in self.site_roles

    def is_manager_at(self, site_id: int) -> bool:
        return self.is_city_admin or self.site_roles.get(site_id) == "manager"

    @property
    def is_lender_anywhere(self) -> bool:
        return self.is_city_admin or bool(self.site_roles)

    @property
    def is_manager_anywhere(self) -> bool:
        return self.is_city_admin or "manager" in self.site_roles.values()
