"""Password hashing with argon2id. Costs come from the configuration (tests lower them)."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import hash_secret_raw

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


class Passwords:
    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._time_cost, self._memory_kib = time_cost, memory_kib
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        # Verified against when no account matches, so a wrong e-mail address takes as long as a wrong password.
        self._dummy = self._hasher.hash("pulse-dummy-password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """True when ``password`` matches ``stored``; always spends the same work when ``stored`` is empty."""
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)

    def derive_key(self, password: str, salt: bytes) -> bytes:
        """A 256-bit key from the password (argon2id with its own salt, so it is not the stored hash and cannot be
        computed from it). Used to lock the person's answer key (docs/ANONYMITY.md, "Answer now")."""
        return hash_secret_raw(password.encode(), salt, time_cost=self._time_cost, memory_cost=self._memory_kib,
                               parallelism=1, hash_len=32, type=Type.ID)
