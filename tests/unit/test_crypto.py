"""The small set of cryptographic helpers: one key per purpose, sealing, AEAD, tokens, constant-time compare."""

from __future__ import annotations

import hashlib
import hmac

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


# --- known answers: keys that stay the same across versions (issue 13) -----------------------------------------------
# Every key Pulse stores data under (wrapped round keys, comment keys, token hashes) is derived from the application
# secret. A change of salt, label or length would silently make earlier data unreadable or earlier tokens unknown, so
# these tests compute the expected keys with HKDF written out from RFC 5869, not with the code under test.


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869's extract-and-expand with HMAC-SHA256, written out."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    okm, block = b"", b""
    for counter in range(1, -(-length // 32) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
    return okm[:length]


def test_the_written_out_hkdf_matches_rfc_5869() -> None:
    """RFC 5869, appendix A.1 (test case 1): the reference the tests below rely on."""
    okm = hkdf_sha256(bytes([0x0B] * 22), bytes(range(13)), bytes(range(0xF0, 0xFA)), 42)
    assert okm.hex() == ("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")


@pytest.mark.parametrize("purpose", list(KeyPurpose))
def test_purpose_keys_are_hkdf_of_the_secret_with_the_pulse_salt(purpose: KeyPurpose) -> None:
    assert crypto.derive_key(SECRET, purpose) == hkdf_sha256(SECRET.encode(), b"pulse", purpose.value.encode(), 32)
    assert crypto.derive_key(SECRET, purpose, 64) == hkdf_sha256(SECRET.encode(), b"pulse", purpose.value.encode(),
                                                                  64)


def test_subkeys_are_hkdf_of_the_purpose_key_with_their_own_salt() -> None:
    key = crypto.derive_key(SECRET, KeyPurpose.COMMENTS)
    assert crypto.subkey(key, b"round:1") == hkdf_sha256(key, b"pulse-subkey", b"round:1", 32)
    assert crypto.subkey(key, b"round:1", 16) == hkdf_sha256(key, b"pulse-subkey", b"round:1", 16)


def test_keyed_hashes_are_hmac_sha256_of_the_value() -> None:
    """RFC 4231, test case 2: HMAC-SHA256 with key "Jefe"."""
    assert crypto.keyed_hash(b"Jefe", "what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    assert crypto.keyed_hash(b"Jefe", "what do ya want for nothing") != crypto.keyed_hash(
        b"Jefe", "what do ya want for nothing?")


def test_tokens_carry_exactly_the_entropy_asked_for() -> None:
    """24 random bytes by default are 32 URL-safe characters; 16 bytes (128 bits) is the least accepted."""
    assert {len(crypto.new_token()) for _ in range(20)} == {32}
    assert {len(crypto.new_token(16)) for _ in range(20)} == {22}
    assert all(set(t) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
               for t in (crypto.new_token() for _ in range(20)))


def test_compare_takes_text_or_bytes_on_either_side() -> None:
    assert crypto.equals(b"abc", "abc") and crypto.equals("abc", b"abc") and crypto.equals(b"abc", b"abc")
    assert not crypto.equals(b"abc", "abd") and not crypto.equals("abd", b"abc")


def test_an_empty_value_seals_to_60_bytes_and_anything_shorter_is_refused() -> None:
    """Ephemeral key (32) + nonce (12) + tag (16): the shortest sealed value opens; every shorter input is refused
    with SealError (never another exception that callers would not catch)."""
    private = crypto.new_private_key()
    sealed = crypto.seal(crypto.public_key_bytes(private), b"", b"ctx")
    assert len(sealed) == 60 and crypto.unseal(private, sealed, b"ctx") == b""
    for length in range(60):
        with pytest.raises(crypto.SealError):
            crypto.unseal(private, sealed[:length], b"ctx")
