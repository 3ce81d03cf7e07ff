# Review lead times read each checkpoint type's latest decisions (selectors._lead_times).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('governance', '0003_text_limits'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='checkpoint',
            index=models.Index(condition=models.Q(('decided_at__isnull', False)), fields=['type', '-decided_at'], name='checkpoint_type_decided'),
        ),
    ]
