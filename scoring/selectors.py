"""Scoring reads: the active model and the ranking, computed in the database.

The ranking is one SQL expression per method, the same arithmetic, in the same order,
as ``scoring.formulas`` (tested to agree on SQLite and PostgreSQL). Every input is cast
to a float first, so ``effort_weeks`` (a decimal) and the whole-number fields divide as
floats on both databases. A row missing an input the method needs scores NULL and
sorts last; ties go to the older initiative (``created_at``, then ``id``).
"""

from __future__ import annotations

from django.db.models import (
    Case,
    Expression,
    F,
    FloatField,
    QuerySet,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, NullIf, RowNumber

from portfolio.models import Initiative
from scoring import formulas
from scoring.models import ScoringModel


def active_scoring_model() -> ScoringModel | None:
    """The one active scoring model (the partial unique constraint allows no second)."""
    return ScoringModel.objects.filter(is_active=True).first()


def scoring_model_list() -> QuerySet[ScoringModel]:
    """Every version of every model, newest version first within a name."""
    return ScoringModel.objects.select_related("created_by").order_by("name", "-version")


def _float(field: str) -> Expression:
    return Cast(field, output_field=FloatField())


def _literal(number: float) -> Value:
    return Value(float(number), output_field=FloatField())


def _effort() -> Expression:
    # NULLIF guards a zero effort (a CHECK constraint refuses one anyway): the score is
    # NULL, like the formulas' "not scorable", instead of a division error on PostgreSQL.
    return NullIf(_float("effort_weeks"), _literal(0.0))


def rice_expression() -> Expression:
    """reach × impact × (confidence ÷ 100) ÷ effort_weeks."""
    return (_float("reach") * _float("impact") * (_float("confidence") / _literal(100.0))
            / _effort())


def wsjf_expression() -> Expression:
    """(business value + time criticality + risk reduction) ÷ effort_weeks."""
    total = Cast(F("business_value") + F("time_criticality") + F("risk_reduction"),
                 output_field=FloatField())
    return total / _effort()


def _normalised(criterion: formulas.Criterion) -> Expression:
    if criterion.key == "effort":
        cap = formulas.EFFORT_CAP_WEEKS
        # min(effort, cap) as CASE: LEAST() ignores NULLs on PostgreSQL, MIN() does not on
        # SQLite; a missing effort must leave the whole score NULL on both.
        capped = Case(When(effort_weeks__gte=cap, then=_literal(cap)), default=_effort(),
                      output_field=FloatField())
        return _literal(1.0) - capped / _literal(cap)
    return _float(criterion.key) / _literal(criterion.divisor)


def weighted_expression(weights: dict) -> Expression:
    """Σ weight × normalised value over the criteria with a positive weight."""
    score = None
    for criterion in formulas.CRITERIA:
        weight = float(weights.get(criterion.key) or 0)
        if weight <= 0:
            continue
        term = _literal(weight) * _normalised(criterion)
        score = term if score is None else score + term
    return score if score is not None else Value(None, output_field=FloatField())


def score_expression(model: ScoringModel | None) -> Expression:
    """The SQL score of ``model``'s method; NULL for every row when there is no model."""
    if model is None:
        return Value(None, output_field=FloatField())
    if model.method == formulas.RICE:
        return rice_expression()
    if model.method == formulas.WSJF:
        return wsjf_expression()
    if model.method == formulas.WEIGHTED:
        return weighted_expression(model.weights or {})
    raise ValueError(f"Unknown scoring method {model.method!r}")


def rank_order() -> list:
    """Best score first, unscorable last, ties to the older initiative (then the lower id)."""
    return [F("score").desc(nulls_last=True), F("created_at").asc(), F("id").asc()]


def ranked_initiatives(queryset: QuerySet[Initiative], *,
                       model: ScoringModel | None) -> QuerySet[Initiative]:
    """``queryset`` annotated with ``score`` and ``rank`` (1 = best), ordered by rank.

    One query however large the portfolio. The rank numbers the rows of ``queryset`` (and
    Django puts any later filter on an ordinary field inside the window too): to rank
    within a team, pass the team's initiatives.
    The breakdown of a row is ``scoring.formulas.breakdown(row, model=model)``, which
    reads only the row's own fields (no query).
    """
    return (queryset
            .annotate(score=score_expression(model))
            .annotate(rank=Window(RowNumber(), order_by=rank_order()))
            .order_by(*rank_order()))
