"""The default scoring models: RICE v1 (active), WSJF v1 and "Balanced criteria" v1."""

from django.db import migrations

from scoring.defaults import DEFAULTS, load_default_models

def create_defaults(apps, schema_editor):
    load_default_models(apps.get_model("scoring", "ScoringModel"))


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
