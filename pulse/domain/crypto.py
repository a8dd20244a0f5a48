"""The small set of cryptographic helpers Pulse uses. Keys are always passed in.

One key per purpose: every key is derived from the application secret with HKDF and a distinct label,
so a key leaked for one purpose (say, rate-limit buckets) says nothing about another (token hashes).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat


class KeyPurpose(StrEnum):
    """Labels for the keys derived from the application secret. Never reuse one for another purpose."""

    SESSION = "pulse/session-cookie/v1"
    CSRF = "pulse/csrf/v1"
    TOKEN_HASH = "pulse/token-hash/v1"  # noqa: S105 - a label, not a secret
    AUDIT_CHAIN = "pulse/audit-chain/v1"
    RATE_LIMIT = "pulse/rate-limit/v1"
    ROUND_KEY_WRAP = "pulse/round-key-wrap/v1"
    COMMENTS = "pulse/comments/v1"
    RESULTS_LINK = "pulse/results-link/v1"
    #: Encrypts a signed-in person's unlocked answer key inside their session cookie.
    SESSION_ANSWER_KEY = "pulse/session-answer-key/v1"
    #: Hashes the complaint box's reply keys (only the hash is stored).
    BOX_REPLY_KEY = "pulse/box-reply-key/v1"
    #: Encrypts the complaint box's texts at rest.
    BOX_TEXT = "pulse/box-text/v1"


def derive_key(secret: str, purpose: KeyPurpose, length: int = 32) -> bytes:
    """Derive the key for one purpose from the application secret."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=b"pulse", info=purpose.value.encode())
    return hkdf.derive(secret.encode())


def subkey(key: bytes, label: bytes, length: int = 32) -> bytes:
    """A key for one object (say, one round) derived from a purpose key."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=b"pulse-subkey", info=label).derive(key)


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


# --- sealing answers to a round --------------------------------------------------------------------------------
# Answers are sealed to a per-round X25519 key (ephemeral-static ECDH, HKDF-SHA256, AES-256-GCM). The private half
# is stored only wrapped under a key derived from the application secret, and erased when the round closes.

_SEAL_INFO = b"pulse/seal-answer/v1"


#: A private X25519 key (a round's sealing key, or a person's answer key).
PrivateKey = X25519PrivateKey


def new_private_key() -> PrivateKey:
    return X25519PrivateKey.generate()


class SealError(Exception):
    """A sealed value could not be opened (wrong key, or the data was changed)."""


def new_round_keypair(wrap_key: bytes, round_label: bytes) -> tuple[bytes, bytes]:
    """A fresh X25519 key pair as ``(public key, wrapped private key)``."""
    return new_keypair(wrap_key, b"round-key:" + round_label)


def unwrap_round_key(wrap_key: bytes, wrapped: bytes, round_label: bytes) -> X25519PrivateKey:
    return unwrap_private_key(wrap_key, wrapped, b"round-key:" + round_label)


def new_keypair(wrap_key: bytes, context: bytes) -> tuple[bytes, bytes]:
    """A fresh X25519 key pair as ``(public key, private key encrypted under wrap_key)``."""
    private = X25519PrivateKey.generate()
    return public_key_bytes(private), wrap_private_key(wrap_key, private, context)


def wrap_private_key(wrap_key: bytes, private: X25519PrivateKey, context: bytes) -> bytes:
    return _aead_encrypt(wrap_key, private_key_bytes(private), context)


def unwrap_private_key(wrap_key: bytes, wrapped: bytes, context: bytes) -> X25519PrivateKey:
    """:raises SealError: for a wrong key or context, or changed data."""
    return private_key_from_bytes(_aead_decrypt(wrap_key, wrapped, context))


def public_key_bytes(private: X25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def random_bytes(n: int) -> bytes:
    return secrets.token_bytes(n)


def private_key_bytes(private: X25519PrivateKey) -> bytes:
    return private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def private_key_from_bytes(raw: bytes) -> X25519PrivateKey:
    """:raises SealError: when ``raw`` is not a private key."""
    try:
        return X25519PrivateKey.from_private_bytes(raw)
    except ValueError as exc:
        raise SealError("not a key") from exc


def seal(public_key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """Encrypt ``plaintext`` so that only the holder of the round's private key can read it."""
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(public_key))
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_public + public_key,
               info=_SEAL_INFO).derive(shared)
    return ephemeral_public + _aead_encrypt(key, plaintext, context)


def unseal(private_key: X25519PrivateKey, sealed: bytes, context: bytes) -> bytes:
    """Open a value made by :func:`seal`.

    :raises SealError: for a wrong key, another context, or changed data.
    """
    if len(sealed) < 32 + 12 + 16:
        raise SealError("too short")
    ephemeral_public, body = sealed[:32], sealed[32:]
    public = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    shared = private_key.exchange(X25519PublicKey.from_public_bytes(ephemeral_public))
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=ephemeral_public + public, info=_SEAL_INFO).derive(shared)
    return _aead_decrypt(key, body, context)


def encrypt(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    """AES-256-GCM with a random nonce; ``context`` is authenticated (binds the value to its place)."""
    return _aead_encrypt(key, plaintext, context)


def decrypt(key: bytes, data: bytes, context: bytes) -> bytes:
    """Reverse :func:`encrypt`. :raises SealError: when the key or context is wrong or data changed."""
    return _aead_decrypt(key, data, context)


def _aead_encrypt(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def _aead_decrypt(key: bytes, data: bytes, context: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(data[:12], data[12:], context)
    except (InvalidTag, ValueError) as exc:
        raise SealError("cannot open") from exc
