"""The formulas on worked examples: the score and the arithmetic a leader reads."""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from scoring import formulas

BALANCED = {"business_value": 0.3, "time_criticality": 0.15, "risk_reduction": 0.15,
            "strategic_alignment": 0.2, "confidence": 0.1, "effort": 0.1}


def initiative(**fields):
    values = dict.fromkeys(("reach", "impact", "confidence", "effort_weeks", "business_value",
                            "time_criticality", "risk_reduction", "strategic_alignment"))
    values.update(fields)
    return SimpleNamespace(**values)


# --- RICE ----------------------------------------------------------------------------------------

def test_rice_2000_reach_x2_impact_x80pct_over_8_weeks_is_400():
    result = formulas.rice(reach=2000, impact=2.0, confidence=80, effort_weeks=Decimal("8.0"))

    assert result.score == pytest.approx(400.0)
    assert result.expression == ("2,000 reach × 2 impact × 80% confidence "
                                 "÷ 8 engineer-weeks = 400")
    assert [f.key for f in result.factors] == ["reach", "impact", "confidence", "effort_weeks"]
    assert [f.explanation for f in result.factors] == [
        "× 2,000 people per quarter", "× 2 impact", "× 80%", "÷ 8 engineer-weeks"]


def test_rice_500_reach_x_quarter_impact_x50pct_over_2_5_weeks_is_25():
    # 500 × 0.25 × 0.5 ÷ 2.5 = 25
    result = formulas.rice(reach=500, impact=0.25, confidence=50, effort_weeks=Decimal("2.5"))

    assert result.score == pytest.approx(25.0)
    assert result.expression.endswith("÷ 2.5 engineer-weeks = 25")


def test_rice_with_zero_reach_scores_zero_not_missing():
    result = formulas.rice(reach=0, impact=3.0, confidence=100, effort_weeks=4)

    assert result.score == 0.0
    assert result.scorable


def test_rice_missing_inputs_is_not_scorable_and_names_them():
    result = formulas.rice(reach=None, impact=2.0, confidence=None, effort_weeks=None)

    assert result.score is None
    assert not result.scorable
    assert result.missing == ("reach", "confidence", "effort_weeks")
    assert result.expression == "Not scorable: needs reach, confidence, effort."


def test_rice_zero_effort_is_not_scorable_rather_than_a_division_error():
    result = formulas.rice(reach=100, impact=1.0, confidence=100, effort_weeks=Decimal("0"))

    assert result.score is None
    assert result.missing == ("effort_weeks",)


# --- WSJF ----------------------------------------------------------------------------------------

def test_wsjf_8_plus_5_plus_3_over_4_weeks_is_4():
    result = formulas.wsjf(business_value=8, time_criticality=5, risk_reduction=3,
                           effort_weeks=Decimal("4.0"))

    assert result.score == pytest.approx(4.0)
    assert result.expression == ("(8 business value + 5 time criticality + 3 risk reduction)"
                                 " ÷ 4 engineer-weeks = 16 ÷ 4 = 4")
    # Each part contributes value ÷ effort: 2 + 1.25 + 0.75 = 4.
    assert [f.contribution for f in result.factors[:3]] == [2.0, 1.25, 0.75]
    assert sum(f.contribution for f in result.factors[:3]) == pytest.approx(result.score)


def test_wsjf_10_plus_10_plus_10_over_12_5_weeks_is_2_4():
    result = formulas.wsjf(business_value=10, time_criticality=10, risk_reduction=10,
                           effort_weeks=Decimal("12.5"))

    assert result.score == pytest.approx(2.4)


def test_wsjf_missing_risk_reduction_is_not_scorable():
    result = formulas.wsjf(business_value=8, time_criticality=5, risk_reduction=None,
                           effort_weeks=4)

    assert result.score is None
    assert result.expression == "Not scorable: needs risk reduction."


