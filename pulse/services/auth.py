"""Staff authentication: sign-in with rate limits, password reset links, admin accounts."""

from __future__ import annotations

import datetime as dt

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pulse.common.db import utcnow
from pulse.common.limits import FailureLimiter, pseudonym
from pulse.common.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, Passwords
from pulse.domain import crypto
from pulse.domain.crypto import keyed_hash, new_token
from pulse.models import PasswordReset, Person, PersonStatus
from pulse.services import ratelimit


class SignInError(Exception):
    """Wrong e-mail address or password (deliberately not saying which)."""


class RateLimitedError(Exception):
    """Too many failed attempts; try again later."""


class ResetTokenError(Exception):
    """The reset link is unknown, used or expired."""


class PasswordPolicyError(ValueError):
    """The new password does not meet the policy."""


class SignInGuard:
    """Failed sign-ins, counted in this process's memory only (pulse.common.limits): nothing about who failed, or
    from where, is written to the database — a stored failure just before an "Answer now" answer would point at
    whose it is (docs/ANONYMITY.md, "Answer now").

    Counted three ways, so that knowing a colleague's address is not enough to lock them out: per address *and*
    client (``max_failures``: an attacker at one device blocks only themselves), per address from any client (four
    times as many: guessing from many devices), and per client for any address (four times as many: one device
    trying many addresses).
    """

    def __init__(self, max_failures: int, window_seconds: int) -> None:
        self.pair = FailureLimiter(max_failures, window_seconds)
        self.address = FailureLimiter(max_failures * 4, window_seconds)
        self.client = FailureLimiter(max_failures * 4, window_seconds)

    def _keys(self, address: str, client: str) -> tuple[str, str, str]:
        return pseudonym(address, client), pseudonym(address), pseudonym(client)

    def blocked(self, address: str, client: str) -> bool:
        pair, by_address, by_client = self._keys(address, client)
        return self.pair.blocked(pair) or self.address.blocked(by_address) or self.client.blocked(by_client)

    def failed(self, address: str, client: str) -> None:
        pair, by_address, by_client = self._keys(address, client)
        self.pair.fail(pair)
        self.address.fail(by_address)
        self.client.fail(by_client)


def normalise_email(raw: str) -> str:
    """Lower-case and syntax-check an e-mail address (no DNS lookups).

    :raises ValueError: when the address is not valid.
    """
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError("too_short")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError("too_long")


def authenticate(session: Session, passwords: Passwords, guard: SignInGuard, *, email: str, password: str,
                 client: str) -> Person:
    """Check e-mail and password. Writes nothing, unless the stored hash needs new argon2 parameters.

    :raises RateLimitedError: when this address from this client, this address, or this client has failed too
        often recently.
    :raises SignInError: when the address or password is wrong, or the account cannot sign in.
    """
    address = email.strip().lower()
    if guard.blocked(address, client):
        raise RateLimitedError()
    person = session.scalar(select(Person).where(Person.email == address))
    ok = passwords.verify(person.password_hash if person else None, password)
    if not ok or person is None or person.status == PersonStatus.LEFT:
        guard.failed(address, client)
        raise SignInError()
    if person.password_hash and passwords.needs_rehash(person.password_hash):
        person.password_hash = passwords.hash(password)
    session.flush()
    return person


def request_password_reset(session: Session, token_key: bytes, rate_key: bytes, *, email: str,
                           valid_minutes: int) -> tuple[Person, str] | None:
    """Create a reset link for an account that may sign in; None for unknown or departed people.

    At most three links per address and hour, so the form cannot be used to flood someone's inbox.
    """
    address = email.strip().lower()
    person = session.scalar(select(Person).where(Person.email == address))
    if person is None or person.status == PersonStatus.LEFT:
        return None
    if ratelimit.hit(session, rate_key, "reset-email", address, 3600) > 3:
        return None
    token = new_token()
    session.add(PasswordReset(person_id=person.id, token_hash=keyed_hash(token_key, token),
                              expires_at=utcnow() + dt.timedelta(minutes=valid_minutes)))
    session.flush()
    return person, token


