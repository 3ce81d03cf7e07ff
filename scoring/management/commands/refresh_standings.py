"""`manage.py refresh_standings`: recompute the dashboard's stored standings by hand.

Every write that changes them queues the same job for the worker, and beat runs it every
few minutes; run it by hand after loading data behind the services' back (a restore, a
bulk SQL fix) so readers see current standings without waiting for beat. Without
``--force`` nothing is done when the standings are current.
"""

from django.core.management.base import BaseCommand

from portfolio.management.commands._now import add_now_argument, now_from
from scoring.standings import standings_refresh


class Command(BaseCommand):
    help = ("Recompute the dashboard's standings (ranks, this quarter's funding line, the "
            "KPI flags) if anything they read changed.")

    def add_arguments(self, parser):
        add_now_argument(parser)
        parser.add_argument("--force", action="store_true",
                            help="recompute even when they are current")

    def handle(self, *args, **options):
        snapshot = standings_refresh(now=now_from(options), force=options["force"])
        self.stdout.write(f"Standings of {snapshot.initiatives:,} initiatives as of "
                          f"{snapshot.taken_at:%Y-%m-%d %H:%M:%S} (computed in "
                          f"{snapshot.seconds:.1f} s).")
