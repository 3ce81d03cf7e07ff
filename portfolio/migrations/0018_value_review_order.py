"""Indexes in (due_on, id) order for the value reviews: every review (the API's list), the
pending ones, the ones at risk awaiting a decision and the decided ones — each status of
the value reviews page is a range of one of them
(``portfolio.outcomes.value_selectors.ReviewsByUrgency``)."""

from django.db import migrations, models
from django.db.models import Q

ORDER = ["due_on", "id"]


class Migration(migrations.Migration):

    dependencies = [
        ("portfolio", "0017_kill_log_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="valuereview", name="value_review_pending"),
        migrations.AddIndex(model_name="valuereview",
                            index=models.Index(fields=ORDER, name="value_review_due_order")),
        migrations.AddIndex(model_name="valuereview", index=models.Index(
            fields=ORDER, condition=Q(recorded_at__isnull=True),
            name="value_review_pending_order")),
        migrations.AddIndex(model_name="valuereview", index=models.Index(
            fields=ORDER, condition=Q(at_risk=True, decision=""),
            name="value_review_at_risk_order")),
        migrations.AddIndex(model_name="valuereview", index=models.Index(
            fields=ORDER, condition=~Q(decision=""), name="value_review_decided_order")),
    ]
