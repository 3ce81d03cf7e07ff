"""The scoring formulas, as pure functions: a score and the arithmetic behind it.

Each function returns a ``ScoreBreakdown``: the score (``None`` when an input the
method needs is missing: "not scorable", never a crash), each factor with its value
and its part in the result, and the whole sum written out as a leader would check it
on paper, e.g. ``2,000 reach × 2 impact × 80% confidence ÷ 8 engineer-weeks = 400``.

The same arithmetic runs in SQL for the ranking (``scoring.selectors``); the two are
tested to agree, operation for operation, on SQLite and PostgreSQL.

**RICE** = reach × impact × (confidence ÷ 100) ÷ effort_weeks.

**WSJF** = (business value + time criticality + risk reduction) ÷ effort_weeks.
Each of the three adds (its value ÷ effort) to the score: that is its contribution.

**Weighted criteria** = Σ weight × normalised value, over the criteria whose weight is
positive (a criterion weighted 0 needs no input). Every input is normalised to 0..1:

====================  =============================================================
business_value        business value ÷ 10             (1..10 -> 0.1..1)
time_criticality      time criticality ÷ 10           (1..10 -> 0.1..1)
risk_reduction        risk reduction ÷ 10             (1..10 -> 0.1..1)
strategic_alignment   strategic alignment ÷ 5         (1..5  -> 0.2..1)
confidence            confidence ÷ 100                (50/80/100 % -> 0.5/0.8/1)
effort                1 − min(effort, 52) ÷ 52        (smaller is better: 0 weeks -> 1,
                                                       26 weeks -> 0.5, 52 or more -> 0)
====================  =============================================================

52 engineer-weeks (one engineer for a year) is ``EFFORT_CAP_WEEKS``: anything that
large scores nothing for effort. With weights summing to 1 the score lies in 0..1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

RICE = "rice"
WSJF = "wsjf"
WEIGHTED = "weighted"

EFFORT_CAP_WEEKS = 52.0

NOT_SCORABLE = "Not scorable: needs {missing}."


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    divisor: float  # the normalised value is value ÷ divisor (effort: see module docstring)


# The weighted-criteria inputs, in the order they are summed (the SQL sums in this order too).
CRITERIA: tuple[Criterion, ...] = (
    Criterion("business_value", "business value", 10.0),
    Criterion("time_criticality", "time criticality", 10.0),
    Criterion("risk_reduction", "risk reduction", 10.0),
    Criterion("strategic_alignment", "strategic alignment", 5.0),
    Criterion("confidence", "confidence", 100.0),
    Criterion("effort", "effort (smaller is better)", EFFORT_CAP_WEEKS),
)
CRITERION_KEYS = tuple(c.key for c in CRITERIA)

# The Initiative field each input is read from.
FIELD_FOR = {"effort": "effort_weeks"}

LABELS = {
    "reach": "reach", "impact": "impact", "confidence": "confidence",
    "effort_weeks": "effort", "business_value": "business value",
    "time_criticality": "time criticality", "risk_reduction": "risk reduction",
    "strategic_alignment": "strategic alignment",
}


@dataclass(frozen=True)
class Factor:
    """One input of a score: what it is, its value, and its part in the result.

    ``contribution`` is the amount the factor adds to the score where the method is a
    sum (WSJF, weighted criteria); RICE multiplies, so its factors carry ``None`` and
    ``explanation`` says what each does ("× 2", "÷ 8").
    """

    key: str
    label: str
    value: float | None
    explanation: str
    contribution: float | None = None


@dataclass(frozen=True)
class ScoreBreakdown:
    method: str
    score: float | None
    factors: tuple[Factor, ...]
    expression: str
    missing: tuple[str, ...] = ()

    @property
    def scorable(self) -> bool:
        return self.score is not None


def fmt(number: float | int | Decimal | None) -> str:
    """A number as a leader reads it: thousands separated, at most 2 decimals (3 below 1)."""
    if number is None:
        return "—"
    value = float(number)
    places = 3 if 0 < abs(value) < 1 else 2
    text = f"{value:,.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _not_scorable(method: str, missing: list[str], factors: list[Factor]) -> ScoreBreakdown:
    labels = ", ".join(LABELS.get(name, name) for name in missing)
    return ScoreBreakdown(method=method, score=None, factors=tuple(factors),
                          expression=NOT_SCORABLE.format(missing=labels),
                          missing=tuple(missing))


def _effort_missing(effort: float | None) -> bool:
    # Zero effort is refused by a CHECK constraint; guard anyway (the SQL does: NULLIF).
    return effort is None or effort <= 0


def rice(*, reach: Any, impact: Any, confidence: Any, effort_weeks: Any) -> ScoreBreakdown:
    """RICE = reach × impact × (confidence ÷ 100) ÷ effort_weeks."""
    r, i, c, e = _float(reach), _float(impact), _float(confidence), _float(effort_weeks)
    factors = [
        Factor("reach", "Reach", r, f"× {fmt(r)} people per quarter"),
        Factor("impact", "Impact", i, f"× {fmt(i)} impact"),
        Factor("confidence", "Confidence", c, f"× {fmt(c)}%"),
        Factor("effort_weeks", "Effort", e, f"÷ {fmt(e)} engineer-weeks"),
    ]
    missing = [name for name, value in (("reach", r), ("impact", i), ("confidence", c))
               if value is None]
    if _effort_missing(e):
        missing.append("effort_weeks")
    if missing:
        return _not_scorable(RICE, missing, factors)
    score = r * i * (c / 100.0) / e
    expression = (f"{fmt(r)} reach × {fmt(i)} impact × {fmt(c)}% confidence "
                  f"÷ {fmt(e)} engineer-weeks = {fmt(score)}")
    return ScoreBreakdown(RICE, score, tuple(factors), expression)


def wsjf(*, business_value: Any, time_criticality: Any, risk_reduction: Any,
         effort_weeks: Any) -> ScoreBreakdown:
    """WSJF = (business value + time criticality + risk reduction) ÷ effort_weeks."""
    parts = [("business_value", "Business value", _float(business_value)),
             ("time_criticality", "Time criticality", _float(time_criticality)),
             ("risk_reduction", "Risk reduction", _float(risk_reduction))]
    e = _float(effort_weeks)
    missing = [key for key, _, value in parts if value is None]
    if _effort_missing(e):
        missing.append("effort_weeks")
    if missing:
        factors = [Factor(key, label, value, f"{fmt(value)} of 10") for key, label, value in parts]
        factors.append(Factor("effort_weeks", "Effort", e, f"÷ {fmt(e)} engineer-weeks"))
        return _not_scorable(WSJF, missing, factors)
    factors = [Factor(key, label, value, f"{fmt(value)} ÷ {fmt(e)} weeks = {fmt(value / e)}",
                      contribution=value / e)
               for key, label, value in parts]
    factors.append(Factor("effort_weeks", "Effort", e, f"÷ {fmt(e)} engineer-weeks"))
    total = sum(int(value) for _, _, value in parts)  # whole numbers, added exactly (as in SQL)
    score = float(total) / e
    expression = (f"({' + '.join(f'{fmt(value)} {label.lower()}' for _, label, value in parts)})"
                  f" ÷ {fmt(e)} engineer-weeks = {fmt(total)} ÷ {fmt(e)} = {fmt(score)}")
    return ScoreBreakdown(WSJF, score, tuple(factors), expression)


def normalise(criterion: Criterion, raw: float) -> float:
    """The criterion's input on a 0..1 scale (module docstring)."""
    if criterion.key == "effort":
        return 1.0 - min(raw, EFFORT_CAP_WEEKS) / EFFORT_CAP_WEEKS
    return raw / criterion.divisor


