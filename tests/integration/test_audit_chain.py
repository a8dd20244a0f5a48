"""The audit log's hash chain: every change, insertion or removal inside the chain is found, and where."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from pulse.domain.crypto import KeyPurpose, derive_key
from pulse.models import AuditEntry
from pulse.services import audit
from tests.conftest import TEST_SECRET

KEY = derive_key(TEST_SECRET, KeyPurpose.AUDIT_CHAIN)


def write(session: Session, count: int) -> None:
    for number in range(count):
        audit.record(session, KEY, actor=None, action="test.entry", target=f"thing:{number}",
                     details={"number": number, "text": "åäö"})
    session.commit()


def test_an_empty_and_an_intact_chain_verify(session: Session) -> None:
    assert audit.verify(session, KEY) == audit.VerifyResult(True, 0, audit.GENESIS)
    write(session, 7)
    result = audit.verify(session, KEY, batch=3)
    assert result.ok and result.entries == 7
    assert result.head == session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == 7))


def test_the_chain_needs_the_secret(session: Session) -> None:
    write(session, 2)
    result = audit.verify(session, derive_key(TEST_SECRET + "-other", KeyPurpose.AUDIT_CHAIN))
    assert not result.ok and result.broken_seq == 1 and "changed" in result.problem


@pytest.mark.parametrize(("statement", "seq", "problem"), [
    ("UPDATE audit_entry SET details = '{}' WHERE seq = 4", 4, "changed"),
    ("UPDATE audit_entry SET actor = 'someone@example.org' WHERE seq = 4", 4, "changed"),
    ("UPDATE audit_entry SET action = 'other' WHERE seq = 4", 4, "changed"),
    ("UPDATE audit_entry SET target = 'thing:99' WHERE seq = 4", 4, "changed"),
    ("UPDATE audit_entry SET at = :earlier WHERE seq = 4", 4, "changed"),
    ("UPDATE audit_entry SET prev_hash = :zeros WHERE seq = 4", 4, "does not link"),
    ("DELETE FROM audit_entry WHERE seq = 4", 4, "missing"),
    ("UPDATE audit_entry SET seq = seq + 100 WHERE seq >= 4", 4, "missing"),
])
def test_tampering_is_found_at_the_entry_it_touched(session: Session, statement: str, seq: int,
                                                    problem: str) -> None:
    write(session, 6)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("DROP TRIGGER audit_entry_no_change ON audit_entry"))
    else:
        session.execute(text("DROP TRIGGER audit_entry_no_update"))
        session.execute(text("DROP TRIGGER audit_entry_no_delete"))
    session.execute(text(statement), {"earlier": dt.datetime(2020, 1, 1), "zeros": "0" * 64})
    session.commit()
    result = audit.verify(session, KEY)
    assert not result.ok and result.broken_seq == seq and problem in result.problem
    assert result.entries == seq - 1
