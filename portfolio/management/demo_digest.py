"""The demo's stalled pilots and digests: TPMs following their teams, stalls flagged over
the last weeks, some decided (an extension, a scale-up waiting on governance) and some
not (escalated to their sponsors), and last week's digest already sent.

Everything goes through the services, at moments in the past relative to the demo's
``now``. Last week's digests are really sent, through the configured email backend
(``var/mail/`` on the embedded default); this week's go out on Monday morning, or
within 15 minutes through the catch-up job if the hour has passed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from portfolio.digest.content import period_of, scheduled_at
from portfolio.digest.delivery import digest_run, digest_send
from portfolio.digest.subscriptions import digest_subscription_set
from portfolio.management.demo_data import TEAM_STAFF
from portfolio.models import StallFlag
from portfolio.stalls import stall_decide, stalls_detect

# Detection as if it had run daily: a few runs over the last five weeks give the flags
# realistic ages (and the undecided ones time to escalate).
DETECTION_DAYS_AGO = (35, 28, 21, 14, 7, 1, 0)
EXTENSION = ("Waiting for the Q1 data refresh before deciding; the vendor contract runs "
             "until then.")


def load_stalls_and_digests(loader) -> None:
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
    timeline += [(last_week, "digest"), (now - timedelta(days=3), "decide")]
    for at, step in sorted(timeline):
        if step == "detect":
            stalls_detect(now=at)
        elif step == "digest":
            for pk in digest_run(now=at, enqueue=False).claimed:
                digest_send(delivery_id=pk, now=at)
        else:
            _decide_some(at, users)


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

