"""`manage.py schedule_value_reviews`: the daily value review job, by hand (beat runs it
daily)."""

from django.core.management.base import BaseCommand

from portfolio.management.commands._now import add_now_argument, now_from
from portfolio.outcomes.services import value_reviews_schedule


class Command(BaseCommand):
    help = ("Create the value reviews that came due for initiatives in production (each "
            "once; safe to run twice).")

    def add_arguments(self, parser):
        add_now_argument(parser)

    def handle(self, *args, **options):
        created = value_reviews_schedule(now=now_from(options))
        self.stdout.write(f"Scheduled {created} value review{'' if created == 1 else 's'}.")
