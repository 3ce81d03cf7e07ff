"""`manage.py similarity_reindex`: rebuild the duplicate finder's index for every initiative.

For operators: after a change to the normalisation in ``portfolio.similarity`` (stop
words, synonyms, stemmer), or to repair the index. Works through the portfolio in
batches of ids, each batch in its own transaction, so it can run on a live system and be
stopped and rerun at any point.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from portfolio.models import Initiative
from portfolio.similarity import index_initiatives


class Command(BaseCommand):
    help = "Rebuild the similarity (duplicate detection) index for all initiatives."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000,
                            help="Initiatives per batch (default 1000).")

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        last, done = 0, 0
        while batch := list(Initiative.objects.filter(pk__gt=last).order_by("pk")
                            .only("pk", "title", "summary")[:batch_size]):
            index_initiatives(batch)
            last, done = batch[-1].pk, done + len(batch)
        self.stdout.write(f"Re-indexed {done} initiatives for duplicate detection.")
