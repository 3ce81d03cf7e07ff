"""`manage.py record_funding_line`: the daily funding-line job, by hand (beat runs it daily).

Records where each initiative stands against this quarter's funding line; each change
since the last record is a "crossed the funding line" activity for the digest. Safe to
rerun: each crossing is recorded once.
"""

from django.core.management.base import BaseCommand

from portfolio.management.commands._now import add_now_argument, now_from
from scoring import services


class Command(BaseCommand):
    help = ("Record who is above or below this quarter's funding line; each crossing since "
            "the last record becomes an activity for the digest.")

    def add_arguments(self, parser):
        add_now_argument(parser)

    def handle(self, *args, **options):
        crossings = services.funding_line_record(now=now_from(options))
        self.stdout.write(f"Recorded {crossings} crossing{'' if crossings == 1 else 's'} of "
                          "the funding line.")
