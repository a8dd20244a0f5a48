"""How strengths and concerns are ranked: by the published figure only, a censored mean by its published bound
(docs/ANONYMITY.md, "Censored figures"), with the values worked out by hand."""

from __future__ import annotations

import pytest

from pulse.disclosure import HIDDEN, Figures, Form, QuestionInfo, QuestionRow, _score
from pulse.domain.scales import SCALES
from pulse.domain.stats import bound_value


def row(figures: Figures, *, scale: str = "agree5", reverse: bool = False, sensitive: bool = False) -> QuestionRow:
    question = QuestionInfo("Q", 1, "workload", scale, sensitive, reverse, "Fråga", "Question")
    return QuestionRow(question, figures, HIDDEN, None)


def bound(censor: str) -> Figures:
    return Figures(Form.BOUND, 1, censor=censor)


def exact(mean: float) -> Figures:
    return Figures(Form.EXACT, 1, 12, mean=mean, sd=1.0)


@pytest.mark.parametrize(("figures", "options", "expected"), [
    (bound("low"), {}, 0.125),                        # "≤ 1,5" on 1–5: (1.5 − 1) / 4
    (bound("high"), {}, 0.875),                       # "≥ 4,5": (4.5 − 1) / 4
    (bound("low"), {"reverse": True}, 0.875),         # low is good on a reversed item
    (bound("low"), {"scale": "enps"}, 0.05),          # "≤ 0,5" on 0–10
    (exact(2.3), {}, 0.325),
    (HIDDEN, {}, None),
    (bound("low"), {"sensitive": True}, None),        # sensitive items are flags, never concerns
    (Figures(Form.EXACT, 1, 12, yes=10, dist=(9, 1, 0), flag=True), {"scale": "yesno"}, None),
])
def test_a_bound_scores_as_its_bound(figures: Figures, options: dict[str, object], expected: float | None) -> None:
    score = _score(row(figures, **options))  # type: ignore[arg-type]
    assert score == expected if expected is None else abs((score or 0) - expected) < 1e-12


def test_everyone_at_the_bottom_ranks_below_any_exact_mean_above_the_bound() -> None:
    worst, low = _score(row(bound("low"))), _score(row(exact(1.6)))
    assert worst is not None and low is not None and worst < low


def test_bound_values() -> None:
    assert bound_value("low", SCALES["agree5"]) == 1.5 and bound_value("high", SCALES["agree5"]) == 4.5
    assert bound_value("low", SCALES["enps"]) == 0.5 and bound_value("high", SCALES["enps"]) == 9.5
    assert bound_value(None, SCALES["agree5"]) is None and bound_value("other", SCALES["agree5"]) is None
