"""Text as it may go into a calendar file: what is left for icalendar to escape.

icalendar escapes what RFC 5545 lets a TEXT value carry (``\\``, ``;``, ``,`` and line breaks)
and quotes parameter values, but it writes other control characters as they are: a NUL or a
lone CR would reach the file raw, and readers stop or cut the line there. RFC 5545 (3.3.11,
TSAFE-CHAR) allows no control character in text but the (escaped) line break and TAB. So every
text that goes into a calendar passes through here first, whatever the database holds (old
rows were stored before names were checked):

- ``calendar_text``: SUMMARY, DESCRIPTION, LOCATION, COMMENT, CATEGORIES. Line breaks stay
  (CR LF and a lone CR become LF, which icalendar writes as ``\\n``); TAB stays; every other
  C0 control character and DEL is dropped.
- ``one_line``: names written as a property parameter (CN) or as the calendar's name
  (X-WR-CALNAME). A name is one line: line breaks and TABs become one space, other control
  characters are dropped, runs of spaces shrink to one. Parameters cannot escape a line break
  except with RFC 6868's ``^n``, which not every client reads; and ical.js, like other readers,
  gives X-WR-CALNAME back without undoing TEXT escapes, so a ``\\n`` would show as such.

Pure functions, no I/O.
"""

from __future__ import annotations

import re

__all__ = ["calendar_text", "one_line"]

# C0 controls except TAB (09) and LF (0A); CR (0D) is turned into LF before; and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\n]+")


def calendar_text(value: str) -> str:
    """``value`` with LF line ends and no control characters but TAB and LF."""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def one_line(value: str) -> str:
    """``value`` as one line: line breaks and TABs become a space, control characters go."""
    return _SPACES.sub(" ", calendar_text(value)).strip()
