"""Give every scoring model version a creation record in its history.

The estimate-accuracy view asks which version was active when an initiative entered pilot
(``scoring.value.active_model_at``). The services write a history record (dated with
their ``now``) at every creation, revision and activation, but the default versions were
created by a data migration (0002), which writes none: without this record the time a
default version was active from, and the fact that it was, is unknown. The record is
dated ``created_at`` and holds the version as it is now (its state when created, as far
as anything recorded says).
"""

from django.db import migrations


def backfill(apps, schema_editor):
    ScoringModel = apps.get_model("scoring", "ScoringModel")
    History = apps.get_model("scoring", "HistoricalScoringModel")
    recorded = set(History.objects.values_list("id", flat=True))
    History.objects.bulk_create([
        History(id=model.pk, name=model.name, version=model.version, method=model.method,
                weights=model.weights, description=model.description,
                is_active=model.is_active, created_at=model.created_at,
                created_by_id=model.created_by_id, history_date=model.created_at,
                history_type="+", history_change_reason="recorded from created_at")
        for model in ScoringModel.objects.exclude(pk__in=recorded)
    ])


class Migration(migrations.Migration):

    dependencies = [
        ("scoring", "0005_standings_invalidation"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
