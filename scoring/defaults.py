"""The default scoring models, loaded by a data migration (and by ``seed_demo`` into a
database a test flushed): RICE v1 (active), WSJF v1 and "Balanced criteria" v1."""

from django.utils import timezone

DEFAULTS = [
    {"name": "RICE", "method": "rice", "weights": {}, "activate": True,
     "description": "Reach × impact × confidence ÷ effort in engineer-weeks."},
    {"name": "WSJF", "method": "wsjf", "weights": {}, "activate": False,
     "description": "(Business value + time criticality + risk reduction) ÷ effort."},
    {"name": "Balanced criteria", "method": "weighted", "activate": False,
     "weights": {"business_value": 0.3, "time_criticality": 0.15, "risk_reduction": 0.15,
                 "strategic_alignment": 0.2, "confidence": 0.1, "effort": 0.1},
     "description": "Value first, then alignment, urgency and risk; a little for confidence "
                    "and for small effort. Weights sum to 1, so scores lie in 0..1."},
]


def load_default_models(ScoringModel) -> None:  # noqa: N803 (a model class, as migrations pass it)
    """Create the default models that are missing; never a second active one."""
    now = timezone.now()
    any_active = ScoringModel.objects.filter(is_active=True).exists()
    for spec in DEFAULTS:
        if ScoringModel.objects.filter(name=spec["name"]).exists():
            continue
        ScoringModel.objects.create(
            name=spec["name"], version=1, method=spec["method"], weights=spec["weights"],
            description=spec["description"], is_active=spec["activate"] and not any_active,
            created_at=now)
