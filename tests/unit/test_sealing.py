"""The sealed answer's plaintext: the same size whatever was answered or written, in any script."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pulse.domain import crypto
from pulse.domain.sealing import MAX_COMMENT, MAX_QUESTIONS, SEALED_SIZE, SealingError, open_payload, seal_payload

SCRIPTS = {
    "none": "",
    "latin": "x" * MAX_COMMENT,
    "swedish": "åäö" * (MAX_COMMENT // 3),
    "arabic": "ع" * MAX_COMMENT,
    "cjk": "語" * MAX_COMMENT,
    "emoji": "🙂" * MAX_COMMENT,
    "quotes and backslashes": '"\\' * (MAX_COMMENT // 2),
    "control characters": "\x01\n\t" * (MAX_COMMENT // 3),
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_answer_seals_to_one_size(script: str) -> None:
    values: list[int | None] = [10] * MAX_QUESTIONS
    plain = seal_payload(123_456_789, values, SCRIPTS[script] or None)
    assert len(plain) == SEALED_SIZE
    assert open_payload(plain) == (123_456_789, values, SCRIPTS[script] or None)
    key = crypto.new_private_key()
    public = crypto.public_key_bytes(key)
    short = crypto.seal(public, seal_payload(1, [None], None), b"r")
    assert len(crypto.seal(public, plain, b"r")) == len(short)


@given(st.integers(1, 2**40), st.lists(st.one_of(st.none(), st.integers(0, 10)), max_size=MAX_QUESTIONS),
       st.text(max_size=MAX_COMMENT))
def test_round_trip(unit: int, values: list[int | None], comment: str) -> None:
    try:
        comment.encode()
    except UnicodeEncodeError:
        return  # not text: the answer check refuses it before sealing
    plain = seal_payload(unit, values, comment or None)
    assert len(plain) == SEALED_SIZE
    assert open_payload(plain) == (unit, values, comment or None)


def test_what_does_not_fit_is_refused_not_cut() -> None:
    with pytest.raises(SealingError):
        seal_payload(1, [1], "🙂" * (SEALED_SIZE // 4))
    with pytest.raises(ValueError, match="not a sealed answer|Expecting"):
        open_payload(b"\x00\x05{bad}" + bytes(10))
    with pytest.raises(ValueError, match="not a sealed answer"):
        open_payload(b"\x00\x02{}" + bytes(10))  # no comment length


#: The sealed plaintext's size, written out rather than computed from the module's constants (issue 13: a test that
#: compares with a value computed from the padding constant passes whatever that constant becomes): 2 bytes of
#: header length, 1 024 for the header, and 4 × 2 000 for the longest comment in the widest script.
SEALED_BYTES = 9026
#: What a pending row stores: the ephemeral X25519 public key (32), AES-GCM's nonce (12) and tag (16) around it.
STORED_BYTES = SEALED_BYTES + 32 + 12 + 16
#: The longest comment the product accepts, 2 000 characters, in scripts of 1 to 4 bytes per character in UTF-8.
LONGEST = {"latin": "x" * 2000, "swedish": "å" * 2000, "arabic": "ع" * 2000, "cjk": "語" * 2000,
           "emoji": "🙂" * 2000, "mixed": ("aåع語🙂" * 400)}


@pytest.mark.parametrize("script", [None, *LONGEST])
def test_the_longest_comment_in_any_script_seals_to_the_size_of_no_comment(script: str | None) -> None:
    comment = LONGEST[script] if script else None
    assert MAX_COMMENT == 2000  # the limit these comments were written for
    public = crypto.public_key_bytes(crypto.new_private_key())
    for unit, values in ((1, [None]), (2**40, [10] * 60)):
        plain = seal_payload(unit, values, comment)
        assert len(plain) == SEALED_BYTES
        assert len(crypto.seal(public, plain, b"round/1")) == STORED_BYTES
        assert open_payload(plain) == (unit, values, comment)


def test_what_does_not_fit_the_fixed_size_is_refused_whole() -> None:
    """The comment limit is the service's (tests/integration/test_rounds.py); sealing fills the fixed size exactly
    and refuses one byte more rather than cutting: 2 + 27 header bytes ({"u":1,"v":[null],"n":8997}) + 8 997."""
    plain = seal_payload(1, [None], "x" * 8997)
    assert len(plain) == SEALED_BYTES and plain.endswith(b"x")
    with pytest.raises(SealingError):
        seal_payload(1, [None], "x" * 8998)
    # The header may take 1 024 bytes and no more: {"u":1,"v":[10,…,10],"n":0} with 335 values is 3 × 335 + 19.
    assert open_payload(seal_payload(1, [10] * 335, None)) == (1, [10] * 335, None)
    with pytest.raises(SealingError):
        seal_payload(10, [10] * 335, None)
