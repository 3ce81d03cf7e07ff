"""The stored facts ownership health reads (migrations 0016, 0020 and 0021: ``LastWord``,
``NobodyResponsible``, ``OwnerSeen``, kept by PostgreSQL triggers) equal the direct
computation after every kind of write, and the ownership page shows the same rows, order
and counts read either way (``selectors.ownership_stored``)."""

from datetime import timedelta
from importlib import import_module

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Exists, Max, OuterRef
from django.test.utils import CaptureQueriesContext

from portfolio import accounts, selectors, services
from portfolio.models import (
    Activity,
    Initiative,
    LastWord,
    NobodyResponsible,
    OwnerSeen,
    Stage,
    Stakeholder,
    Update,
)
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]

NOW = FIXED_NOW


def days_ago(days):
    return NOW - timedelta(days=days)


def direct_last_words() -> dict[int, object]:
    """Each person's latest activity as actor or update as author, computed directly."""
    words: dict[int, object] = {}
    for rows in (Activity.objects.exclude(actor=None).values("actor").annotate(at=Max("at"))
                 .values_list("actor", "at"),
                 Update.objects.values("author").annotate(at=Max("created_at"))
                 .values_list("author", "at")):
        for person, at in rows:
            words[person] = max(at, words.get(person, at))
    return words


def direct_nobody_responsible() -> set[int]:
    responsible = Stakeholder.objects.filter(initiative=OuterRef("pk"), role="R",
                                             user__is_active=True)
    return set(Initiative.objects.exclude(stage__in=[Stage.IDEA, Stage.RETIRED])
               .exclude(Exists(responsible)).values_list("pk", flat=True))


def direct_owners_seen() -> dict[int, tuple]:
    """Each initiative's stored row, computed directly: (owner since, owner seen at, live,
    flagged, owner left, nobody Responsible, quiet since). Since is its latest handover,
    else its creation; seen is the later of that and the owner's last word; flagged is the
    owner left or nobody Responsible; quiet since is the later of seen and the creation."""
    words = direct_last_words()
    unstaffed = direct_nobody_responsible()
    handovers = dict(Activity.objects.filter(kind=Activity.Kind.OWNER_CHANGED)
                     .values("initiative").annotate(at=Max("at")).values_list("initiative", "at"))
    rows = {}
    for pk, owner, active, created, stage in Initiative.objects.values_list(
            "pk", "owner", "owner__is_active", "created_at", "stage"):
        since = handovers.get(pk, created)
        seen = max(words.get(owner, since), since)
        live = stage != Stage.RETIRED
        left = live and not active
        rows[pk] = (since, seen, live, left or pk in unstaffed, left, pk in unstaffed,
                    max(seen, created))
    return rows


def assert_stored_equals_direct():
    assert dict(LastWord.objects.values_list("user", "at")) == direct_last_words()
    assert (set(NobodyResponsible.objects.values_list("initiative", flat=True))
            == direct_nobody_responsible())
    assert ({pk: row for pk, *row in OwnerSeen.objects.values_list(
        "initiative", "since", "at", "live", "flagged", "owner_left", "unstaffed",
        "quiet_since")} == {pk: list(row) for pk, row in direct_owners_seen().items()})


@pytest.fixture
def people(db):
    return {name: UserFactory(username=name, roles=["pm"]) for name in ("ana", "ben", "cy")}


@pytest.fixture
def initiative(people):
    created = services.initiative_create(actor=people["ana"], owner=people["ana"],
                                         now=days_ago(90), title="Claims triage",
                                         team=TeamFactory())
    Initiative.objects.filter(pk=created.pk).update(stage=Stage.ASSESSMENT)
    created.refresh_from_db()
    return created


