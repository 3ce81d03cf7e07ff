"""The free-text exit contract is gone: 0011 read it into the structured fields."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [("portfolio", "0011_exit_contract_from_text")]

    operations = [
        migrations.RemoveField(
            model_name='historicalinitiative',
            name='baseline',
        ),
        migrations.RemoveField(
            model_name='historicalinitiative',
            name='measured_result',
        ),
        migrations.RemoveField(
            model_name='historicalinitiative',
            name='target',
        ),
        migrations.RemoveField(
            model_name='initiative',
            name='baseline',
        ),
        migrations.RemoveField(
            model_name='initiative',
            name='measured_result',
        ),
        migrations.RemoveField(
            model_name='initiative',
            name='target',
        ),
    ]
