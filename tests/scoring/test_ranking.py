"""The ranking is computed in SQL and agrees with the formulas, on SQLite and PostgreSQL."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from portfolio.models import Initiative
from scoring import formulas
from scoring.models import ScoringModel
from scoring.selectors import active_scoring_model, ranked_initiatives
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

BALANCED = {"business_value": 0.3, "time_criticality": 0.15, "risk_reduction": 0.15,
            "strategic_alignment": 0.2, "confidence": 0.1, "effort": 0.1}
METHODS = [("rice", {}), ("wsjf", {}), ("weighted", BALANCED),
           ("weighted", {"business_value": 0.7, "effort": 0.3})]


def model(method, weights=None):
    return ScoringModel(name=f"test {method}", method=method, weights=weights or {})


def sized(**fields):
    values = {"reach": 1000, "impact": 1.0, "confidence": 100, "effort_weeks": Decimal("10"),
              "business_value": 5, "time_criticality": 5, "risk_reduction": 5,
              "strategic_alignment": 3}
    values.update(fields)
    return InitiativeFactory(**values)


def test_the_migration_installs_rice_active_wsjf_and_balanced_criteria():
    defaults = {m.name: m for m in ScoringModel.objects.filter(version=1)}

    assert {"RICE", "WSJF", "Balanced criteria"} <= set(defaults)
    assert active_scoring_model() == defaults["RICE"]
    assert sum(defaults["Balanced criteria"].weights.values()) == pytest.approx(1.0)


def test_rice_ranks_by_score_best_first():
    low = sized(title="low", reach=100)      # 100 × 1 × 1 ÷ 10 = 10
    high = sized(title="high", reach=4000)   # 4000 × 1 × 1 ÷ 10 = 400
    mid = sized(title="mid", reach=1000)     # 1000 × 1 × 1 ÷ 10 = 100

    ranked = list(ranked_initiatives(Initiative.objects.all(), model=model("rice")))

    assert [(i.title, i.rank) for i in ranked] == [("high", 1), ("mid", 2), ("low", 3)]
    assert [i.score for i in ranked] == pytest.approx([400.0, 100.0, 10.0])
    assert [i.pk for i in ranked] == [high.pk, mid.pk, low.pk]


def test_ties_go_to_the_older_initiative_then_the_lower_id():
    newer = sized(title="newer", created_at=FIXED_NOW)
    sized(title="older", created_at=FIXED_NOW - timedelta(days=30))
    same_age_first = sized(title="same age, first id", created_at=FIXED_NOW)

    ranked = list(ranked_initiatives(Initiative.objects.all(), model=model("wsjf")))

    # All three score (5 + 5 + 5) ÷ 10 = 1.5.
    assert [i.score for i in ranked] == pytest.approx([1.5, 1.5, 1.5])
    assert [i.title for i in ranked] == ["older", "newer", "same age, first id"]
    assert newer.pk < same_age_first.pk
    assert [i.rank for i in ranked] == [1, 2, 3]


def test_unscorable_initiatives_rank_last_by_age():
    old_unsized = InitiativeFactory(title="old unsized",
                                    created_at=FIXED_NOW - timedelta(days=99))
    sized(title="scored", reach=1)
    new_unsized = InitiativeFactory(title="new unsized")

    ranked = list(ranked_initiatives(Initiative.objects.all(), model=model("rice")))

    assert [i.title for i in ranked] == ["scored", "old unsized", "new unsized"]
    assert [i.score for i in ranked][1:] == [None, None]
    assert [i.pk for i in ranked][1:] == [old_unsized.pk, new_unsized.pk]


def test_zero_weight_criterion_missing_does_not_make_weighted_unscorable():
    row = sized(strategic_alignment=None, business_value=6)

    ranked = ranked_initiatives(Initiative.objects.filter(pk=row.pk),
                                model=model("weighted", {"business_value": 1.0,
                                                         "strategic_alignment": 0}))

    assert ranked.get().score == pytest.approx(0.6)


def test_ranking_within_a_team_numbers_that_team_only():
    team = TeamFactory(name="Ops", slug="ops")
    sized(reach=9000)  # another team's, better, not counted
    ours = sized(team=team, reach=10)

    ranked = list(ranked_initiatives(Initiative.objects.filter(team=team), model=model("rice")))

    assert [(i.pk, i.rank) for i in ranked] == [(ours.pk, 1)]


def _portfolio(count, seed=7):
    rng = random.Random(seed)
    team = TeamFactory(name="Team R", slug="team-r")
    owner = UserFactory(username="ranked-owner", roles=["pm"])

    def maybe(value):
        return None if rng.random() < 0.1 else value

    rows = []
    for n in range(count):
        rows.append(InitiativeFactory.build(
            team=team, owner=owner,
            reach=maybe(rng.randint(0, 100_000)),
            impact=maybe(rng.choice([0.25, 0.5, 1.0, 2.0, 3.0])),
            confidence=maybe(rng.choice([50, 80, 100])),
            effort_weeks=maybe(Decimal(rng.randint(1, 1200)) / 10),
            business_value=maybe(rng.randint(1, 10)), time_criticality=maybe(rng.randint(1, 10)),
            risk_reduction=maybe(rng.randint(1, 10)),
            strategic_alignment=maybe(rng.randint(1, 5)),
            created_at=FIXED_NOW - timedelta(hours=rng.randint(0, 5) if n else 0)))
    return Initiative.objects.bulk_create(rows)


@pytest.mark.parametrize(("method", "weights"), METHODS)
def test_sql_scores_equal_the_formulas(method, weights):
    _portfolio(200)
    scoring = model(method, weights)

    ranked = list(ranked_initiatives(Initiative.objects.all(), model=scoring))

    for row in ranked:
        expected = formulas.breakdown(row, model=scoring).score
        if expected is None:
            assert row.score is None, row.pk
        else:
            assert row.score == pytest.approx(expected, rel=1e-12, abs=1e-9), row.pk
    # And the SQL order is exactly the formulas' order (None last, then age, then id).
    in_python = sorted(ranked, key=lambda r: (
        formulas.breakdown(r, model=scoring).score is None,
        -(formulas.breakdown(r, model=scoring).score or 0), r.created_at, r.pk))
    assert [r.pk for r in ranked] == [r.pk for r in in_python]
    assert [r.rank for r in ranked] == list(range(1, len(ranked) + 1))
    assert any(r.score is None for r in ranked)
    assert any(r.score is not None for r in ranked)


@pytest.mark.parametrize("size", [10, 300])
@pytest.mark.parametrize(("method", "weights"), METHODS)
def test_ranking_page_query_count_does_not_grow_with_the_portfolio(
        django_assert_num_queries, size, method, weights):
    _portfolio(size)
    scoring = model(method, weights)

    # 1 query: the ranked, annotated rows with their team and owner.
    with django_assert_num_queries(1):
        page = list(ranked_initiatives(Initiative.objects.with_list_relations(),
                                       model=scoring)[:50])
        breakdowns = [formulas.breakdown(row, model=scoring) for row in page]
        labels = [(row.team.name, row.owner.username) for row in page]

    assert len(page) == min(size, 50) == len(breakdowns) == len(labels)


def test_no_active_model_ranks_everything_by_age():
    ScoringModel.objects.update(is_active=False)
    older = sized(created_at=FIXED_NOW - timedelta(days=1))
    newer = sized()

    ranked = list(ranked_initiatives(Initiative.objects.all(), model=active_scoring_model()))

    assert [(r.pk, r.score) for r in ranked] == [(older.pk, None), (newer.pk, None)]
