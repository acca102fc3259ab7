"""A report table on the page shows at most 100 rows and says how many more the downloads hold."""

from __future__ import annotations

import re

import jinja2

from booking.resources import TEMPLATES_DIR
from booking.services.reporting import Table


def render(rows: int) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True, extensions=["jinja2.ext.i18n"])
    env.install_null_translations(newstyle=True)
    macros = env.from_string('{% from "admin/_report.html" import report_table %}{{ report_table(table, "Use", number) }}')
    table = Table("usage", ("site", "kind", "bookings"), [(f"Ort {n}", "room", n) for n in range(rows)])
    return macros.render(table=table, number=str)


def test_a_long_table_is_cut_at_100_rows_with_the_rest_named():
    html = render(250)
    assert len(re.findall(r"<th class=\"kern-table__cell\" scope=\"row\">", html)) == 100
    assert 'data-more-rows="150"' in html and "150 more rows in the CSV and JSON downloads." in html
    assert "Ort 99" in html and "Ort 100" not in html


def test_a_short_table_shows_every_row_and_no_note():
    html = render(100)
    assert len(re.findall(r"<th class=\"kern-table__cell\" scope=\"row\">", html)) == 100
    assert "data-more-rows" not in html
    # Labels still translate the kind (null translations: the English msgid).
    assert ">Rooms<" in html
