"""The small set of cryptographic helpers Pulse uses. Keys are always passed in.

One key per purpose: every key is derived from the application secret with HKDF and a distinct label,
so a key leaked for one purpose (say, rate-limit buckets) says nothing about another (token hashes).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class KeyPurpose(StrEnum):
    """Labels for the keys derived from the application secret. Never reuse one for another purpose."""

    SESSION = "pulse/session-cookie/v1"
    CSRF = "pulse/csrf/v1"
    TOKEN_HASH = "pulse/token-hash/v1"  # noqa: S105 - a label, not a secret
    AUDIT_CHAIN = "pulse/audit-chain/v1"
    RATE_LIMIT = "pulse/rate-limit/v1"
    ROUND_KEY_WRAP = "pulse/round-key-wrap/v1"


def derive_key(secret: str, purpose: KeyPurpose, length: int = 32) -> bytes:
    """Derive the key for one purpose from the application secret."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=b"pulse", info=purpose.value.encode())
    return hkdf.derive(secret.encode())


def new_token(nbytes: int = 24) -> str:
    """A URL-safe random token of ``nbytes`` bytes of entropy (at least 16, i.e. 128 bits)."""
    if nbytes < 16:
        raise ValueError("tokens need at least 128 bits of entropy")
    return secrets.token_urlsafe(nbytes)


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 of ``value`` as hex. Stored instead of tokens, so a database copy cannot redeem them."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def equals(a: str | bytes, b: str | bytes) -> bool:
    """Compare secrets in constant time."""
    a_bytes = a.encode() if isinstance(a, str) else a
    b_bytes = b.encode() if isinstance(b, str) else b
    return hmac.compare_digest(a_bytes, b_bytes)
