"""`manage.py waivers_lapse`: the daily waiver job, by hand (Celery beat runs it daily).

Reports each waiver that expired: its gate blocks again, and an initiative already past
that gate is recorded out of compliance. Safe to rerun: each lapse is reported once.
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from governance import services


class Command(BaseCommand):
    help = "Report expired checkpoint waivers (each once) and flag initiatives out of compliance."

    def handle(self, *args, **options):
        reported = services.waivers_lapse(now=timezone.now())
        self.stdout.write(f"Reported {reported} expired waiver{'' if reported == 1 else 's'}.")
