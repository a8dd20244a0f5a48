"""The small set of cryptographic helpers: one key per purpose, sealing, AEAD, tokens, constant-time compare."""

from __future__ import annotations

import pytest

from pulse.domain import crypto
from pulse.domain.crypto import KeyPurpose

SECRET = "a-test-secret-that-is-long-enough-for-pulse"


def test_every_purpose_has_its_own_key_and_the_same_secret_gives_the_same_keys() -> None:
    keys = {purpose: crypto.derive_key(SECRET, purpose) for purpose in KeyPurpose}
    assert len(set(keys.values())) == len(KeyPurpose)
    assert all(len(k) == 32 for k in keys.values())
    assert crypto.derive_key(SECRET, KeyPurpose.TOKEN_HASH) == keys[KeyPurpose.TOKEN_HASH]
    assert crypto.derive_key(SECRET + "x", KeyPurpose.TOKEN_HASH) != keys[KeyPurpose.TOKEN_HASH]
    assert len({purpose.value for purpose in KeyPurpose}) == len(KeyPurpose)  # labels are never reused


def test_subkeys_differ_per_object() -> None:
    key = crypto.derive_key(SECRET, KeyPurpose.COMMENTS)
    assert crypto.subkey(key, b"round:1") != crypto.subkey(key, b"round:2")
    assert crypto.subkey(key, b"round:1") == crypto.subkey(key, b"round:1")


def test_tokens_have_at_least_128_bits() -> None:
    tokens = {crypto.new_token() for _ in range(200)}
    assert len(tokens) == 200 and all(len(t) >= 22 for t in tokens)
    with pytest.raises(ValueError, match="128 bits"):
        crypto.new_token(15)


def test_keyed_hashes_and_constant_time_compare() -> None:
    key = crypto.derive_key(SECRET, KeyPurpose.TOKEN_HASH)
    digest = crypto.keyed_hash(key, "value")
    assert len(digest) == 64 and digest == crypto.keyed_hash(key, "value")
    assert digest != crypto.keyed_hash(crypto.derive_key(SECRET, KeyPurpose.RATE_LIMIT), "value")
    assert crypto.equals("abc", b"abc") and not crypto.equals("abc", "abd")


def test_sealing_opens_only_with_the_right_key_and_context() -> None:
    private = crypto.new_private_key()
    public = crypto.public_key_bytes(private)
    sealed = crypto.seal(public, b"answer", b"pulse-round:1")
    assert crypto.unseal(private, sealed, b"pulse-round:1") == b"answer"
    assert crypto.seal(public, b"answer", b"pulse-round:1") != sealed  # a fresh ephemeral key every time
    with pytest.raises(crypto.SealError):
        crypto.unseal(crypto.new_private_key(), sealed, b"pulse-round:1")
    with pytest.raises(crypto.SealError):
        crypto.unseal(private, sealed, b"pulse-round:2")  # moved to another round
    with pytest.raises(crypto.SealError):
        crypto.unseal(private, sealed[:-1] + bytes([sealed[-1] ^ 1]), b"pulse-round:1")
    with pytest.raises(crypto.SealError):
        crypto.unseal(private, b"short", b"pulse-round:1")


def test_wrapped_private_keys() -> None:
    wrap = crypto.derive_key(SECRET, KeyPurpose.ROUND_KEY_WRAP)
    public, wrapped = crypto.new_round_keypair(wrap, b"pulse-round:7")
    private = crypto.unwrap_round_key(wrap, wrapped, b"pulse-round:7")
    assert crypto.public_key_bytes(private) == public
    assert crypto.private_key_from_bytes(crypto.private_key_bytes(private)).private_bytes_raw() == \
        private.private_bytes_raw()
    with pytest.raises(crypto.SealError):
        crypto.unwrap_round_key(wrap, wrapped, b"pulse-round:8")
    with pytest.raises(crypto.SealError):
        crypto.unwrap_round_key(crypto.derive_key(SECRET, KeyPurpose.COMMENTS), wrapped, b"pulse-round:7")
    with pytest.raises(crypto.SealError):
        crypto.private_key_from_bytes(b"not 32 bytes")


def test_aead_binds_its_context() -> None:
    key = crypto.derive_key(SECRET, KeyPurpose.COMMENTS)
    data = crypto.encrypt(key, b"kommentar", b"ctx")
    assert crypto.decrypt(key, data, b"ctx") == b"kommentar"
    with pytest.raises(crypto.SealError):
        crypto.decrypt(key, data, b"other")
    assert len(crypto.random_bytes(16)) == 16
