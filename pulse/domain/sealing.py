"""The plaintext format of a sealed answer: the same number of bytes for every answer.

Pure: no Flask, no SQLAlchemy. The size of a pending row must say nothing about what was answered or how much
was written, in any script (docs/ANONYMITY.md, "Storage while a round is open").
"""

from __future__ import annotations

import json
import struct

#: Longest comment accepted (characters). Longer ones are refused with a message, never cut silently.
MAX_COMMENT = 2000
#: Most questions a round may ask (bounds the sealed size below).
MAX_QUESTIONS = 60
#: Every sealed answer holds exactly this many bytes before encryption, whatever was answered or written, so the
#: size of a pending row says nothing about the answer (a comment in any script: at most 4 bytes per character in
#: UTF-8, stored as raw UTF-8 — never JSON-escaped, which would make some scripts six times larger than others).
SEALED_SIZE = 2 + 1024 + 4 * MAX_COMMENT


class SealingError(ValueError):
    """An answer does not fit the fixed size (more questions or text than the limits allow)."""


def seal_payload(unit_id: int, values: list[int | None], comment: str | None) -> bytes:
    """The plaintext of a sealed answer: a length-prefixed JSON header (unit, values, comment length), the comment
    as raw UTF-8, and zeros up to :data:`SEALED_SIZE` — the same size for every answer."""
    text = (comment or "").encode()
    header = json.dumps({"u": unit_id, "v": values, "n": len(text)}, separators=(",", ":")).encode()
    body = struct.pack(">H", len(header)) + header + text
    if len(header) > 1024 or len(body) > SEALED_SIZE:
        raise SealingError("too large")
    return body + bytes(SEALED_SIZE - len(body))


def open_payload(plain: bytes) -> tuple[int, list[int | None], str | None]:
    """Reverse :func:`seal_payload`: ``(unit, values, comment)``.

    :raises ValueError: when the bytes are not a sealed answer.
    """
    try:
        (length,) = struct.unpack(">H", plain[:2])
        header = json.loads(plain[2:2 + length])
        text = plain[2 + length:2 + length + int(header["n"])].decode()
        return int(header["u"]), list(header["v"]), text or None
    except (struct.error, KeyError, TypeError) as exc:
        raise ValueError("not a sealed answer") from exc
