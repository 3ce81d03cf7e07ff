"""What ownership health reads instead of every initiative's history (issue 22).

These tables are kept by PostgreSQL triggers (``migrations/0016_ownership_stored``,
``0020_owner_seen``, ``0021_owner_seen_problems``), in
the writing transaction, whoever writes (a service, the admin, a bulk load); on other
databases nobody writes them and ``portfolio.selectors.with_ownership_health`` computes
the same facts directly. ``tests/portfolio/test_ownership_stored.py`` proves the stored
rows equal the direct computation after every kind of write.
"""

from django.conf import settings
from django.db import models


class LastWord(models.Model):
    """A person's latest act anywhere in the product (``selectors.owner_last_word``): the
    latest of their activities as actor and their updates as author. No row: never acted."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.DO_NOTHING,
                                primary_key=True, db_constraint=False,
                                related_name="last_word")
    at = models.DateTimeField()

    class Meta:
        # "Who has been silent since": a range read on the time.
        indexes = [models.Index(fields=["at"], name="lastword_at")]

    def __str__(self) -> str:
        return f"user {self.user_id} last acted at {self.at:%Y-%m-%d %H:%M}"


class NobodyResponsible(models.Model):
    """An initiative past the idea stage, not retired, on which no active user holds the
    Responsible role (``with_ownership_health``'s ``nobody_responsible``)."""

    initiative = models.OneToOneField("portfolio.Initiative", on_delete=models.DO_NOTHING,
                                      primary_key=True, db_constraint=False,
                                      related_name="unstaffed")

    class Meta:
        verbose_name_plural = "nobody responsible"

    def __str__(self) -> str:
        return f"nobody responsible for initiative {self.initiative_id}"


class OwnerSeen(models.Model):
    """When an initiative's owner was last seen (``with_ownership_health``'s
    ``owner_seen_at``): the later of their last word (``LastWord``) and ``since``, the
    moment they became its owner (its latest ``owner_changed`` activity, else its
    creation). One row per initiative.

    The ownership page reads its rows in ``at`` order (``selectors.OwnershipGaps``):
    ``live`` (not retired) and ``flagged`` (live, and its owner left or nobody is
    Responsible: a problem whatever the date) say which, since an owner is silent exactly
    when ``at`` is before the cutoff. Its counts (``selectors.ownership_page_counts``) read
    the problems themselves: ``owner_left`` and ``unstaffed`` (nobody Responsible), each of a
    live initiative, and ``quiet_since``, the later of ``at`` and the creation (the owner
    of a live initiative who has not left is silent exactly when it is before the cutoff)
    (``migrations/0021_owner_seen_problems``)."""

    initiative = models.OneToOneField("portfolio.Initiative", on_delete=models.DO_NOTHING,
                                      primary_key=True, db_constraint=False,
                                      related_name="owner_seen")
    since = models.DateTimeField()
    at = models.DateTimeField()
    live = models.BooleanField()
    flagged = models.BooleanField()
    owner_left = models.BooleanField()
    unstaffed = models.BooleanField()
    quiet_since = models.DateTimeField()

    class Meta:
        verbose_name_plural = "owners seen"
        # Longest neglected first: the live rows seen before the silence cutoff, then the
        # flagged ones seen since, each a LIMIT read of its index.
        indexes = [
            models.Index(fields=["at", "initiative"], condition=models.Q(live=True),
                         name="ownerseen_live"),
            models.Index(fields=["at", "initiative"], condition=models.Q(flagged=True),
                         name="ownerseen_flagged"),
            # The counts: the silent by a range on the time, the others among the flagged.
            models.Index(fields=["quiet_since"], include=["unstaffed"],
                         condition=models.Q(live=True, owner_left=False),
                         name="ownerseen_quiet"),
            models.Index(fields=["owner_left", "unstaffed"], condition=models.Q(flagged=True),
                         name="ownerseen_problems"),
        ]

    def __str__(self) -> str:
        return f"owner of initiative {self.initiative_id} last seen at {self.at:%Y-%m-%d %H:%M}"
