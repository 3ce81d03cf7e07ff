"""Routing reviews to reviewer groups (issue 20, item 2): the most specific route wins, new
and re-requested checkpoints go to their route's group, a changed route moves the open ones,
and "review requested" reaches the group's reviewers only — never someone the segregation
of duties keeps off the checkpoint. Groups and routes are kept in the admin."""

import pytest

from governance import services
from governance.models import Checkpoint, CheckpointType, ReviewerGroup, ReviewRoute
from portfolio.models import Activity
from portfolio.notifications.models import Notification
from tests.factories import FIXED_NOW, InitiativeFactory, TeamFactory, UserFactory
from tests.governance.checkpoints import group_of, open_checkpoint, pen_test_type, stake

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_clock")]


def _route(group, *, checkpoint_type=None, team=None) -> ReviewRoute:
    return services.review_route_save(
        route=ReviewRoute(checkpoint_type=checkpoint_type, team=team, group=group),
        actor=None, now=FIXED_NOW)


@pytest.fixture
def only_pen_tests():
    """The catalogue holds one active type, the pen test review, which always applies."""
    kind = pen_test_type()
    CheckpointType.objects.exclude(pk=kind.pk).update(active=False)
    return kind


# --- Which group -------------------------------------------------------------------------------

def test_the_most_specific_route_wins():
    pen_test, privacy = pen_test_type(), pen_test_type(code="privacy", name="Privacy review")
    claims, spend = TeamFactory(slug="claims"), TeamFactory(slug="spend")
    both = group_of("Claims security")
    by_type = group_of("Security reviewers")
    by_team = group_of("Claims reviewers")
    _route(both, checkpoint_type=pen_test, team=claims)
    _route(by_type, checkpoint_type=pen_test)
    _route(by_team, team=claims)

    routes = services.routes_load()

    assert services.route_for(routes, pen_test.pk, claims.pk) == both.pk
    assert services.route_for(routes, pen_test.pk, spend.pk) == by_type.pk
    assert services.route_for(routes, privacy.pk, claims.pk) == by_team.pk
    assert services.route_for(routes, privacy.pk, spend.pk) is None
    assert services.route_for(routes, privacy.pk, None) is None


def test_new_checkpoints_go_to_their_routes_group(only_pen_tests, pm):
    claims = TeamFactory(slug="claims")
    security = group_of("Claims reviewers")
    _route(security, team=claims)
    routed = InitiativeFactory(stage="assessment", owner=pm, team=claims)
    unrouted = InitiativeFactory(stage="assessment", owner=pm, team=TeamFactory(slug="spend"))

    services.checkpoints_sync(initiatives=[routed, unrouted], actor=pm, now=FIXED_NOW)

    assert Checkpoint.objects.get(initiative=routed).reviewer_group == security
    assert Checkpoint.objects.get(initiative=unrouted).reviewer_group is None


def test_a_changed_route_moves_open_checkpoints_but_not_decided_ones(reviewer):
    kind = pen_test_type()
    rows = {
        "not_started": open_checkpoint(checkpoint_type=kind),
        "in_review": open_checkpoint(checkpoint_type=kind, status="in_review",
                                     reviewer=reviewer),
        "rejected": open_checkpoint(checkpoint_type=kind, status="rejected", reviewer=reviewer,
                                    decided_at=FIXED_NOW),
        "approved": open_checkpoint(checkpoint_type=kind, status="approved", reviewer=reviewer,
                                    decided_at=FIXED_NOW),
    }
    security = group_of("Security reviewers")

    route = _route(security, checkpoint_type=kind)
    after_save = {key: Checkpoint.objects.get(pk=cp.pk).reviewer_group_id
                  for key, cp in rows.items()}
    services.review_route_delete(route=route, actor=None, now=FIXED_NOW)
    after_delete = {key: Checkpoint.objects.get(pk=cp.pk).reviewer_group_id
                    for key, cp in rows.items()}

    assert after_save == {"not_started": security.pk, "in_review": security.pk,
                          "rejected": security.pk, "approved": None}
    assert set(after_delete.values()) == {None}


def test_deleting_a_group_sends_its_reviews_to_every_reviewer():
    kind = pen_test_type()
    checkpoint = open_checkpoint(checkpoint_type=kind)
    security = group_of("Security reviewers")
    _route(security, checkpoint_type=kind)

    services.reviewer_group_delete(group=security, actor=None, now=FIXED_NOW)

    checkpoint.refresh_from_db()
    assert checkpoint.reviewer_group is None
    assert not ReviewRoute.objects.exists()


# --- Who is told -------------------------------------------------------------------------------