def _normalised_text(criterion: Criterion, raw: float, normalised: float) -> str:
    if criterion.key == "effort":
        return (f"1 − min({fmt(raw)}, {fmt(EFFORT_CAP_WEEKS)}) ÷ {fmt(EFFORT_CAP_WEEKS)}"
                f" = {fmt(normalised)}")
    return f"{fmt(raw)} ÷ {fmt(criterion.divisor)} = {fmt(normalised)}"


def weighted(*, inputs: Mapping[str, Any], weights: Mapping[str, Any]) -> ScoreBreakdown:
    """Weighted criteria = Σ weight × normalised value over criteria with a positive weight.

    ``inputs`` maps criterion key (``CRITERION_KEYS``; ``effort`` is the effort in weeks)
    to its raw value; unknown weight keys are ignored (the services refuse them).
    """
    factors: list[Factor] = []
    missing: list[str] = []
    terms: list[tuple[Criterion, float, float, float]] = []
    for criterion in CRITERIA:
        weight = float(weights.get(criterion.key) or 0)
        if weight <= 0:
            continue
        raw = _float(inputs.get(criterion.key))
        if raw is None or (criterion.key == "effort" and raw <= 0):
            missing.append(FIELD_FOR.get(criterion.key, criterion.key))
            factors.append(Factor(criterion.key, criterion.label.capitalize(), raw,
                                  f"weight {fmt(weight)} × (missing)"))
            continue
        terms.append((criterion, weight, raw, normalise(criterion, raw)))
    if not terms and not missing:
        return ScoreBreakdown(WEIGHTED, None, (), "Not scorable: the model has no positive "
                              "weight.", ())
    if missing:
        return _not_scorable(WEIGHTED, missing, factors)
    score = None
    for criterion, weight, raw, normalised in terms:
        contribution = weight * normalised
        score = contribution if score is None else score + contribution
        factors.append(Factor(
            criterion.key, criterion.label.capitalize(), raw,
            f"{fmt(weight)} × ({_normalised_text(criterion, raw, normalised)})"
            f" = {fmt(contribution)}",
            contribution=contribution))
    expression = (" + ".join(f"{fmt(w)} × {fmt(n)} {c.label.split(' (')[0]}"
                             for c, w, _, n in terms) + f" = {fmt(score)}")
    return ScoreBreakdown(WEIGHTED, score, tuple(factors), expression)


def score_initiative(initiative: Any, *, method: str,
                     weights: Mapping[str, Any] | None = None) -> ScoreBreakdown:
    """The breakdown for any object with the Initiative's sizing fields (no query)."""
    if method == RICE:
        return rice(reach=initiative.reach, impact=initiative.impact,
                    confidence=initiative.confidence, effort_weeks=initiative.effort_weeks)
    if method == WSJF:
        return wsjf(business_value=initiative.business_value,
                    time_criticality=initiative.time_criticality,
                    risk_reduction=initiative.risk_reduction,
                    effort_weeks=initiative.effort_weeks)
    if method == WEIGHTED:
        inputs = {key: getattr(initiative, FIELD_FOR.get(key, key)) for key in CRITERION_KEYS}
        return weighted(inputs=inputs, weights=weights or {})
    raise ValueError(f"Unknown scoring method {method!r}")


def breakdown(initiative: Any, *, model: Any) -> ScoreBreakdown:
    """``score_initiative`` with a ``ScoringModel``'s method and weights."""
    return score_initiative(initiative, method=model.method, weights=model.weights)
