"""Every column of every table is classified in the privacy registry (booking/services/privacy)."""

from __future__ import annotations

from sqlmodel import SQLModel

import booking.models  # noqa: F401 - registers the tables
from booking.services.privacy import registry


def _model_tables() -> dict[str, list[str]]:
    return {table.name: [column.name for column in table.columns] for table in SQLModel.metadata.sorted_tables}


def test_every_table_and_column_is_classified() -> None:
    result = registry.unclassified(_model_tables())
    assert not result.missing_tables, (
        f"tables without a privacy classification: {result.missing_tables}; add them to booking/services/privacy/registry.py"
    )
    assert not result.missing_columns, (
        f"columns without a privacy classification: {result.missing_columns}; classify them in booking/services/privacy/registry.py"
    )
    assert not result.stale, f"registry names columns the models no longer have: {result.stale}"


def test_a_new_unclassified_column_is_caught() -> None:
    tables = _model_tables()
    tables["user"] = [*tables["user"], "phone_number"]
    tables["new_table"] = ["id", "note"]
    result = registry.unclassified(tables)
    assert result.missing_columns == ["user.phone_number"]
    assert result.missing_tables == ["new_table"]


def test_every_table_with_personal_data_has_an_owner_retention_and_erasure_rule() -> None:
    for policy in registry.personal_tables():
        assert policy.owner, policy.table
        assert policy.retention, policy.table
        assert policy.on_erasure != "none", policy.table
        for column in policy.owner:
            assert column in policy.columns, (policy.table, column)
