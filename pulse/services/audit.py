"""Writing and verifying the hash-chained audit log.

Each entry's hash is an HMAC (keyed with a key derived from the application secret) over the previous
entry's hash and the entry's own fields. Someone who edits, inserts or deletes rows in the database cannot
recompute the chain without the secret, and ``pulse audit verify`` finds the first broken link.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from pulse.common.db import lock_for_append, utcnow
from pulse.models import AuditEntry, Person

log = logging.getLogger("pulse.audit")

GENESIS = "0" * 64


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def entry_hash(key: bytes, *, prev_hash: str, seq: int, at: dt.datetime, actor_id: int | None, actor: str,
               action: str, target: str, details: str) -> str:
    """The keyed hash that links an entry to the one before it."""
    payload = _canonical([prev_hash, seq, at.astimezone(dt.UTC).isoformat(timespec="microseconds"), actor_id,
                          actor, action, target, details])
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def record(session: Session, key: bytes, *, actor: Person | None, action: str, target: str,
           details: Mapping[str, object] | None = None) -> AuditEntry:
    """Append one entry to the audit log (flushes; the caller commits with the change it describes).

    :param actor: the staff member, or None for the system (CLI, scheduler).
    :param action: a dotted verb such as ``person.update`` or ``org.import``.
    :param target: what was acted on, e.g. ``person:12``.
    """
    lock_for_append(session, "pulse.audit")
    last = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq = 1 if last is None else last.seq + 1
    prev_hash = GENESIS if last is None else last.hash
    # Microsecond precision survives both SQLite and PostgreSQL, so the hash recomputes exactly.
    at = utcnow()
    actor_id = actor.id if actor is not None else None
    actor_label = actor.email if actor is not None else "system"
    details_json = _canonical(dict(details or {}))
    entry = AuditEntry(
        seq=seq, at=at, actor_id=actor_id, actor=actor_label, action=action, target=target,
        details=details_json, prev_hash=prev_hash,
        hash=entry_hash(key, prev_hash=prev_hash, seq=seq, at=at, actor_id=actor_id, actor=actor_label,
                        action=action, target=target, details=details_json),
    )
    session.add(entry)
    session.flush()
    # The application log carries the chain head too, so a truncated tail can be noticed from outside.
    log.info("audit seq=%d action=%s hash=%s", seq, action, entry.hash)
    return entry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    head: str
    #: The first entry that does not verify, and why.
    broken_seq: int | None = None
    problem: str = ""


def verify(session: Session, key: bytes, *, batch: int = 5000) -> VerifyResult:
    """Walk the whole chain and report the first entry that was changed, inserted or removed."""
    prev_hash = GENESIS
    expected_seq = 1
    count = 0
    query = select(AuditEntry).order_by(AuditEntry.seq).execution_options(yield_per=batch)
    for entry in session.scalars(query):
        if entry.seq != expected_seq:
            return VerifyResult(False, count, prev_hash, expected_seq,
                                f"entry {expected_seq} is missing (next is {entry.seq})")
        if entry.prev_hash != prev_hash:
            return VerifyResult(False, count, prev_hash, entry.seq, "does not link to the previous entry")
        recomputed = entry_hash(key, prev_hash=entry.prev_hash, seq=entry.seq, at=entry.at,
                                actor_id=entry.actor_id, actor=entry.actor, action=entry.action,
                                target=entry.target, details=entry.details)
        if not hmac.compare_digest(recomputed, entry.hash):
            return VerifyResult(False, count, prev_hash, entry.seq, "its contents were changed")
        prev_hash = entry.hash
        expected_seq += 1
        count += 1
    return VerifyResult(True, count, prev_hash)


#: Audit actions that record an exported file's SHA-256 in ``details["sha256"]``.
EXPORT_ACTIONS = ("report.export", "safety_request.pdf")


def find_export(session: Session, sha256: str) -> list[AuditEntry]:
    """The audit entries that recorded exporting a file with this SHA-256 (hex)."""
    if len(sha256) != 64 or any(ch not in "0123456789abcdef" for ch in sha256):
        return []
    candidates = session.scalars(select(AuditEntry).where(AuditEntry.action.in_(EXPORT_ACTIONS),
                                                          AuditEntry.details.contains(sha256))
                                 .order_by(AuditEntry.seq))
    return [e for e in candidates if json.loads(e.details).get("sha256") == sha256]
