"""The default checkpoint catalogue (docs/architecture.md, "Governance")."""

from django.db import migrations

from governance.catalogue import DEFAULT_CATALOGUE, load_default_catalogue


def load(apps, schema_editor):
    load_default_catalogue(apps.get_model("governance", "CheckpointType"))


def unload(apps, schema_editor):
    CheckpointType = apps.get_model("governance", "CheckpointType")
    CheckpointType.objects.filter(code__in=[entry[0] for entry in DEFAULT_CATALOGUE],
                                  checkpoints__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_checkpoints")]
    operations = [migrations.RunPython(load, unload)]
