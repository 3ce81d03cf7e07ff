"""`manage.py send_digests`: build and send this ISO week's digests now, in this process.

Still once per recipient per week: a recipient whose digest was already claimed this
week gets nothing more. A transient SMTP failure leaves the delivery pending; the
catch-up job (or this command, run again later) retries it.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portfolio.management.commands._now import add_now_argument, now_from
from portfolio.models import DigestDelivery
from portfolio.pilots.digest.delivery import digest_run, digest_send


class Command(BaseCommand):
    help = "Send this week's digest to every recipient who has not had it (or to --to only)."

    def add_arguments(self, parser):
        add_now_argument(parser)
        parser.add_argument("--to", metavar="USERNAME", action="append",
                            help="Only this recipient (repeatable).")

    def handle(self, *args, **options):
        now = now_from(options)
        recipient_ids = None
        if options["to"]:
            users = get_user_model().objects.filter(username__in=options["to"])
            missing = set(options["to"]) - {user.username for user in users}
            if missing:
                raise CommandError(f"No such user: {', '.join(sorted(missing))}")
            recipient_ids = [user.pk for user in users]
        result = digest_run(now=now, enqueue=False, recipient_ids=recipient_ids)
        pending = DigestDelivery.objects.filter(period=result.period,
                                                status=DigestDelivery.Status.PENDING)
        if recipient_ids is not None:
            pending = pending.filter(recipient_id__in=recipient_ids)
        counts = {"sent": 0, "failed": 0, "retry": 0, "skipped": 0}
        for pk in pending.values_list("pk", flat=True):
            outcome = digest_send(delivery_id=pk, now=now)
            counts[outcome.status] += 1
            if outcome.error:
                self.stderr.write(f"Delivery {pk}: {outcome.error}")
        self.stdout.write(
            f"Week of {result.period}: claimed {len(result.claimed)} new digest(s), "
            f"{result.empty} recipient(s) with nothing to report; sent {counts['sent']}, "
            f"failed {counts['failed']}, left for retry {counts['retry']}.")
