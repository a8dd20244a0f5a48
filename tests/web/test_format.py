"""How figures are written: the fast writing of means agrees with Babel's, in every language."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import force_locale, format_decimal

from pulse.common.format import bound_text, decimal_mark, mean_text, tenths
from pulse.disclosure import QuestionInfo
from pulse.domain.figures import Figures, Form
from pulse.domain.stats import one_decimal

MEANS = [1.0, 1.05, 1.25, 1.5, 2.0, 2.449, 2.45, 2.55, 2.733333, 3.0, 3.95, 4.05, 4.95, 5.0, 6.66, 9.99, 10.0]


@pytest.mark.parametrize(("language", "mark"), [("sv", ","), ("en", ".")])
def test_tenths_write_every_mean_as_babel_does(app: Flask, language: str, mark: str) -> None:
    with app.test_request_context(), force_locale(language):
        assert decimal_mark() == mark
        for value in MEANS + [i / 10 for i in range(0, 1001)]:
            rounded = one_decimal(value)
            assert rounded is not None
            assert tenths(rounded) == format_decimal(rounded, "0.0"), value


@pytest.mark.parametrize(("language", "low", "high"), [("sv", "≤ 1,5", "≥ 4,5"), ("en", "≤ 1.5", "≥ 4.5")])
def test_means_and_bounds_as_shown(app: Flask, language: str, low: str, high: str) -> None:
    question = QuestionInfo("q1", 1, "workload", "agree5", False, False, "Fråga", "Question")
    with app.test_request_context(), force_locale(language):
        assert mean_text(Figures(form=Form.EXACT, n=7, mean=2.733333, sd=1.0), question) == \
            ("2,7" if language == "sv" else "2.7")
        assert bound_text(Figures(form=Form.BOUND, censor="low"), question) == low
        assert bound_text(Figures(form=Form.BOUND, censor="high"), question) == high
