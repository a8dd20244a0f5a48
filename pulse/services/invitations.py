"""Credentials and the invitation mail-out: how a person gets the one way to answer a round, without Pulse ever
storing which way is whose.

The design (docs/ANONYMITY.md, "Storage while a round is open"):
- Every credential of a round is made at once, in one transaction, in shuffled order, in a pool that knows only
  the round and the unit an answer counts in. The link between a person and their credential exists in this
  process's memory while the mail goes out, and in the mail itself — never in the database.
- The credentials do not work until the whole mail-out has finished. An interrupted mail-out is thrown away and
  redone whole (everyone gets a new invitation), so no credential is ever made for a few people apart from the
  rest, and none is ever made twice for one person.
- People with a password also get their credential sealed to their own answer key (see pulse.services.auth), so
  they can "Answer now" after signing in. Only their password opens it.
- Reminders carry no credential (Pulse could not make one for a particular person without knowing whose is
  whose); they point to the invitation and to "Answer now".
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from pulse.common.db import Database, lock_for_append
from pulse.common.mail import MailError
from pulse.domain import crypto
from pulse.models import Credential, CredentialHash, Invitation, Person, Round, Survey

log = logging.getLogger(__name__)

#: Characters of the typed code: no 0/O, 1/I/L, so it reads aloud and types without mistakes.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12  # ≈ 59 bits; guessing is also rate limited
#: Bytes of entropy in a link token (144 bits).
LINK_BYTES = 18
#: Give up a mail-out (and redo it later, whole) when this many messages in a row could not be handed over.
MAX_FAILURES_IN_A_ROW = 20
#: Rows per INSERT/UPDATE statement.
_CHUNK = 500


class CredentialError(Exception):
    """The link or code cannot be used: ``unknown``, ``used``, ``closed`` or ``not_ready`` (the invitations are
    still going out)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def new_link_token() -> str:
    return crypto.new_token(LINK_BYTES)


def normalise_code(raw: str) -> str:
    """What a person typed → the stored form (case, spaces and dashes do not matter)."""
    return "".join(ch for ch in raw.upper() if ch.isalnum())


def format_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def lookup_value(credential: str) -> str:
    """The form of a credential that is hashed: a typed code normalised, a link token as it is.

    A link token (24 URL-safe characters) never normalises to a valid code, so one look-up is enough.
    """
    raw = credential.strip()
    code = normalise_code(raw)
    if len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code):
        return code
    return raw


def credential_hash(token_key: bytes, credential: str) -> str:
    return crypto.keyed_hash(token_key, lookup_value(credential))


def sealed_credential_context(round_id: int, person_id: int) -> bytes:
    return f"pulse-sealed-credential:{round_id}:{person_id}".encode()


# --- making the credentials -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invite:
    """One invitation to send, with its fresh credentials. Exists only in memory."""

    invitation_id: int
    person_id: int
    email: str
    language: str
    credential_id: str
    link: str
    code: str
    #: Whether the credential is also sealed to the person's answer key ("Answer now" works for them).
    answer_now: bool
    #: The unit the answer will count in (the credential knows it too): its "you said, we did" goes in the e-mail.
    unit_id: int | None = None


def issue(session: Session, rnd: Round, token_key: bytes) -> list[Invite]:
    """Make every credential of the round at once and store them, unlinked, in shuffled order (flushes).

    Returns the invitations to send; the person ↔ credential link exists only in what is returned.
    """
    rows = session.execute(
        select(Invitation.id, Invitation.person_id, Invitation.unit_id, Invitation.language, Person.email,
               Person.answer_key_public)
        .join(Person, Person.id == Invitation.person_id).where(Invitation.round_id == rnd.id)
        .order_by(Invitation.id)).all()
    invites: list[Invite] = []
    credentials: list[dict[str, object]] = []
    hashes: list[dict[str, object]] = []
    sealed: list[dict[str, object]] = []
    for invitation_id, person_id, unit_id, language, email, public_key in rows:
        credential_id = secrets.token_hex(16)
        link, code = new_link_token(), new_code()
        credentials.append({"id": credential_id, "round_id": rnd.id, "unit_id": unit_id, "spent": False})
        hashes.append({"hash": credential_hash(token_key, link), "credential_id": credential_id})
        hashes.append({"hash": credential_hash(token_key, code), "credential_id": credential_id})
        if public_key:
            blob = json.dumps({"link": link, "code": code}, separators=(",", ":")).encode()
            sealed.append({"b_id": invitation_id, "sealed": crypto.seal(
                public_key, blob, sealed_credential_context(rnd.id, person_id))})
        invites.append(Invite(invitation_id, person_id, email, language, credential_id, link, code,
                              bool(public_key), unit_id))
    # The pool is written in an order that has nothing to do with the people (or the order of the ledger).
    rng = secrets.SystemRandom()
    rng.shuffle(credentials)
    rng.shuffle(hashes)
    for start in range(0, len(credentials), _CHUNK):
        session.execute(insert(Credential), credentials[start:start + _CHUNK])
    for start in range(0, len(hashes), _CHUNK):
        session.execute(insert(CredentialHash), hashes[start:start + _CHUNK])
    if sealed:
        statement = (update(Invitation).where(Invitation.id == bindparam("b_id"))
                     .values(sealed_credential=bindparam("sealed")))
        session.connection().execute(statement, sealed)
    session.flush()
    return invites


