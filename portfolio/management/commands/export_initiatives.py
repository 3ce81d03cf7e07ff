"""Export initiatives as CSV, the way the list's "Export CSV" does.

    manage.py export_initiatives [--output FILE] [--team SLUG] [--stage STAGE]
                                 [--owner USERNAME] [--search TEXT] [--sort KEY]

Without filters it writes the whole portfolio, most recent activity first.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from portfolio import csv_io, selectors
from portfolio.forms import InitiativeFilterForm
from portfolio.selectors import SORTS

OPTIONS = {"q": "search"}   # the list's filter names that the command spells differently


class Command(BaseCommand):
    help = "Write initiatives as CSV to standard output or a file, optionally filtered."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="Write to this file instead of stdout.")
        parser.add_argument("--team", help="A team's slug.")
        parser.add_argument("--stage", help="A stage, e.g. pilot.")
        parser.add_argument("--owner", help="The owner's username.")
        parser.add_argument("--search", help="Text in the title or summary.")
        parser.add_argument("--sort", choices=list(SORTS), default="recent")

    def handle(self, *args, output=None, team=None, stage=None, owner=None, search=None,
               sort="recent", **options):
        if owner == "me":
            raise CommandError('--owner needs a username ("me" means nobody here).')
        form = InitiativeFilterForm({"team": team or "", "stage": stage or "",
                                     "owner": owner or "", "q": search or "", "sort": sort})
        if not form.is_valid():
            raise CommandError("; ".join(f"--{OPTIONS.get(name, name)}: {' '.join(errors)}"
                                         for name, errors in form.errors.items()))
        now = timezone.now()
        queryset = selectors.initiative_export_list(fetched_by=None, filters=form.cleaned_data,
                                                    now=now)
        chunks = csv_io.export_rows(queryset)
        if output:
            try:
                with open(output, "w", encoding="utf-8", newline="") as file:
                    for chunk in chunks:
                        file.write(chunk)
            except OSError as exc:
                raise CommandError(f"Cannot write {output}: {exc.strerror or exc}.") from exc
            return
        # The byte-order mark helps spreadsheets open a file, not a pipe.
        for index, chunk in enumerate(chunks):
            self.stdout.write(chunk.removeprefix("\ufeff") if index == 0 else chunk, ending="")
