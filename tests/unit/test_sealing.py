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
