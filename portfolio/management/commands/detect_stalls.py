"""`manage.py detect_stalls`: the daily stalled-pilot job, by hand (beat runs it daily)."""

from django.core.management.base import BaseCommand

from portfolio.management.commands._now import add_now_argument, now_from
from portfolio.pilots.services import stalls_detect


class Command(BaseCommand):
    help = ("Flag stalled pilots (each once), resolve flags that no longer hold and escalate "
            "undecided stalls to their sponsors.")

    def add_arguments(self, parser):
        add_now_argument(parser)

    def handle(self, *args, **options):
        result = stalls_detect(now=now_from(options))
        self.stdout.write(f"Flagged {result.flagged}, resolved {result.resolved}, "
                          f"escalated {result.escalated}.")
