"""The demo's stalled pilots and digests: TPMs following their teams, stalls flagged over
the last weeks, some decided (an extension, a scale-up waiting on governance) and some
not (escalated to their sponsors), and last week's digest already sent.

Everything goes through the services, at moments in the past relative to the demo's
``now``. Demo data never goes to a mail server: last week's digests are sent only when
mail stays on this machine (``var/mail/`` on the embedded default, or the console,
file and memory backends); with any other backend (SMTP) they are skipped, and the
command says so. This week's go out on Monday morning, or within 15 minutes through
the catch-up job if the hour has passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from portfolio.config import EMAIL_BACKENDS
from portfolio.management.demo_data import TEAM_STAFF
from portfolio.models import StallFlag
from portfolio.pilots.digest.content import period_of, scheduled_at
from portfolio.pilots.digest.delivery import digest_run, digest_send
from portfolio.pilots.digest.subscriptions import digest_subscription_set
from portfolio.pilots.services import stall_decide, stalls_detect

# Detection as if it had run daily: a few runs over the last five weeks give the flags
# realistic ages (and the undecided ones time to escalate).
DETECTION_DAYS_AGO = (35, 28, 21, 14, 7, 1, 0)
# Backends that keep mail on this machine; anything else may reach a real mailbox.
LOCAL_EMAIL_BACKENDS = frozenset({
    EMAIL_BACKENDS["console"], EMAIL_BACKENDS["file"], EMAIL_BACKENDS["memory"],
    "django.core.mail.backends.dummy.EmailBackend",
})
EXTENSION = ("Waiting for the Q1 data refresh before deciding; the vendor contract runs "
             "until then.")


def mail_stays_local() -> bool:
    return settings.EMAIL_BACKEND in LOCAL_EMAIL_BACKENDS


def load_stalls_and_digests(loader) -> int | None:
    """Returns how many of last week's digests were sent; None when they were skipped
    because mail would leave this machine."""
    now, users, teams = loader.now, loader.users, loader.teams
    followed: dict[str, list] = {}
    for slug, (_, _, tpm) in TEAM_STAFF.items():
        followed.setdefault(tpm, []).append(teams[slug])
    for tpm, tpm_teams in followed.items():
        digest_subscription_set(user=users[tpm], teams=tpm_teams, opted_out=False,
                                now=now - timedelta(days=40))
    last_week = scheduled_at(period_of(now) - timedelta(weeks=1))
    # In time order: detection runs, last Monday's digests, then this week's decisions.
    timeline = [(now - timedelta(days=days), "detect") for days in DETECTION_DAYS_AGO]
    if mail_stays_local():
        timeline.append((last_week, "digest"))
    timeline.append((now - timedelta(days=3), "decide"))
    sent = None
    for at, step in sorted(timeline):
        if step == "detect":
            stalls_detect(now=at)
        elif step == "digest":
            outcomes = [digest_send(delivery_id=pk, now=at)
                        for pk in digest_run(now=at, enqueue=False).claimed]
            sent = sum(outcome.status == "sent" for outcome in outcomes)
        else:
            _decide_some(at, users)
    return sent


def _decide_some(at: datetime, users) -> None:
    """The oldest open stall is extended by its owner; the next is a scale-up a TPM asked
    for while governance still blocks production; the rest wait for a decision."""
    open_flags = list(StallFlag.objects.open().select_related("initiative__owner")
                      .order_by("flagged_at", "initiative__title"))
    if open_flags:
        flag = open_flags[0]
        stall_decide(flag=flag, decision="extend", actor=flag.initiative.owner, now=at,
                     note=EXTENSION, extend_until=timezone.localdate(at) + timedelta(days=45))
    if len(open_flags) > 1:
        stall_decide(flag=open_flags[1], decision="scale", actor=users["tpm"],
                     now=at + timedelta(hours=1),
                     note="The pilot met its target; take it to production.")

