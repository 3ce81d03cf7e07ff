"""The default scoring models: RICE v1 (active), WSJF v1 and "Balanced criteria" v1."""

from django.db import migrations
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


def create_defaults(apps, schema_editor):
    ScoringModel = apps.get_model("scoring", "ScoringModel")
    now = timezone.now()
    any_active = ScoringModel.objects.filter(is_active=True).exists()
    for spec in DEFAULTS:
        if ScoringModel.objects.filter(name=spec["name"]).exists():
            continue
        ScoringModel.objects.create(
            name=spec["name"], version=1, method=spec["method"], weights=spec["weights"],
            description=spec["description"], is_active=spec["activate"] and not any_active,
            created_at=now)


def remove_defaults(apps, schema_editor):
    ScoringModel = apps.get_model("scoring", "ScoringModel")
    ScoringModel.objects.filter(name__in=[spec["name"] for spec in DEFAULTS], version=1).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("scoring", "0001_scoring_models_and_capacity"),
    ]

    operations = [
        migrations.RunPython(create_defaults, remove_defaults),
    ]