def find_reset(session: Session, token_key: bytes, token: str) -> PasswordReset:
    """The unused, unexpired reset behind ``token`` (reading never uses it up).

    :raises ResetTokenError: when there is none.
    """
    if not token or len(token) > 200:
        raise ResetTokenError()
    reset = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == keyed_hash(token_key, token)))
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        raise ResetTokenError()
    return reset


def complete_password_reset(session: Session, token_key: bytes, passwords: Passwords, *, token: str,
                            new_password: str) -> Person:
    """Set a new password with a reset link, using the link up and ending every existing session.

    :raises ResetTokenError: when the link is unknown, used or expired (also when used concurrently).
    :raises PasswordPolicyError: when the password is too short or long.
    """
    check_password_policy(new_password)
    reset = find_reset(session, token_key, token)
    # Spend the link atomically: of two concurrent submissions only one updates the row.
    spent = session.execute(
        update(PasswordReset).where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
    )
    if getattr(spent, "rowcount", 0) != 1:
        raise ResetTokenError()
    person = session.get_one(Person, reset.person_id)
    set_password(person, passwords, new_password)
    session.flush()
    return person


def set_password(person: Person, passwords: Passwords, new_password: str, *,
                 answer_key: crypto.PrivateKey | None = None) -> None:
    """Store a new password and end the person's other sessions.

    :param answer_key: the person's unlocked answer key, when they changed their password knowing the old one: it
        is locked again with the new password, so "Answer now" keeps working for rounds already open. Without it
        (a reset link) a new answer key is made, and rounds already open can only be answered from the e-mail.
    """
    check_password_policy(new_password)
    assert person.id is not None, "flush a new person before setting a password"
    person.password_hash = passwords.hash(new_password)
    person.session_version += 1
    lock_answer_key(person, passwords, new_password, answer_key or crypto.new_private_key())


# --- the answer key ("Answer now"; docs/ANONYMITY.md, "Answer now") --------------------------------------------


def answer_key_context(person_id: int) -> bytes:
    return f"pulse-answer-key:{person_id}".encode()


def lock_answer_key(person: Person, passwords: Passwords, password: str, key: crypto.PrivateKey) -> None:
    """Store the person's answer key locked under a key derived from their password (and nothing else)."""
    salt = crypto.random_bytes(16)
    person.answer_key_public = crypto.public_key_bytes(key)
    person.answer_key_salt = salt
    person.answer_key_wrapped = crypto.wrap_private_key(passwords.derive_key(password, salt), key,
                                                        answer_key_context(person.id))


def unlock_answer_key(person: Person, passwords: Passwords, password: str) -> crypto.PrivateKey:
    """The person's answer key, opened with the password they just signed in with; made on first use (flushes
    nothing: the caller commits if the person changed)."""
    if person.answer_key_wrapped and person.answer_key_salt:
        try:
            return crypto.unwrap_private_key(passwords.derive_key(password, person.answer_key_salt),
                                             person.answer_key_wrapped, answer_key_context(person.id))
        except crypto.SealError:
            pass  # locked with another password (set outside Pulse): start over with a new key
    key = crypto.new_private_key()
    lock_answer_key(person, passwords, password, key)
    return key


def create_admin(session: Session, passwords: Passwords, *, email: str, name: str, password: str) -> Person:
    """Create an administrator, or make an existing person one and set their password.

    :raises ValueError: for an invalid e-mail address.
    :raises PasswordPolicyError: for a password that is too short or long.
    """
    address = normalise_email(email)
    check_password_policy(password)
    person = session.scalar(select(Person).where(Person.email == address))
    if person is None:
        person = Person(email=address, name=name.strip() or address, language="sv",
                        status=PersonStatus.ACTIVE, session_version=1)
        session.add(person)
        session.flush()  # the answer key is bound to the person's id
    elif name.strip():
        person.name = name.strip()
    person.is_admin = True
    if person.status == PersonStatus.LEFT:
        person.status = PersonStatus.ACTIVE
    set_password(person, passwords, password)
    session.flush()
    return person
