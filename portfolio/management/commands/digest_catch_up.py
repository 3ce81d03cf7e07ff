"""`manage.py digest_catch_up`: the catch-up job, by hand (beat runs it every 15 minutes).

Runs this week's digest if its Monday run never happened, and re-enqueues deliveries
that a lost message or a killed worker left unsent. Needs a worker to send them.
"""

from django.core.management.base import BaseCommand

from portfolio.management.commands._now import add_now_argument, now_from
from portfolio.pilots.digest.delivery import digest_catch_up


class Command(BaseCommand):
    help = "Run a missed weekly digest and re-enqueue unsent deliveries (each still sent once)."

    def add_arguments(self, parser):
        add_now_argument(parser)

    def handle(self, *args, **options):
        result = digest_catch_up(now=now_from(options))
        ran = "ran this week's missed digest; " if result.ran_week else ""
        self.stdout.write(f"Catch-up: {ran}re-enqueued {result.requeued} delivery(ies).")
