"""The legal pages the operator owns: Impressum, Datenschutzerklärung, Erklärung zur Barrierefreiheit.

Each is a Markdown file ``<page>.<language>.md`` in the folder named by ``privacy.content_dir``.
A missing file falls back to the other language's file, then to the template shipped in
``booking/content/templates``; those templates mark everything the operator must fill in as
``[[...]]`` placeholders, and admins see a warning while any page still has one.

``{{ setting_name }}`` in a text is replaced by that retention setting's value (the storage
periods on the Datenschutz page follow the configuration). Markdown is rendered with
markdown-it-py (raw HTML off) and the result is sanitised with nh3 all the same.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nh3
from markdown_it import MarkdownIt

from booking.settings import Settings

PAGES = ("imprint", "privacy", "accessibility")
LANGUAGES = ("de", "en")
SHIPPED_DIR = Path(__file__).resolve().parent.parent / "content" / "templates"
DEMO_DIR = Path(__file__).resolve().parent.parent / "content" / "demo"
PLACEHOLDER = re.compile(r"\[\[(.+?)\]\]", re.DOTALL)
SETTING = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
TITLE = re.compile(r"^#\s+(.+)$", re.MULTILINE)
ALLOWED_TAGS = {"h1", "h2", "h3", "h4", "p", "ul", "ol", "li", "a", "strong", "em", "code", "blockquote",
                "table", "thead", "tbody", "tr", "th", "td", "br", "hr", "address", "mark"}


@dataclasses.dataclass(frozen=True)
class LegalPage:
    name: str
    language: str
    title: str
    html: str
    has_placeholders: bool
    source: str  # "operator" | "template"


def content_dir(settings: Settings) -> Path:
    """The operator's folder of legal texts; a relative path is taken inside the data directory."""
    path = Path(settings.privacy.content_dir).expanduser()
    return path if path.is_absolute() else Path(settings.data_dir) / path


def _source(settings: Settings, name: str, language: str) -> tuple[str, str]:
    folder = content_dir(settings)
    for candidate in (language, *[other for other in LANGUAGES if other != language]):
        path = folder / f"{name}.{candidate}.md"
        if path.is_file():
            return path.read_text(encoding="utf-8"), "operator"
    return (SHIPPED_DIR / f"{name}.{language}.md").read_text(encoding="utf-8"), "template"


def setting_values(settings: Settings) -> dict[str, str]:
    """What ``{{ name }}`` may stand for in a legal text."""
    privacy = settings.privacy
    return {
        "anonymise_bookings_after_months": str(privacy.anonymise_bookings_after_months),
        "delete_mail_bodies_after_days": str(privacy.delete_mail_bodies_after_days),
        "delete_unverified_accounts_after_days": str(privacy.delete_unverified_accounts_after_days),
        "delete_expired_tokens_after_days": str(privacy.delete_expired_tokens_after_days),
        "contact_email": privacy.contact_email or settings.mail.sender,
        "base_url": settings.base_url,
    }


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render_markdown(text: str) -> str:
    """Markdown to sanitised HTML; placeholders are highlighted with <mark>."""
    html = _markdown().render(text)
    html = PLACEHOLDER.sub(lambda match: f"<mark>[[{match.group(1)}]]</mark>", html)
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}, "th": {"scope"}},
                     url_schemes={"http", "https", "mailto", "tel"}, link_rel="noopener noreferrer")


def load_page(settings: Settings, name: str, language: str) -> LegalPage:
    """The page ``name`` (imprint | privacy | accessibility) in ``language`` (de | en)."""
    if name not in PAGES:
        raise KeyError(name)
    language = language if language in LANGUAGES else "de"
    text, source = _source(settings, name, language)
    values = setting_values(settings)
    text = SETTING.sub(lambda match: values.get(match.group(1), match.group(0)), text)
    title_match = TITLE.search(text)
    title = title_match.group(1).strip() if title_match else name
    return LegalPage(name, language, PLACEHOLDER.sub(lambda m: m.group(1), title), render_markdown(text),
                     bool(PLACEHOLDER.search(text)), source)


def unfinished_pages(settings: Settings) -> list[tuple[str, str]]:
    """(page, language) of every legal page that is missing or still has placeholders."""
    return [(name, language) for name in PAGES for language in LANGUAGES
            if load_page(settings, name, language).has_placeholders]


def install_demo_pages(settings: Settings) -> list[Path]:
    """Write the demo operator's filled-in texts into the content folder (existing files stay)."""
    folder = content_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted(DEMO_DIR.glob("*.md")):
        target = folder / source.name
        if not target.exists():
            target.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
            written.append(target)
    return written


def security_contact(settings: Settings) -> str:
    """The operator's address for vulnerability reports as an RFC 9116 Contact URI."""
    contact = (settings.privacy.security_contact or settings.privacy.contact_email or settings.mail.sender).strip()
    if contact.startswith(("https://", "mailto:")):
        return contact
    return f"mailto:{contact}"


def security_txt(settings: Settings, *, now: datetime, valid_days: int) -> str:
    """The text of ``/.well-known/security.txt`` (RFC 9116): contact, expiry, languages, canonical URL.

    Expires lies ``valid_days`` ahead of ``now``: the file is made on each request, so it stays
    current as long as the installation runs and its settings name a contact.
    """
    base_url = settings.base_url.rstrip("/")
    expires = (now.astimezone(timezone.utc) + timedelta(days=valid_days)).replace(microsecond=0)
    lines = [
        f"Contact: {security_contact(settings)}",
        f"Expires: {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "Preferred-Languages: de, en",
        f"Canonical: {base_url}/.well-known/security.txt",
        f"Policy: {base_url}/sicherheit",
    ]
    return "\n".join(lines) + "\n"


#: The project's security policy as shipped (a copy of SECURITY.md of the repository; a test
#: keeps them equal). English: the policy of the software, for reporters anywhere.
SECURITY_POLICY = Path(__file__).resolve().parent.parent / "content" / "SECURITY.md"


def security_policy_page(settings: Settings, language: str) -> LegalPage:
    """The page /sicherheit that security.txt's ``Policy`` names: the operator's own
    ``security.<language>.md`` in the content folder when there is one, else the project's
    SECURITY.md (in English)."""
    folder = content_dir(settings)
    language = language if language in LANGUAGES else "de"
    for candidate in (language, *[other for other in LANGUAGES if other != language]):
        path = folder / f"security.{candidate}.md"
        if path.is_file():
            text, page_language, source = path.read_text(encoding="utf-8"), candidate, "operator"
            break
    else:
        text, page_language, source = SECURITY_POLICY.read_text(encoding="utf-8"), "en", "template"
    values = setting_values(settings)
    text = SETTING.sub(lambda match: values.get(match.group(1), match.group(0)), text)
    title_match = TITLE.search(text)
    title = title_match.group(1).strip() if title_match else "Security policy"
    return LegalPage("security", page_language, title, render_markdown(text), False, source)