def discard(session: Session, round_id: int) -> None:
    """Throw away a round's credentials (an interrupted or failed mail-out): they never worked."""
    session.execute(delete(CredentialHash).where(CredentialHash.credential_id.in_(
        select(Credential.id).where(Credential.round_id == round_id))))
    session.execute(delete(Credential).where(Credential.round_id == round_id))
    session.execute(update(Invitation).where(Invitation.round_id == round_id, Invitation.sealed_credential.is_not(None))
                    .values(sealed_credential=None))


# --- the mail-out ---------------------------------------------------------------------------------------------


@dataclass
class MailOut:
    """What a mail-out did."""

    round_id: int
    #: ``done``, ``nothing_to_do``, ``mail_down`` (thrown away; the next run tries again) or ``interrupted``
    #: (another process took over; it will redo the mail-out).
    outcome: str
    sent: int = 0
    #: Invitations the mail system would not take (their credentials are deleted unless "Answer now" works).
    failed: list[int] = field(default_factory=list)


Sender = Callable[[Invite], None]


def mail_out(database: Database, round_id: int, token_key: bytes, send: Sender, *,
             keepalive: Callable[[], bool] | None = None) -> MailOut:
    """Make the round's credentials and hand every invitation to ``send``; then let the credentials work.

    ``send`` raises :class:`~pulse.common.mail.MailError` when one message cannot be handed over. The caller must make
    sure only one mail-out of a round runs at a time (the scheduler's lease, renewed by ``keepalive``, which
    returns False when the lease was lost): a mail-out found half done was interrupted, and is thrown away and
    redone whole.
    """
    with database.session(write=True) as session:
        lock_for_append(session, f"pulse.mailout.{round_id}")
        rnd = session.get_one(Round, round_id)
        if rnd.status != "open" or rnd.mailout == "done":
            return MailOut(round_id, "nothing_to_do")
        if rnd.mailout == "sending":
            log.warning("round %s: an interrupted mail-out is thrown away and redone", round_id)
            discard(session, round_id)
        invites = issue(session, rnd, token_key)
        rnd.mailout = "sending"
        rnd.mailout_attempts += 1
        session.commit()
    sent: list[Invite] = []
    failed: list[Invite] = []
    in_a_row = 0
    for number, invite in enumerate(invites, start=1):
        try:
            _send_retrying(send, invite)
        except MailError:
            failed.append(invite)
            in_a_row += 1
            if in_a_row >= MAX_FAILURES_IN_A_ROW and not sent:
                return _give_up(database, round_id)
        else:
            sent.append(invite)
            in_a_row = 0
        if keepalive is not None and number % 50 == 0 and not keepalive():
            log.error("round %s: the scheduler lease was lost during the mail-out; it will be redone", round_id)
            return MailOut(round_id, "interrupted", len(sent))
    with database.session(write=True) as session:
        lock_for_append(session, f"pulse.mailout.{round_id}")
        rnd = session.get_one(Round, round_id)
        # People whose mail failed and who cannot "Answer now" have no way to use their credential: remove it, so
        # the pool holds only credentials someone has.
        unusable = [i.credential_id for i in failed if not i.answer_now]
        for start in range(0, len(unusable), _CHUNK):
            chunk = unusable[start:start + _CHUNK]
            session.execute(delete(CredentialHash).where(CredentialHash.credential_id.in_(chunk)))
            session.execute(delete(Credential).where(Credential.id.in_(chunk)))
        delivered = sorted(i.invitation_id for i in sent)
        for start in range(0, len(delivered), _CHUNK):
            session.execute(update(Invitation).where(Invitation.id.in_(delivered[start:start + _CHUNK]))
                            .values(mailed=True))
        rnd.mailout = "done"
        rnd.undelivered = len(failed)
        session.commit()
    return MailOut(round_id, "done", len(sent), [i.invitation_id for i in failed])


def _send_retrying(send: Sender, invite: Invite) -> None:
    try:
        send(invite)
    except MailError:
        send(invite)  # once more: a passing fault should not cost someone their invitation


