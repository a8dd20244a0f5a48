"""One question's figures in one release cell: the one typed form, and its JSON in ``release_cell.stats``.

Pure (no Flask, no SQLAlchemy). pulse.domain.protection makes :class:`Figures`, pulse.services.releases stores them
with :func:`cell_json`, and every reader gets them back with :func:`read_cell` — the gate (pulse.disclosure) for
what is shown, and the audit of a later version (pulse.services.releases) for what an earlier one showed. Nothing
else reads or writes the JSON.

Two readings of stored figures, both here:

- **as stored** (:meth:`Figures.from_json`): exactly what the release held when it was frozen, also for releases
  frozen under older rules — what the audit of a later version must count as known;
- **as published** (:meth:`Figures.published`): what may be shown today. Releases frozen before censored figures were
  protected and figures rounded are read by today's rules, so they show no more than a new release would
  (docs/ANONYMITY.md, "Censored figures", "Yes/no items and flags", "Precision").

A new release's figures are the same in both readings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from pulse.domain.stats import one_decimal, whole


class Form(StrEnum):
    """How one question's figures in one cell are shown."""

    HIDDEN = "hidden"  # "too few answers" — also when nobody answered
    BOUND = "bound"  # only a censored bound, "≤ 1,5" or "≥ 4,5": no n, no mean (docs/ANONYMITY.md, "Censored figures")
    EXACT = "exact"  # the figures themselves, at published precision


@dataclass(frozen=True)
class Figures:
    """One question in one cell, as published (docs/ANONYMITY.md, "Precision": means and SD to one decimal,
    shares and eNPS whole numbers — every page, chart, export and API response uses these and nothing finer).

    Only ``censor`` (and ``version``) is set when the form is BOUND; nothing is set when it is HIDDEN.
    """

    form: Form = Form.HIDDEN
    #: The version of the question the figures answer (stored as ``v``).
    version: int | None = None
    n: int | None = None
    mean: float | None = None
    censor: str | None = None
    sd: float | None = None
    dist: tuple[int, ...] | None = None
    enps: int | None = None
    yes: int | None = None
    skip: int | None = None
    #: Yes/no items only (None for every other scale): any "yes" among the answers, for risk assessment.
    flag: bool | None = None

    @property
    def exact(self) -> bool:
        return self.form is Form.EXACT

    @property
    def bound(self) -> bool:
        return self.form is Form.BOUND

    @property
    def hidden(self) -> bool:
        return self.form is Form.HIDDEN

    @property
    def yes_no(self) -> bool:
        return self.flag is not None or self.yes is not None

    @property
    def shows_sum(self) -> bool:
        """The answered count (and so the sum) was shown exactly: the layer at ``k`` (for a yes/no item its only
        layer). A bound is a hidden cell."""
        return self.exact and self.n is not None

    @property
    def shows_distribution(self) -> bool:
        """The distribution was shown: the layer at ``k_dist``."""
        return self.exact and self.dist is not None

    def to_json(self) -> dict[str, object]:
        """As stored in ``release_cell.stats`` (under the question's code); empty when hidden."""
        if self.form is Form.HIDDEN:
            return {}
        if self.form is Form.BOUND:
            return {"v": self.version, "censor": self.censor}  # the bound and nothing more: no n, no mean
        result: dict[str, object] = {"v": self.version, "n": self.n}
        optional: dict[str, object]
        if self.yes_no:
            optional = {"yes": self.yes, "dist": _list(self.dist), "skip": self.skip, "flag": self.flag}
        else:
            optional = {"mean": self.mean, "sd": self.sd, "dist": _list(self.dist), "skip": self.skip,
                        "enps": self.enps}
        result.update((name, value) for name, value in optional.items() if value is not None)
        return result

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> Figures:
        """Stored figures as they were frozen (older releases included: see :meth:`published` for showing them).

        Shares and eNPS are whole numbers here already (older releases stored them unrounded); means and standard
        deviations are rounded by :meth:`published`."""
        version = _integer(raw.get("v"))
        censor = raw.get("censor")
        if censor in ("low", "high"):
            # Older releases stored a bound's n as well: a bound is a hidden figure, so it is not kept.
            return cls(Form.BOUND, version, censor=str(censor))
        if censor is not None:
            return HIDDEN  # not a bound this code knows: show nothing
        n = _integer(raw.get("n"))
        if n is None:
            return cls(Form.HIDDEN)
        dist = raw.get("dist")
        flag = raw.get("flag")
        return cls(Form.EXACT, version, n, mean=_number(raw.get("mean")), sd=_number(raw.get("sd")),
                   dist=tuple(int(v) for v in dist) if isinstance(dist, list) else None,
                   enps=_rounded(raw.get("enps")), yes=_rounded(raw.get("yes")), skip=_rounded(raw.get("skip")),
                   flag=bool(flag) if flag is not None or "yes" in raw else None)

    def published(self) -> Figures:
        """What may be shown of stored figures today:

        - a bound shows its bound only;
        - nobody answering looks like too few answering (older releases stored ``n`` = 0);
        - a yes/no item shows nothing without its distribution, i.e. below ``k_dist`` (older releases stored a flag
          there, docs/ANONYMITY.md, "Yes/no items and flags");
        - every number at published precision (older releases stored exact means and shares).
        """
        if self.form is Form.BOUND:
            return Figures(Form.BOUND, self.version, censor=self.censor)
        if self.form is Form.HIDDEN or not self.n or self.n < 0 or (self.yes_no and self.dist is None):
            return HIDDEN
        return Figures(Form.EXACT, self.version, self.n, mean=one_decimal(self.mean), sd=one_decimal(self.sd),
                       dist=self.dist, enps=self.enps, yes=self.yes, skip=self.skip,
                       flag=bool(self.flag) if self.yes_no else None)


#: Nothing shown.
HIDDEN = Figures()


def cell_json(figures: Mapping[str, Figures]) -> str:
    """A cell's figures (question code → figures) as the ``release_cell.stats`` column holds them; hidden ones are
    left out."""
    return json.dumps({code: f.to_json() for code, f in figures.items() if not f.hidden}, separators=(",", ":"))


def read_cell(stats: str) -> dict[str, Figures]:
    """A ``release_cell.stats`` column as stored (question code → figures); :meth:`Figures.published` for showing."""
    raw = json.loads(stats or "{}")
    if not isinstance(raw, dict):
        return {}
    return {str(code): Figures.from_json(value) for code, value in raw.items() if isinstance(value, dict)}


def _list(values: tuple[int, ...] | None) -> list[int] | None:
    return None if values is None else list(values)


def _integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _rounded(value: object) -> int | None:
    """A share or eNPS as a whole number (older releases stored them unrounded)."""
    return whole(_number(value))
