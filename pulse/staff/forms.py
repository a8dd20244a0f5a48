"""The base form and small helpers shared by the forms of every blueprint."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flask import abort
from flask_wtf import FlaskForm
from wtforms import MultipleFileField, SelectMultipleField
from wtforms.fields.choices import SelectChoice

#: Fields that legitimately arrive with several values.
MULTI_VALUED = (SelectMultipleField, MultipleFileField)


class Form(FlaskForm):
    """The base of every Pulse form.

    A field that takes one value but arrives with several is refused with 400: WTForms would quietly keep the
    first, and no browser sends that, so the request was forged or broken.
    """

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        for field in self:
            if len(field.raw_data or ()) > 1 and not isinstance(field, MULTI_VALUED):
                abort(400)
        return bool(super().validate(extra_validators))


def choices(pairs: Iterable[tuple[object, object]]) -> list[SelectChoice]:
    """Select options from ``(value, label)`` pairs (labels may be lazy strings)."""
    return [SelectChoice(value, label) for value, label in pairs]
