"""The review queue and the checkpoint decision page (issue 4 item 4), and the daily
waiver job's command."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from governance import services
from governance.models import Checkpoint, CheckpointType
from portfolio.models import Activity
from tests.factories import InitiativeFactory, TeamFactory, UserFactory
from tests.governance.checkpoints import QUEUE_NAV_QUERIES

pytestmark = pytest.mark.django_db
QUEUE = "/governance/queue/"


def _type(code="pen-test-review", name="Pen test review", required_for="pilot"):
    return CheckpointType.objects.get_or_create(code=code, defaults={
        "name": name, "description": "Threat model, pen test, secrets handling.",
        "nist_function": "manage", "required_for": required_for})[0]


def _assessing(**fields):
    """An initiative in assessment: its pilot checkpoints are due for review now."""
    return InitiativeFactory(stage="assessment", **fields)


def _checkpoint(initiative=None, *, checkpoint_type=None, status="not_started", due_in=10,
                **fields):
    now = timezone.now()
    return Checkpoint.objects.create(
        # In assessment, a checkpoint gating pilot is due for review now (actionable).
        initiative=initiative or InitiativeFactory(stage="assessment"),
        type=checkpoint_type or _type(),
        status=status, requested_at=now - timedelta(days=5),
        due_date=timezone.localdate() + timedelta(days=due_in), **fields)


def _page(client, user, checkpoint):
    client.force_login(user)
    return client.get(f"/governance/checkpoints/{checkpoint.pk}/")


def _post(client, user, checkpoint, **data):
    client.force_login(user)
    return client.post(f"/governance/checkpoints/{checkpoint.pk}/",
                       {"version": checkpoint.version, **data})


# --- The queue -------------------------------------------------------------------------------

@pytest.mark.parametrize("persona", ["reviewer", "pm", "tpm", "leader"])
def test_every_role_reads_the_queue(client, request, persona):
    checkpoint = _checkpoint()
    client.force_login(request.getfixturevalue(persona))

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert checkpoint.initiative.title in response.content.decode()


def test_outsider_gets_404_for_the_queue_and_a_checkpoint(client, outsider):
    checkpoint = _checkpoint()
    client.force_login(outsider)

    assert client.get(QUEUE).status_code == 404
    assert client.get(f"/governance/checkpoints/{checkpoint.pk}/").status_code == 404


def test_queue_shows_open_checkpoints_overdue_first_and_hides_cleared_and_retired(client,
                                                                                   reviewer):
    later = _checkpoint(_assessing(title="Later one"), due_in=20)
    overdue = _checkpoint(_assessing(title="Late one"), due_in=-3)
    soon = _checkpoint(_assessing(title="Soon one"), due_in=2, status="rejected",
                       reviewer=reviewer, decided_at=timezone.now())
    _checkpoint(_assessing(title="Approved one"), status="approved", reviewer=reviewer,
                decided_at=timezone.now())
    _checkpoint(_assessing(title="Waived one"), status="waived", reviewer=reviewer,
                decided_at=timezone.now(), waiver_justification="ok",
                waiver_expires_on=timezone.localdate() + timedelta(days=5))
    _checkpoint(_assessing(title="Retired one"), retired_at=timezone.now())
    client.force_login(reviewer)

    response = client.get(QUEUE)

    rows = list(response.context["page"].object_list)
    assert [cp.pk for cp in rows] == [overdue.pk, soon.pk, later.pk]
    html = response.content.decode()
    assert "Approved one" not in html
    assert "Waived one" not in html
    assert "Retired one" not in html
    assert "overdue" in html
    assert {key: count for key, _, count in response.context["tabs"]} == {
        "pending": 2, "in_review": 0, "overdue": 1, "rejected": 1, "lapsed": 0}


@pytest.mark.parametrize(("status", "expected"), [
    ("pending", {"Pending"}), ("in_review", {"Reviewing", "Late"}), ("overdue", {"Late"}),
    ("rejected", {"Refused"}), ("lapsed", {"Lapsed"}),
])
def test_queue_tabs_select_by_status(client, reviewer, status, expected):
    now = timezone.now()
    _checkpoint(_assessing(title="Pending"))
    _checkpoint(_assessing(title="Reviewing"), status="in_review", reviewer=reviewer)
    _checkpoint(_assessing(title="Late"), status="in_review", due_in=-1, reviewer=reviewer)
    _checkpoint(_assessing(title="Refused"), status="rejected", reviewer=reviewer,
                decided_at=now)
    _checkpoint(_assessing(title="Lapsed"), status="waived", reviewer=reviewer,
                decided_at=now, waiver_justification="ok",
                waiver_expires_on=timezone.localdate() - timedelta(days=1))
    client.force_login(reviewer)

    response = client.get(QUEUE, {"status": status})

    assert {cp.initiative.title for cp in response.context["page"].object_list} == expected


def test_queue_filters_by_type_and_team(client, reviewer):
    team = TeamFactory(name="Claims", slug="claims")
    privacy = _type("privacy-review", "Privacy review")
    wanted = _checkpoint(_assessing(team=team), checkpoint_type=privacy)
    _checkpoint(_assessing(team=team))
    _checkpoint(_assessing(), checkpoint_type=privacy)
    client.force_login(reviewer)

    response = client.get(QUEUE, {"type": "privacy-review", "team": "claims"})

    assert [cp.pk for cp in response.context["page"].object_list] == [wanted.pk]


def test_queue_ignores_an_unknown_filter_and_says_so(client, reviewer):
    _checkpoint()
    client.force_login(reviewer)

    response = client.get(QUEUE, {"type": "no-such-type", "status": "bogus"})

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 1
    assert response.context["form"].errors.keys() == {"type", "status"}


def test_reviewer_sees_why_someone_else_reviews_instead_of_decide_on_own_initiative(client):
    owner_reviewer = UserFactory(username="both", roles=["pm", "reviewer"])
    own = _checkpoint(_assessing(owner=owner_reviewer, title="Mine"))
    other = _checkpoint(_assessing(title="Theirs"))
    client.force_login(owner_reviewer)

    html = client.get(QUEUE).content.decode()

    assert "someone else reviews" in html
    assert "You own or sponsor this initiative" in html
    assert f'/governance/checkpoints/{other.pk}/" aria-label="Decide' in html
    assert f'/governance/checkpoints/{own.pk}/" aria-label="Decide' not in html


@pytest.mark.parametrize("rows", [3, 40])
def test_queue_query_count_does_not_grow_with_rows(client, reviewer, django_assert_num_queries,
                                                   rows, settings):
    settings.PAGE_SIZE = 50
    team = TeamFactory()
    for _ in range(rows):
        _checkpoint(_assessing(team=team), reviewer=reviewer, status="in_review")
    client.force_login(reviewer)

    # session, the user with their groups (roles), team, checkpoint-type and reviewer-group
    # choices of the filter form, the tab counts (stored; they give the page's count too),
    # the page's rows, the viewer's segregated roles on the page's initiatives; the
    # navigation's counts (QUEUE_NAV_QUERIES).
    with django_assert_num_queries(8 + QUEUE_NAV_QUERIES):
        response = client.get(QUEUE)

    assert len(response.context["page"].object_list) == rows


def test_queue_is_paginated(client, reviewer, settings):
    settings.PAGE_SIZE = 2
    for _ in range(3):
        _checkpoint()
    client.force_login(reviewer)

    assert len(client.get(QUEUE).context["page"].object_list) == 2
    assert len(client.get(QUEUE, {"page": 2}).context["page"].object_list) == 1


# --- The decision page -----------------------------------------------------------------------

def test_decision_page_shows_what_to_check_the_initiative_and_history(client, reviewer):
    checkpoint = _checkpoint(_assessing(title="Claims triage", risk_tier="high"))

    response = _page(client, reviewer, checkpoint)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Threat model, pen test, secrets handling." in html
    assert "Claims triage" in html
    assert "Manage" in html
    assert "Start review" in html
    assert "Approve" in html
    assert "Waive" in html


@pytest.mark.parametrize("persona", ["pm", "other_pm", "tpm", "leader"])
def test_non_reviewers_read_the_decision_page_but_cannot_decide(client, request, persona):
    checkpoint = _checkpoint()
    user = request.getfixturevalue(persona)

    page = _page(client, user, checkpoint)
    response = _post(client, user, checkpoint, action="decide", decision="approve",
                     evidence_notes="Looks fine.")

    assert page.status_code == 200
    assert "Approve" not in page.content.decode()
    assert response.status_code == 403
    checkpoint.refresh_from_db()
    assert checkpoint.status == "not_started"
    assert checkpoint.version == 1


def test_owner_who_is_a_reviewer_is_told_why_and_refused(client):
    both = UserFactory(username="both", roles=["pm", "reviewer"])
    checkpoint = _checkpoint(_assessing(owner=both))

    page = _page(client, both, checkpoint)
    response = _post(client, both, checkpoint, action="decide", decision="approve",
                     evidence_notes="Mine, and fine.")

    assert "segregation of duties" in page.content.decode()
    assert response.status_code == 403
    assert Checkpoint.objects.get(pk=checkpoint.pk).status == "not_started"


def test_sponsor_who_is_a_reviewer_is_refused(client, reviewer):
    checkpoint = _checkpoint(_assessing(sponsor=reviewer))

    response = _post(client, reviewer, checkpoint, action="waive", justification="x",
                     expires_on=(timezone.localdate() + timedelta(days=5)).isoformat())

    assert response.status_code == 403
    assert Checkpoint.objects.get(pk=checkpoint.pk).status == "not_started"


def test_outsider_post_gets_404_and_unknown_checkpoint_404(client, outsider, reviewer):
    checkpoint = _checkpoint()

    assert _post(client, outsider, checkpoint, action="start").status_code == 404
    client.force_login(reviewer)
    assert client.get("/governance/checkpoints/999999/").status_code == 404


def test_reviewer_starts_then_approves_with_evidence(client, reviewer):
    checkpoint = _checkpoint()

    started = _post(client, reviewer, checkpoint, action="start")
    checkpoint.refresh_from_db()
    approved = _post(client, reviewer, checkpoint, action="decide", decision="approve",
                     evidence_url="https://wiki.example.com/sec/42",
                     evidence_notes="Pen test clean.")

    assert started.status_code == 302
    assert approved.status_code == 302
    assert approved["Location"] == QUEUE
    checkpoint.refresh_from_db()
    assert (checkpoint.status, checkpoint.reviewer, checkpoint.evidence_url) == (
        "approved", reviewer, "https://wiki.example.com/sec/42")
    assert Activity.objects.filter(initiative=checkpoint.initiative,
                                   kind="checkpoint_decided").count() == 1
    page = _page(client, reviewer, checkpoint).content.decode()
    assert "Pen test clean." in page
    assert "In review" in page


def test_reviewer_rejects_and_notes_are_shown_escaped(client, reviewer):
    checkpoint = _checkpoint()

    _post(client, reviewer, checkpoint, action="decide", decision="reject",
          evidence_notes="<script>alert(1)</script> needs a red team")

    checkpoint.refresh_from_db()
    assert checkpoint.status == "rejected"
    html = _page(client, reviewer, checkpoint).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; needs a red team" in html


def test_reviewer_waives_until_a_date(client, reviewer):
    checkpoint = _checkpoint()
    expires = timezone.localdate() + timedelta(days=30)

    response = _post(client, reviewer, checkpoint, action="waive",
                     justification="Compensating control: manual review of every output.",
                     expires_on=expires.isoformat())

    assert response.status_code == 302
    checkpoint.refresh_from_db()
    assert (checkpoint.status, checkpoint.waiver_expires_on) == ("waived", expires)


@pytest.mark.parametrize(("data", "field", "message"), [
    ({"action": "decide", "decision": "approve", "evidence_url": "not a url//"},
     "evidence_url", "Enter a valid URL."),
    ({"action": "decide", "decision": "approve"}, "evidence_notes", services.EVIDENCE_NEEDED),
    ({"action": "decide", "evidence_notes": "fine"}, None, "Choose Approve or Reject."),
    ({"action": "waive", "justification": "", "expires_on": "+5"}, "justification",
     services.WAIVER_NEEDS_JUSTIFICATION),
    ({"action": "waive", "justification": "ok", "expires_on": "-1"}, "expires_on",
     services.WAIVER_NEEDS_FUTURE_EXPIRY),
    ({"action": "waive", "justification": "ok", "expires_on": "+400"}, "expires_on",
     services.WAIVER_TOO_LONG.format(days=services.MAX_WAIVER_DAYS)),
    ({"action": "waive", "justification": "ok", "expires_on": "soon"}, "expires_on",
     "Enter a valid date."),
    ({"action": "waive", "justification": "ok"}, "expires_on", "A waiver needs an expiry date."),
    ({"action": "explode"}, None, "Choose an action."),
])
def test_bad_input_is_shown_on_its_field_and_changes_nothing(client, reviewer, data, field,
                                                             message):
    checkpoint = _checkpoint()
    if data.get("expires_on", "x")[0] in "+-":
        data["expires_on"] = (timezone.localdate()
                              + timedelta(days=int(data["expires_on"]))).isoformat()

    response = _post(client, reviewer, checkpoint, **data)

    assert response.status_code == 400
    assert message.replace("'", "&#x27;") in response.content.decode()
    form = response.context.get(f"{data['action']}_form")
    if field:
        assert message in form.errors[field]
    checkpoint.refresh_from_db()
    assert (checkpoint.status, checkpoint.version) == ("not_started", 1)


def test_a_decision_from_a_stale_page_shows_decided_meanwhile(client, reviewer):
    checkpoint = _checkpoint()
    other = UserFactory(username="other-reviewer", roles=["reviewer"])
    services.checkpoint_decide(checkpoint=checkpoint, actor=other, approve=False,
                               expected_version=1, evidence_notes="Not yet.",
                               now=timezone.now())

    response = _post(client, reviewer, checkpoint, action="decide", decision="approve",
                     evidence_notes="Fine by me.")

    assert response.status_code == 400
    assert "Someone else decided this checkpoint" in response.content.decode()
    checkpoint.refresh_from_db()
    assert (checkpoint.status, checkpoint.reviewer) == ("rejected", other)


def test_retired_checkpoint_page_is_read_only(client, reviewer):
    checkpoint = _checkpoint(retired_at=timezone.now())

    page = _page(client, reviewer, checkpoint).content.decode()
    response = _post(client, reviewer, checkpoint, action="decide", decision="approve",
                     evidence_notes="x")

    assert "no longer applies" in page
    assert "Approve</button>" not in page
    assert response.status_code == 400
    assert services.RETIRED_CHECKPOINT in response.content.decode()


# --- Navigation ----------------------------------------------------------------------------

def test_reviewers_see_the_queue_in_navigation_and_land_on_it(client, reviewer, pm):
    client.force_login(reviewer)
    assert ("Review queue", QUEUE) in client.get(QUEUE).context["nav_items"]
    assert client.get("/")["Location"] == QUEUE
    client.force_login(pm)
    assert ("Review queue", QUEUE) not in client.get(QUEUE).context["nav_items"]


# --- The daily waiver job ------------------------------------------------------------------

def test_waivers_lapse_command_reports_an_expired_waiver_once(reviewer):
    initiative = InitiativeFactory(stage="pilot")
    _checkpoint(initiative, status="waived", reviewer=reviewer, decided_at=timezone.now(),
                waiver_justification="Temporary.",
                waiver_expires_on=timezone.localdate() - timedelta(days=1))

    call_command("waivers_lapse", stdout=(first := __import__("io").StringIO()))
    call_command("waivers_lapse", stdout=(second := __import__("io").StringIO()))

    assert first.getvalue().strip() == "Reported 1 expired waiver."
    assert second.getvalue().strip() == "Reported 0 expired waivers."
    flagged = Activity.objects.filter(initiative=initiative, kind="out_of_compliance")
    assert flagged.count() == 1
    assert flagged.get().details["checkpoints"] == ["Pen test review"]


def test_waivers_lapse_task_calls_the_service(reviewer):
    from governance.tasks import waivers_lapse_task

    _checkpoint(status="waived", reviewer=reviewer, decided_at=timezone.now(),
                waiver_justification="Temporary.",
                waiver_expires_on=timezone.localdate() - timedelta(days=1))

    assert waivers_lapse_task.apply().get() == 1


def test_waivers_lapse_is_scheduled_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["waivers-lapse"]
    assert entry["task"] == "governance.tasks.waivers_lapse_task"
    assert entry["schedule"].hour == {6}


def test_a_waiver_opens_the_gate_until_it_expires(client, reviewer):
    initiative = InitiativeFactory(stage="assessment", contracted=True)
    checkpoint = _checkpoint(initiative, checkpoint_type=_type(required_for="pilot"))
    now = timezone.now()
    assert services.gate_blockers(initiative=initiative, to_stage="pilot", now=now)

    _post(client, reviewer, checkpoint, action="waive", justification="Manual checks meanwhile.",
          expires_on=(timezone.localdate() + timedelta(days=10)).isoformat())

    others = Checkpoint.objects.filter(initiative=initiative).exclude(pk=checkpoint.pk)
    others.update(status="approved", reviewer=reviewer, decided_at=now)  # test set-up
    assert services.gate_blockers(initiative=initiative, to_stage="pilot", now=now) == []
    Checkpoint.objects.filter(pk=checkpoint.pk).update(
        waiver_expires_on=timezone.localdate() - timedelta(days=1))  # test set-up: time passes
    assert services.gate_blockers(initiative=initiative, to_stage="pilot", now=now) == [
        f"Pen test review (waiver expired {timezone.localdate() - timedelta(days=1):%-d %b %Y})"]
