"""The kill log read by index (issue 22).

- ``kill_log_order``: retired initiatives in the kill log's order (retired newest first,
  then by id), so a page of the unsearched log is a LIMIT read.
- ``kill_log_sums``: per retirement reason and team, the effort and predicted value of
  each retired initiative, so the log's counts per reason and its effort and value totals
  are summed from the index alone (``portfolio.selectors.kill_log_summary``).

Both are partial (``stage = 'retired'``) and plain SQL that PostgreSQL and SQLite share;
they are not in ``Initiative.Meta`` (the model's state is unchanged), like the scoring
app's index for the capacity page.
"""

from django.db import migrations

ORDER = ("CREATE INDEX kill_log_order ON portfolio_initiative "
         "(stage_changed_at DESC, id DESC) WHERE stage = 'retired';")
SUMS = ("CREATE INDEX kill_log_sums ON portfolio_initiative "
        "(retirement_reason, team_id, effort_weeks, predicted_annual_value) "
        "WHERE stage = 'retired';")


class Migration(migrations.Migration):

    dependencies = [
        ("portfolio", "0016_ownership_stored"),
    ]

    operations = [
        migrations.RunSQL(ORDER, reverse_sql="DROP INDEX kill_log_order;"),
        migrations.RunSQL(SUMS, reverse_sql="DROP INDEX kill_log_sums;"),
    ]
