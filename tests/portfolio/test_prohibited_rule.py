""""A prohibited-risk initiative never goes beyond assessment" has one definition
(``portfolio.models.PROHIBITED_MAY_BE_IN``): the database constraint built from it and
``tier_allows_stage`` in Python agree on every combination of tier and stage."""

import itertools

import pytest
from django.db import IntegrityError, transaction

from portfolio.models import Initiative, RiskTier, Stage, tier_allows_stage
from tests.factories import InitiativeFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("tier", "stage"), itertools.product(RiskTier.values, Stage.values))
def test_the_database_and_python_agree(tier, stage):
    initiative = InitiativeFactory(risk_tier=RiskTier.MINIMAL, stage=Stage.IDEA,
                                   retirement_reason="other")
    try:
        with transaction.atomic():
            Initiative.objects.filter(pk=initiative.pk).update(risk_tier=tier, stage=stage)
        stored = True
    except IntegrityError:
        stored = False

    assert stored == tier_allows_stage(tier, stage)
