"""Access to the current app's configuration, keys and helpers from views and commands."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from flask import current_app, g, has_request_context
from sqlalchemy.orm import Session

from pulse.common.config import Config
from pulse.common.passwords import Passwords
from pulse.domain.crypto import KeyPurpose, derive_key
from pulse.models import AuditEntry, Person
from pulse.services import audit
from pulse.services import box as box_service


def config() -> Config:
    return current_app.config["PULSE"]


def key(purpose: KeyPurpose) -> bytes:
    """The app's key for one purpose (derived once per app)."""
    cache: dict[KeyPurpose, bytes] = current_app.extensions.setdefault("pulse.keys", {})
    if purpose not in cache:
        cache[purpose] = derive_key(config().secret_key, purpose)
    return cache[purpose]


def box_keys() -> box_service.Keys:
    """The complaint box's keys: the reply-key hash and the text encryption."""
    return box_service.Keys(reply=key(KeyPurpose.BOX_REPLY_KEY), text=key(KeyPurpose.BOX_TEXT))


def local_today(now: dt.datetime | None = None) -> dt.date:
    """Today in the organisation's time zone (deadlines are dates there)."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(ZoneInfo(config().timezone)).date()


def passwords() -> Passwords:
    return current_app.extensions["pulse.passwords"]


def record_audit(session: Session, action: str, target: str, details: Mapping[str, object] | None = None, *,
                 actor: Person | None = None) -> AuditEntry:
    """Append to the audit log as the signed-in staff member (or ``actor``, or the system)."""
    if actor is None and has_request_context():
        actor = g.get("person")
    return audit.record(session, key(KeyPurpose.AUDIT_CHAIN), actor=actor, action=action, target=target,
                        details=details)
