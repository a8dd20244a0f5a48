"""Answer scales. Pure: labels are English msgids marked with ``N_`` and translated where they are shown."""

from __future__ import annotations

from dataclasses import dataclass


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Mark a string for translation without translating it here."""
    return message


SKIP_LABEL = N_("Prefer not to say / don't know")


@dataclass(frozen=True)
class Scale:
    code: str
    #: (stored value, label msgid) in the order shown.
    options: tuple[tuple[int, str], ...]
    #: Labels for the two ends, read out with the question.
    low_label: str
    high_label: str
    #: Values that count as "yes" for flags (yes/no scales).
    flag_values: frozenset[int] = frozenset()

    @property
    def values(self) -> frozenset[int]:
        return frozenset(value for value, _ in self.options)

    @property
    def minimum(self) -> int:
        return min(self.values)

    @property
    def maximum(self) -> int:
        return max(self.values)

    def label(self, value: int) -> str:
        return dict(self.options)[value]


SCALES: dict[str, Scale] = {
    "agree5": Scale("agree5", (
        (1, N_("Do not agree at all")), (2, N_("Agree a little")), (3, N_("Partly agree")),
        (4, N_("Largely agree")), (5, N_("Fully agree")),
    ), N_("Do not agree at all"), N_("Fully agree")),
    "freq5": Scale("freq5", (
        (1, N_("Never")), (2, N_("Rarely")), (3, N_("Sometimes")), (4, N_("Often")), (5, N_("Always")),
    ), N_("Never"), N_("Always")),
    "yesno": Scale("yesno", (
        (0, N_("No")), (1, N_("Yes, once")), (2, N_("Yes, several times")),
    ), N_("No"), N_("Yes, several times"), flag_values=frozenset({1, 2})),
    "enps": Scale("enps", tuple((v, str(v)) for v in range(11)), N_("Not at all likely"), N_("Extremely likely")),
}

#: Free text has no scale; its answers become comments.
TEXT = "text"
ALL_SCALES = (*SCALES, TEXT)


def scale_of(code: str) -> Scale | None:
    return SCALES.get(code)


def check_value(scale_code: str, value: object, *, allow_skip: bool) -> int | None:
    """Validate one answer. ``None`` means "prefer not to say".

    :raises ValueError: ``skip_not_allowed`` or ``out_of_scale``.
    """
    if value is None:
        if not allow_skip:
            raise ValueError("skip_not_allowed")
        return None
    scale = SCALES[scale_code]
    if isinstance(value, bool) or not isinstance(value, int) or value not in scale.values:
        raise ValueError("out_of_scale")
    return value