def test_the_stored_facts_follow_every_kind_of_write(people, initiative, tpm):
    ana, ben, cy = people["ana"], people["ben"], people["cy"]
    assert_stored_equals_direct()      # created and moved past the idea: nobody Responsible
    assert NobodyResponsible.objects.filter(initiative=initiative).exists()

    # A Responsible joins; they post an update; someone acts.
    role = services.stakeholder_add(initiative=initiative, user=ben, role="R", actor=ana,
                                    now=days_ago(70))
    assert_stored_equals_direct()
    update = services.update_post(initiative=initiative, author=ben, body="On track",
                                  health="on_track", now=days_ago(60))
    services.activity_record(initiative=initiative, kind=Activity.Kind.UPDATE_POSTED,
                             actor=cy, now=days_ago(50))
    assert_stored_equals_direct()
    # Many activities at once (one statement).
    services.activities_record(activities=[
        Activity(initiative=initiative, kind=Activity.Kind.UPDATE_POSTED, actor=person,
                 at=days_ago(days)) for person, days in ((ana, 40), (cy, 45), (ana, 30))],
        now=days_ago(30))
    assert_stored_equals_direct()
    # An older act does not move anyone's last word back.
    services.activity_record(initiative=initiative, kind=Activity.Kind.UPDATE_POSTED,
                             actor=cy, now=days_ago(200))
    assert_stored_equals_direct()
    # Their latest word is withdrawn: the one before it is their last word again.
    services.update_delete(update=update, actor=ben, now=days_ago(20))
    assert_stored_equals_direct()
    # An activity's time or actor corrected in place.
    latest = Activity.objects.filter(actor=ana).order_by("-at").first()
    Activity.objects.filter(pk=latest.pk).update(at=days_ago(300))
    assert_stored_equals_direct()
    Activity.objects.filter(pk=latest.pk).update(actor=cy)
    assert_stored_equals_direct()

    # The Responsible leaves and comes back; their role moves; it goes.
    accounts.user_deactivate(user=ben, actor=tpm, now=days_ago(10))
    assert_stored_equals_direct()
    ben.is_active = True
    accounts.user_save(user=ben, changed_fields=["is_active"], actor=tpm, now=days_ago(9))
    assert_stored_equals_direct()
    Stakeholder.objects.filter(pk=role.pk).update(role="C")
    assert_stored_equals_direct()
    Stakeholder.objects.filter(pk=role.pk).update(role="R")
    assert_stored_equals_direct()
    services.stakeholder_remove(stakeholder=role, actor=ana, now=days_ago(8))
    assert_stored_equals_direct()

    # Stage moves in and out of the stages that need a Responsible.
    services.initiative_move_stage(initiative=initiative, to_stage="idea", actor=ana,
                                   now=days_ago(7), note="Back to the drawing board")
    assert_stored_equals_direct()
    Initiative.objects.filter(pk=initiative.pk).update(stage=Stage.PILOT)
    assert_stored_equals_direct()
    Initiative.objects.filter(pk=initiative.pk).update(stage=Stage.RETIRED,
                                                       retirement_reason="cost")
    assert_stored_equals_direct()

    # Rows written without any service (the admin, a bulk load) are kept too.
    loaded = InitiativeFactory.create_batch(3, owner=cy, stage=Stage.PILOT)
    Stakeholder.objects.bulk_create([Stakeholder(initiative=loaded[0], user=ana, role="R"),
                                     Stakeholder(initiative=loaded[1], user=cy, role="I")])
    Update.objects.bulk_create([Update(initiative=loaded[2], author=cy, body="Loaded",
                                       health="on_track", created_at=days_ago(1))])
    assert_stored_equals_direct()
    # An initiative goes, with its activities, updates and roles.
    Initiative.objects.filter(pk__in=[loaded[0].pk, loaded[2].pk]).delete()
    assert_stored_equals_direct()

    # The owner changes hands: the new owner is seen from the handover on, however long
    # they have been silent; a handover's time corrected, withdrawn; the creation moved.
    kept = loaded[1]
    services.initiative_update(initiative=kept, actor=tpm, now=days_ago(5),
                               expected_version=kept.version, changes={"owner": ben})
    assert_stored_equals_direct()
    assert OwnerSeen.objects.get(initiative=kept).since == days_ago(5)
    services.activity_record(initiative=kept, kind=Activity.Kind.UPDATE_POSTED, actor=ben,
                             now=days_ago(2))
    assert OwnerSeen.objects.get(initiative=kept).at == days_ago(2)
    handover = Activity.objects.get(initiative=kept, kind=Activity.Kind.OWNER_CHANGED)
    Activity.objects.filter(pk=handover.pk).update(at=days_ago(1))
    assert_stored_equals_direct()
    Activity.objects.filter(pk=handover.pk).update(kind=Activity.Kind.UPDATE_POSTED)
    assert_stored_equals_direct()
    Activity.objects.filter(pk=handover.pk).update(kind=Activity.Kind.OWNER_CHANGED)
    assert_stored_equals_direct()
    Activity.objects.filter(pk=handover.pk).delete()
    assert_stored_equals_direct()
    Initiative.objects.filter(pk=kept.pk).update(created_at=days_ago(400))
    assert_stored_equals_direct()
    # The owner's every act withdrawn: seen since they became the owner.
    Activity.objects.filter(actor=ben).delete()
    Update.objects.filter(author=ben).delete()
    assert not LastWord.objects.filter(user=ben).exists()
    assert_stored_equals_direct()


