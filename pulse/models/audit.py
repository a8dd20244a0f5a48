"""The audit log: append-only, each entry chained to the previous one with a keyed hash."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DDL, BigInteger, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from pulse.common.db import Base, UTCDateTime


class AuditEntry(Base):
    """One thing staff did. Never what a respondent did (docs/ANONYMITY.md, "Retention and records")."""

    __tablename__ = "audit_entry"

    #: Position in the chain, 1, 2, 3… A gap means a deleted entry.
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: The staff member (``person.id``) or None for the system; no foreign key, so entries outlive people.
    actor_id: Mapped[int | None] = mapped_column(Integer)
    #: The actor's e-mail at the time, so the log reads without joins and survives renames.
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(255))
    #: Canonical JSON with the details of the change.
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


#: Triggers that make the table append-only inside the database too (also created by the migration).
APPEND_ONLY_DDL = {
    "sqlite": [
        "CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
        "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END",
        "CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
        "BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_entry is append-only'; END; $$ LANGUAGE plpgsql",
        "CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry "
        "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()",
    ],
}

for _dialect, _statements in APPEND_ONLY_DDL.items():
    for _statement in _statements:
        event.listen(AuditEntry.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))
