"""Online rooms (resource kind ``online``): the join link of a video-conference room.

The link is a capability — whoever has it can join — so it is shown only to the booker of a
booking (their booking page and invite). Here: what counts as a valid link.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from booking.domain.errors import InvalidInput

MAX_JOIN_URL_LENGTH = 500


def check_join_url(value: str, field_name: str = "join_url") -> str:
    """The trimmed link when it is an absolute https URL with a host; InvalidInput otherwise."""
    text = value.strip()
    if not text:
        raise InvalidInput("An online room needs its join link.", field=field_name)
    if len(text) > MAX_JOIN_URL_LENGTH:
        raise InvalidInput("The join link is too long.", field=field_name)
    if any(character.isspace() or ord(character) < 32 for character in text):
        raise InvalidInput("Please enter a link starting with https://.", field=field_name)
    try:
        parts = urlsplit(text)
    except ValueError:
        raise InvalidInput("Please enter a link starting with https://.", field=field_name) from None
    if parts.scheme.lower() != "https" or not parts.hostname or parts.username or parts.password:
        raise InvalidInput("Please enter a link starting with https://.", field=field_name)
    return text