def test_review_requested_reaches_the_groups_reviewers_and_nobody_kept_off_it(
        only_pen_tests, pm, reviewer):
    def member(username, *roles):
        return UserFactory(username=username, roles=list(roles))

    security = member("security-reviewer", "reviewer")
    informed = member("informed-reviewer", "reviewer")
    not_a_reviewer = member("curious-pm", "pm")
    sponsor = member("sponsoring-reviewer", "reviewer")
    responsible = member("responsible-reviewer", "reviewer")
    consulted = member("consulted-reviewer", "reviewer")
    owner = member("owning-reviewer", "pm", "reviewer")
    group = group_of("Security reviewers", security, informed, not_a_reviewer, sponsor,
                     responsible, consulted, owner)
    _route(group, checkpoint_type=only_pen_tests)
    initiative = InitiativeFactory(stage="assessment", owner=owner, sponsor=sponsor)
    stake(initiative, responsible, "R")
    stake(initiative, consulted, "C")
    stake(initiative, informed, "I")

    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=FIXED_NOW)

    event = Activity.objects.get(kind=Activity.Kind.REVIEW_REQUESTED)
    told = set(Notification.objects.filter(activity=event)
               .values_list("recipient__username", flat=True))
    assert told == {"security-reviewer", "informed-reviewer"}
    assert reviewer.username not in told  # a reviewer outside the group


def test_review_requested_without_a_route_reaches_every_independent_reviewer(
        only_pen_tests, pm, reviewer):
    consulted = UserFactory(username="consulted-reviewer", roles=["reviewer"])
    initiative = InitiativeFactory(stage="assessment", owner=pm)
    stake(initiative, consulted, "C")

    services.checkpoints_sync(initiatives=[initiative], actor=pm, now=FIXED_NOW)

    told = set(Notification.objects.filter(activity__kind=Activity.Kind.REVIEW_REQUESTED)
               .values_list("recipient__username", flat=True))
    assert told == {reviewer.username}


# --- The admin ---------------------------------------------------------------------------------

GROUPS = "/admin/governance/reviewergroup/"
ROUTES = "/admin/governance/reviewroute/"


def test_an_admin_adds_a_reviewer_group_with_members(client, superuser, reviewer, pm):
    client.force_login(superuser)

    form = client.get(f"{GROUPS}add/")
    response = client.post(f"{GROUPS}add/", {"name": "Security reviewers",
                                             "members": [reviewer.pk]})

    assert form.status_code == 200
    choices = {user.pk for user in form.context["adminform"].form.fields["members"].queryset}
    assert reviewer.pk in choices
    assert pm.pk not in choices  # only reviewers join a reviewer group
    assert response.status_code == 302
    group = ReviewerGroup.objects.get(name="Security reviewers")
    assert list(group.members.all()) == [reviewer]
    assert group.history.first().history_user == superuser
    listing = client.get(GROUPS).content.decode()
    assert "Security reviewers" in listing


def test_an_admins_route_moves_the_open_checkpoints_at_once(client, superuser):
    kind = pen_test_type()
    checkpoint = open_checkpoint(checkpoint_type=kind)
    group = group_of("Security reviewers")
    client.force_login(superuser)

    response = client.post(f"{ROUTES}add/", {"checkpoint_type": kind.pk, "team": "",
                                             "group": group.pk})

    assert response.status_code == 302
    route = ReviewRoute.objects.get()
    assert route.history.first().history_user == superuser
    checkpoint.refresh_from_db()
    assert checkpoint.reviewer_group == group

    deleted = client.post(f"{ROUTES}{route.pk}/delete/", {"post": "yes"})

    assert deleted.status_code == 302
    checkpoint.refresh_from_db()
    assert checkpoint.reviewer_group is None


def test_a_route_naming_neither_type_nor_team_is_an_error_on_its_field(client, superuser):
    group = group_of("Security reviewers")
    client.force_login(superuser)

    response = client.post(f"{ROUTES}add/", {"checkpoint_type": "", "team": "",
                                             "group": group.pk})

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.errors) == ["checkpoint_type"]
    assert "Name a checkpoint type, a team or both" in form.errors["checkpoint_type"][0]
    assert not ReviewRoute.objects.exists()


def test_bulk_deleting_groups_goes_through_the_service(client, superuser):
    kind = pen_test_type()
    checkpoint = open_checkpoint(checkpoint_type=kind)
    security = group_of("Security reviewers")
    _route(security, checkpoint_type=kind)
    client.force_login(superuser)

    response = client.post(GROUPS, {"action": "delete_selected", "_selected_action":
                                    [security.pk], "post": "yes"})

    assert response.status_code == 302
    assert not ReviewerGroup.objects.exists()
    checkpoint.refresh_from_db()
    assert checkpoint.reviewer_group is None
    assert ReviewerGroup.history.filter(history_type="-").get().history_user == superuser