def _give_up(database: Database, round_id: int) -> MailOut:
    with database.session(write=True) as session:
        lock_for_append(session, f"pulse.mailout.{round_id}")
        discard(session, round_id)
        rnd = session.get_one(Round, round_id)
        rnd.mailout = "pending"
        session.commit()
    log.error("round %s: the mail system took none of the first %d invitations; the mail-out will be redone",
              round_id, MAX_FAILURES_IN_A_ROW)
    return MailOut(round_id, "mail_down")


# --- reminders ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    invitation_id: int
    email: str
    language: str


def pending_reminders(session: Session, rnd: Round, *, limit: int) -> list[Reminder]:
    """Invitations that still need the round's one reminder (the same text for everyone)."""
    rows = session.execute(
        select(Invitation.id, Person.email, Invitation.language).join(Person, Person.id == Invitation.person_id)
        .where(Invitation.round_id == rnd.id, Invitation.reminded.is_(False)).order_by(Invitation.id)
        .limit(limit)).all()
    return [Reminder(*row) for row in rows]


def mark_reminded(session: Session, ids: list[int]) -> None:
    for start in range(0, len(ids), _CHUNK):
        session.execute(update(Invitation).where(Invitation.id.in_(ids[start:start + _CHUNK])).values(reminded=True))
    session.flush()


# --- "Answer now" ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MyInvitation:
    """An open round a signed-in person is invited to, as only they may see it."""

    round_id: int
    survey: str
    closes_at: dt.datetime
    #: ``answer`` (Answer now works), ``answered`` (their credential is used), ``use_mail`` (no sealed credential:
    #: answer with the e-mail), ``sign_in_again`` (this session has no unlocked key) or ``not_ready``.
    state: str


def my_invitations(session: Session, person_id: int, private_key: crypto.PrivateKey | None,
                   token_key: bytes, *, now: dt.datetime) -> list[MyInvitation]:
    """The person's open invitations. Reads only: looking writes nothing anyone could tie to an answer."""
    rows = session.execute(
        select(Round.id, Survey.name, Round.closes_at, Round.mailout, Invitation.sealed_credential)
        .join(Invitation, Invitation.round_id == Round.id).join(Survey, Survey.id == Round.survey_id)
        .where(Invitation.person_id == person_id, Round.status == "open", Round.closes_at > now)
        .order_by(Round.closes_at)).all()
    result = []
    for round_id, survey, closes_at, mailout, sealed in rows:
        if mailout != "done":
            state = "not_ready"
        elif sealed is None:
            state = "use_mail"
        elif private_key is None:
            state = "sign_in_again"
        else:
            try:
                link = _open_sealed(sealed, private_key, round_id, person_id)
            except crypto.SealError:
                state = "use_mail"  # sealed to a key from before a password reset
            else:
                state = "answered" if _spent(session, token_key, round_id, link) else "answer"
        result.append(MyInvitation(round_id, survey, closes_at, state))
    return result


def my_credential(session: Session, person_id: int, round_id: int, private_key: crypto.PrivateKey,
                  token_key: bytes, *, now: dt.datetime) -> str:
    """The person's own link token for an open round, opened with their answer key.

    :raises CredentialError: ``unknown`` (not invited, closed, or nothing sealed to this key), ``not_ready`` or
        ``used`` (they have answered: only they can learn this, with their own key).
    """
    row = session.execute(
        select(Invitation.sealed_credential, Round.mailout)
        .join(Round, Round.id == Invitation.round_id)
        .where(Invitation.person_id == person_id, Invitation.round_id == round_id, Round.status == "open",
               Round.closes_at > now)).first()
    if row is None or row.sealed_credential is None:
        raise CredentialError("unknown")
    if row.mailout != "done":
        raise CredentialError("not_ready")
    try:
        link = _open_sealed(row.sealed_credential, private_key, round_id, person_id)
    except crypto.SealError:
        raise CredentialError("unknown") from None
    if _spent(session, token_key, round_id, link):
        raise CredentialError("used")
    return link


def _open_sealed(sealed: bytes, private_key: crypto.PrivateKey, round_id: int, person_id: int) -> str:
    payload = json.loads(crypto.unseal(private_key, sealed, sealed_credential_context(round_id, person_id)))
    return str(payload["link"])


def _spent(session: Session, token_key: bytes, round_id: int, link: str) -> bool:
    # The whole round's spent hashes, compared here: the database is never asked about this person's own
    # credential, so not even a statement log (were one on) could tie the person to it.
    spent = set(session.scalars(select(CredentialHash.hash).join(Credential, Credential.id
                                                                 == CredentialHash.credential_id)
                                .where(Credential.round_id == round_id, Credential.spent.is_(True))))
    return credential_hash(token_key, link) in spent


def issued_count(session: Session, round_id: int) -> int:
    """Credentials in the pool (for the integrity report: never more than invited)."""
    return session.scalar(select(func.count()).select_from(Credential).where(Credential.round_id == round_id)) or 0
