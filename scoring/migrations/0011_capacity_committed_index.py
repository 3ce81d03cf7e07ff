"""The capacity page read per team (issue 22): ``capacity_committed`` holds each committed
initiative's team and effort (pilot, production, scaled), so a page of teams sums its own
committed effort and counts its unsized work from the index alone
(``scoring.capacity.capacity_page``), whatever the size of the portfolio.

The index is on the portfolio app's table, plain SQL that PostgreSQL and SQLite share (the
``Initiative`` model's state is unchanged), like the kill log's indexes (portfolio
migration 0018).
"""

from django.db import migrations

COMMITTED = ("CREATE INDEX capacity_committed ON portfolio_initiative (team_id, effort_weeks) "
             "WHERE stage IN ('pilot', 'production', 'scaled');")


class Migration(migrations.Migration):

    dependencies = [
        ("scoring", "0010_value_store"),
    ]

    operations = [
        migrations.RunSQL(COMMITTED, reverse_sql="DROP INDEX capacity_committed;"),
    ]