def test_the_stored_facts_are_backfilled_by_the_migration(people, initiative):
    """The migrations fill the tables from what is there; emptying them and running their
    backfills again gives back exactly what the triggers keep (0021 fills ``OwnerSeen`` as
    0020 did, with its problems)."""
    for name, tables in (("0016_ownership_stored", (LastWord, NobodyResponsible)),
                         ("0021_owner_seen_problems", (OwnerSeen,))):
        for table in tables:
            table.objects.all().delete()
        migration = import_module(f"portfolio.migrations.{name}")
        backfill = migration.INSTALL.split("CREATE FUNCTION", 1)[0]
        with connection.cursor() as cursor:
            cursor.execute(backfill)
    assert_stored_equals_direct()
    assert LastWord.objects.exists()
    assert NobodyResponsible.objects.exists()
    assert OwnerSeen.objects.exists()


def _page(client, query=""):
    response = client.get(f"/initiatives/ownership/{query}")
    assert response.status_code == 200
    page = response.context["page"]
    return ([(row.pk, row.owner_left, row.owner_silent, row.nobody_responsible,
              row.owner_seen_at) for row in page.object_list],
            page.paginator.count, response.context["problem_counts"])


@pytest.mark.parametrize("query", ["", "?problem=owner_silent", "?problem=owner_left",
                                   "?problem=nobody_responsible", "?page=2"])
def test_the_page_reads_the_same_stored_or_computed(client, tpm, settings, monkeypatch,
                                                    query):
    settings.PAGE_SIZE = 4
    settings.OWNER_SILENT_DAYS = 21
    owners = [UserFactory(username=f"owner-{n}", roles=["pm"]) for n in range(6)]
    helper = UserFactory(username="helper", roles=["pm"])
    stages = ["idea", "assessment", "pilot", "production", "paused", "retired"]
    for n in range(24):
        owner = owners[n % 6]
        created = services.initiative_create(
            actor=owner, owner=owner, now=days_ago(100 - n), title=f"Initiative {n}",
            team=TeamFactory())
        stage = stages[n % len(stages)]
        Initiative.objects.filter(pk=created.pk).update(
            stage=stage, retirement_reason="cost" if stage == "retired" else "")
        if n % 3 == 0:
            Stakeholder.objects.create(initiative=created, user=helper, role="R")
        if n % 5 == 0:
            services.activity_record(initiative=created, kind=Activity.Kind.UPDATE_POSTED,
                                     actor=owner, now=days_ago(n))
    services.initiative_update(initiative=Initiative.objects.get(title="Initiative 7"),
                               actor=tpm, now=days_ago(3), expected_version=1,
                               changes={"owner": owners[0]})
    get_user_model().objects.filter(pk=owners[4].pk).update(is_active=False)
    client.force_login(tpm)

    stored = _page(client, query)
    monkeypatch.setattr(selectors, "ownership_stored", lambda: False)
    computed = _page(client, query)

    assert stored == computed
    assert stored[0], "the portfolio has rows on this page"


