"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from booking.models.base import utc_now
from booking.models.bookings import Booking, BookingEvent, Loan, Series
from booking.models.directory import FieldOfActivity, JoinRequest, OrganisationField
from booking.models.invitations import Invitation
from booking.models.messaging import EmailToken, FeedDocumentCache, FeedToken, OutboxMessage
from booking.models.offers import Offer, OfferDate, OfferSignup
from booking.models.people import ApiToken, LoginSession, Membership, Organisation, SiteRole, User
from booking.models.places import Blackout, Policy, Quota, Resource, Site
from booking.models.reporting import (
    ReportIntroduction, ReportMonthOrganisation, ReportMonthPerson, ReportSummary, ReportSummaryChange, UnmetDemand,
)
from booking.models.waiting_list import WaitingListEntry

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
    "Offer",
    "OfferDate",
    "OfferSignup",
    "Organisation",
    "OrganisationField",
    "OutboxMessage",
    "Policy",
    "Quota",
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
    "WaitingListEntry",
    "utc_now",
]
