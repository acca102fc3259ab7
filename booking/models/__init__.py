"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from booking.models.base import utc_now
from booking.models.bookings import Booking, BookingEvent, Loan, Series
from booking.models.directory import FieldOfActivity, JoinRequest, OrganisationField
from booking.models.invitations import Invitation
from booking.models.messaging import EmailToken, FeedDocumentCache, FeedToken, OutboxMessage
from booking.models.people import ApiToken, LoginSession, Membership, Organisation, SiteRole, User
from booking.models.places import Blackout, Policy, Resource, Site
from booking.models.reporting import (
    ReportIntroduction, ReportMonthOrganisation, ReportMonthPerson, ReportSummary, ReportSummaryChange, UnmetDemand,
)

__all__ = [
    "ApiToken",
    "Blackout",
    "Booking",
    "BookingEvent",
    "EmailToken",
    "FeedDocumentCache",
    "FeedToken",
    "FieldOfActivity",
    "Invitation",
    "JoinRequest",
    "Loan",
    "LoginSession",
    "Membership",
    "Organisation",
    "OrganisationField",
    "OutboxMessage",
    "Policy",
    "ReportIntroduction",
    "ReportMonthOrganisation",
    "ReportMonthPerson",
    "ReportSummary",
    "ReportSummaryChange",
    "Resource",
    "Series",
    "Site",
    "SiteRole",
    "UnmetDemand",
    "User",
    "utc_now",
]