@pytest.mark.parametrize("page_size", [1, 3, 7])
def test_every_page_read_in_stored_order_equals_sorting_every_problem(tpm, settings, page_size):
    """``OwnershipGaps`` reads a page from the stored order (owners seen before the silence
    cutoff, then the flagged ones seen since); page after page it lists exactly the rows of
    ``ownership_gaps``, in its order, with the same flags."""
    settings.OWNER_SILENT_DAYS = 21
    owners = [UserFactory(username=f"owner-{n}", roles=["pm"]) for n in range(5)]
    helper = UserFactory(username="helper", roles=["pm"])
    stages = ["idea", "assessment", "pilot", "production", "retired"]
    for n in range(30):
        owner = owners[n % 5]
        created = services.initiative_create(  # logged by a TPM: the owner says nothing
            actor=tpm, owner=owner, now=days_ago(60 - 2 * n), title=f"Initiative {n}",
            team=TeamFactory())
        stage = stages[(n // 5) % len(stages)]
        Initiative.objects.filter(pk=created.pk).update(
            stage=stage, retirement_reason="cost" if stage == "retired" else "")
        if n % 2:
            Stakeholder.objects.create(initiative=created, user=helper, role="R")
    # owner-0 spoke lately; owner-1 left; a handover makes owner-2 seen since it.
    services.activity_record(initiative=Initiative.objects.filter(owner=owners[0]).first(),
                             kind=Activity.Kind.UPDATE_POSTED, actor=owners[0], now=days_ago(2))
    services.initiative_update(initiative=Initiative.objects.get(title="Initiative 8"),
                               actor=tpm, now=days_ago(4), expected_version=1,
                               changes={"owner": owners[2]})
    get_user_model().objects.filter(pk=owners[1].pk).update(is_active=False)

    def flags(rows):
        return [(row.pk, row.owner_left, row.owner_silent, row.nobody_responsible,
                 row.owner_seen_at) for row in rows]

    expected = flags(selectors.ownership_gaps(now=NOW))
    _, total = selectors.ownership_page_counts(now=NOW)
    gaps = selectors.OwnershipGaps(now=NOW, filters={}, count=total)
    pages = [flags(gaps[start:start + page_size]) for start in range(0, total, page_size)]

    assert total == len(expected)
    assert [row for page in pages for row in page] == expected
    assert {row[1:4] for row in expected} >= {(True, False, False), (False, True, False),
                                              (False, False, True)}, "every problem is listed"


# --- The counts read from the stored facts ------------------------------------------------------

@pytest.fixture
def counted_portfolio(people):
    """Six initiatives, two of them with two problems: ``gone`` left, ``quiet`` last acted
    60 days ago, ``talker`` acted yesterday; ``helper`` is Responsible where named."""
    gone, quiet, talker = people["ana"], people["ben"], people["cy"]
    helper = UserFactory(username="helper", roles=["pm"])
    claims, finance = TeamFactory(slug="claims"), TeamFactory(slug="finance")

    def make(owner, team, *, responsible=False):
        created = services.initiative_create(actor=owner, owner=owner, now=days_ago(60),
                                             title="Initiative", team=team)
        Initiative.objects.filter(pk=created.pk).update(stage=Stage.PILOT)
        if responsible:
            Stakeholder.objects.create(initiative=created, user=helper, role="R")

    make(gone, claims)                        # owner left, nobody Responsible
    make(gone, claims, responsible=True)      # owner left
    make(gone, finance, responsible=True)     # owner left
    make(quiet, claims)                       # owner silent, nobody Responsible
    make(talker, claims)                      # nobody Responsible
    make(talker, finance)                     # nobody Responsible
    services.activity_record(initiative=Initiative.objects.filter(owner=talker).first(),
                             kind=Activity.Kind.UPDATE_POSTED, actor=talker, now=days_ago(1))
    get_user_model().objects.filter(pk=gone.pk).update(is_active=False)
    return {"claims": claims, "finance": finance}


@pytest.mark.parametrize(("team", "expected"), [
    (None, ([3, 1, 4], 6)),
    ("claims", ([2, 1, 3], 4)),
    ("finance", ([1, 0, 1], 2)),
])
def test_the_stored_counts_count_each_problem_and_each_initiative_once(
        counted_portfolio, monkeypatch, settings, team, expected):
    settings.OWNER_SILENT_DAYS = 21
    filters = {"team": counted_portfolio[team] if team else None}

    counts, total = selectors.ownership_page_counts(now=NOW, filters=filters)
    monkeypatch.setattr(selectors, "ownership_stored", lambda: False)
    computed = selectors.ownership_page_counts(now=NOW, filters=filters)

    assert ([count for _, _, count in counts], total) == expected
    assert (counts, total) == computed
    assert total == len(selectors.ownership_gaps(now=NOW, filters=filters))


def _rows_read(sql: str, table: str) -> int:
    """How many rows of ``table`` PostgreSQL reads running ``sql`` (index scans forced where
    one exists, as on a large portfolio: a small table is otherwise read whole)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    nodes, read = [plan[0]["Plan"]], 0
    while nodes:
        node = nodes.pop()
        nodes.extend(node.get("Plans", []))
        if node.get("Relation Name") == table:
            read += node["Actual Loops"] * (node["Actual Rows"]
                                            + node.get("Rows Removed by Filter", 0)
                                            + node.get("Rows Removed by Index Recheck", 0))
    return read


def test_the_counts_read_the_stored_problems_alone_never_an_initiative(people, settings):
    """Counting reads the stored rows that have a problem, and nothing else: no initiative,
    not the rows of owners who are still talking and have someone Responsible."""
    settings.OWNER_SILENT_DAYS = 21
    gone, quiet, talker = people["ana"], people["ben"], people["cy"]
    helper = UserFactory(username="helper", roles=["pm"])
    for owner, staffed in [(gone, True), (quiet, True)] + [(talker, False)] * 3 + [
            (talker, True)] * 5:
        created = services.initiative_create(actor=owner, owner=owner, now=days_ago(40),
                                             title="Initiative", team=TeamFactory())
        Initiative.objects.filter(pk=created.pk).update(stage=Stage.PILOT)
        if staffed:
            Stakeholder.objects.create(initiative=created, user=helper, role="R")
    services.activity_record(initiative=Initiative.objects.filter(owner=talker).first(),
                             kind=Activity.Kind.UPDATE_POSTED, actor=talker, now=days_ago(1))
    get_user_model().objects.filter(pk=gone.pk).update(is_active=False)

    with CaptureQueriesContext(connection) as queries:
        counts, total = selectors.ownership_page_counts(now=NOW)

    assert ([count for _, _, count in counts], total) == ([1, 1, 3], 5)
    assert len(queries.captured_queries) == 1
    sql = queries.captured_queries[0]["sql"]
    assert _rows_read(sql, "portfolio_initiative") == 0
    assert _rows_read(sql, "portfolio_ownerseen") == 5, "one stored row per problem"
