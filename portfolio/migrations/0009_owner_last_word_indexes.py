"""Ownership health reads the owner's latest act anywhere in the product (their latest
activity and their latest update on any initiative): one index probe each."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("portfolio", "0008_ai_profile_assumed"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="activity",
            index=models.Index(fields=["actor", "-at"], name="activity_actor_recent"),
        ),
        migrations.AddIndex(
            model_name="update",
            index=models.Index(fields=["author", "-created_at"], name="update_author_recent"),
        ),
    ]