def test_wsjf_zero_effort_is_not_scorable():
    assert formulas.wsjf(business_value=1, time_criticality=1, risk_reduction=1,
                         effort_weeks=0).score is None


# --- Weighted criteria ---------------------------------------------------------------------------

def test_weighted_balanced_worked_example_is_0_6():
    # business value 8/10 = 0.8 × 0.3  = 0.24
    # time crit.     6/10 = 0.6 × 0.15 = 0.09
    # risk red.      4/10 = 0.4 × 0.15 = 0.06
    # alignment      4/5  = 0.8 × 0.2  = 0.16
    # confidence    80/100= 0.8 × 0.1  = 0.08
    # effort  1 − 13/52  = 0.75 × 0.1  = 0.075
    # total                              0.705
    inputs = {"business_value": 8, "time_criticality": 6, "risk_reduction": 4,
              "strategic_alignment": 4, "confidence": 80, "effort": Decimal("13")}

    result = formulas.weighted(inputs=inputs, weights=BALANCED)

    assert result.score == pytest.approx(0.705)
    assert [round(f.contribution, 6) for f in result.factors] == [
        0.24, 0.09, 0.06, 0.16, 0.08, 0.075]
    assert result.factors[0].explanation == "0.3 × (8 ÷ 10 = 0.8) = 0.24"
    assert result.factors[5].explanation == "0.1 × (1 − min(13, 52) ÷ 52 = 0.75) = 0.075"
    assert result.expression.endswith("= 0.705")
    assert result.expression.startswith("0.3 × 0.8 business value + 0.15 × 0.6 time")


def test_weighted_effort_beyond_the_52_week_cap_counts_zero():
    result = formulas.weighted(inputs={"effort": 80}, weights={"effort": 1.0})

    assert result.score == 0.0


def test_weighted_criterion_with_zero_weight_needs_no_input():
    # Only business value is weighted: 1 × 5/10 = 0.5, even with everything else missing.
    result = formulas.weighted(inputs={"business_value": 5},
                               weights={"business_value": 1.0, "effort": 0})

    assert result.score == pytest.approx(0.5)
    assert [f.key for f in result.factors] == ["business_value"]


def test_weighted_missing_weighted_input_is_not_scorable():
    result = formulas.weighted(inputs={"business_value": 5, "effort": None}, weights=BALANCED)

    assert result.score is None
    assert "effort" in result.expression
    assert result.missing[0] == "time_criticality"


def test_weighted_without_positive_weight_is_not_scorable():
    assert formulas.weighted(inputs={"business_value": 5}, weights={}).score is None


# --- Dispatch -------------------------------------------------------------------------------------

def test_score_initiative_reads_the_initiative_fields_for_each_method():
    row = initiative(reach=2000, impact=2.0, confidence=80, effort_weeks=Decimal("8"),
                     business_value=8, time_criticality=6, risk_reduction=4,
                     strategic_alignment=4)

    assert formulas.score_initiative(row, method="rice").score == pytest.approx(400)
    assert formulas.score_initiative(row, method="wsjf").score == pytest.approx(18 / 8)
    # effort 8 -> 1 − 8/52; the rest as in the worked example above.
    expected = 0.24 + 0.09 + 0.06 + 0.16 + 0.08 + 0.1 * (1 - 8 / 52)
    assert formulas.score_initiative(row, method="weighted",
                                     weights=BALANCED).score == pytest.approx(expected)


def test_an_initiative_with_nothing_sized_is_not_scorable_by_any_method():
    row = initiative()

    for method in ("rice", "wsjf", "weighted"):
        assert formulas.score_initiative(row, method=method, weights=BALANCED).score is None


def test_fmt_reads_like_a_person_wrote_it():
    assert [formulas.fmt(x) for x in (2000, 400.0, 0.705, 2.5, 1234567.891, 0, None)] == [
        "2,000", "400", "0.705", "2.5", "1,234,567.89", "0", "—"]
