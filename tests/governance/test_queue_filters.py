"""The review queue's search, "mine", reviewer-group filter and grouping by initiative
(issue 20, item 6): ``?q=``, ``?mine=1``, ``?group=<id>``, ``?by=initiative``."""

import pytest

from tests.factories import InitiativeFactory, TeamFactory, UserFactory
from tests.governance.checkpoints import (
    QUEUE,
    QUEUE_NAV_QUERIES,
    group_of,
    open_checkpoint,
    pen_test_type,
    stake,
)

pytestmark = pytest.mark.django_db


def _assessing(**fields):
    return InitiativeFactory(stage="assessment", **fields)


def _listed(response) -> set[int]:
    return {checkpoint.pk for checkpoint in response.context["page"].object_list}


# --- Search by initiative -------------------------------------------------------------------

def test_search_finds_the_initiatives_whose_title_holds_every_word(client, reviewer):
    triage = open_checkpoint(_assessing(title="Claims triage assistant"))
    open_checkpoint(_assessing(title="Claims fraud agent"))
    open_checkpoint(_assessing(title="Spend analytics"))
    client.force_login(reviewer)

    response = client.get(QUEUE, {"q": "triage CLAIMS"})

    assert _listed(response) == {triage.pk}
    assert "Claims fraud agent" not in response.content.decode()


def test_search_by_number_finds_that_initiative(client, reviewer):
    wanted = open_checkpoint(_assessing(title="Spend analytics"))
    open_checkpoint(_assessing(title="Claims triage assistant"))
    client.force_login(reviewer)

    by_hash = client.get(QUEUE, {"q": f"#{wanted.initiative_id}"})
    by_number = client.get(QUEUE, {"q": str(wanted.initiative_id)})

    assert _listed(by_hash) == {wanted.pk}
    assert _listed(by_number) == {wanted.pk}


def test_a_search_that_matches_nothing_says_so(client, reviewer):
    open_checkpoint(_assessing(title="Spend analytics"))
    client.force_login(reviewer)

    response = client.get(QUEUE, {"q": "no such words"})

    assert _listed(response) == set()
    assert "No checkpoint matches" in response.content.decode()


# --- Mine: what I may act on ------------------------------------------------------------------

@pytest.fixture
def routed(reviewer):
    """Checkpoints around ``reviewer``: keyed by what makes each theirs or not."""
    colleague = UserFactory(username="colleague-reviewer", roles=["reviewer"])
    security = group_of("Security reviewers", reviewer, colleague)
    privacy = group_of("Privacy reviewers", colleague)
    rows = {
        "taken_by_me": open_checkpoint(_assessing(), status="in_review", reviewer=reviewer),
        "taken_by_colleague": open_checkpoint(_assessing(), status="in_review",
                                              reviewer=colleague, reviewer_group=security),
        "my_group": open_checkpoint(_assessing(), reviewer_group=security),
        "other_group": open_checkpoint(_assessing(), reviewer_group=privacy),
        "every_reviewer": open_checkpoint(_assessing()),
        "i_am_responsible": open_checkpoint(_assessing()),
        "i_am_consulted": open_checkpoint(_assessing(), reviewer_group=security),
        "i_am_informed": open_checkpoint(_assessing()),
        "i_own_it": open_checkpoint(_assessing(owner=reviewer)),
        "i_sponsor_it": open_checkpoint(_assessing(sponsor=reviewer)),
    }
    stake(rows["i_am_responsible"].initiative, reviewer, "R")
    stake(rows["i_am_consulted"].initiative, reviewer, "C")
    stake(rows["i_am_informed"].initiative, reviewer, "I")
    return rows, {"security": security, "privacy": privacy}


def test_mine_is_what_i_may_act_on(client, reviewer, routed):
    rows, _ = routed
    client.force_login(reviewer)

    response = client.get(QUEUE, {"mine": "1"})

    assert _listed(response) == {rows[key].pk for key in (
        "taken_by_me", "my_group", "every_reviewer", "i_am_informed")}
    assert response.context["total"] == 4


def test_mine_holds_nothing_for_someone_who_does_not_review(client, pm, routed):
    client.force_login(pm)

    response = client.get(QUEUE, {"mine": "1"})

    assert response.status_code == 200
    assert _listed(response) == set()
    assert response.context["total"] == 0


def test_the_group_filter_shows_the_reviews_routed_to_that_group(client, reviewer, routed):
    rows, groups = routed
    client.force_login(reviewer)

    response = client.get(QUEUE, {"group": groups["security"].pk})

    assert _listed(response) == {rows[key].pk for key in (
        "taken_by_colleague", "my_group", "i_am_consulted")}


def test_each_row_says_where_its_review_is_routed(client, reviewer, routed):
    rows, _ = routed
    client.force_login(reviewer)

    html = client.get(QUEUE, {"q": f"#{rows['my_group'].initiative_id}"}).content.decode()
    anyone = client.get(QUEUE, {"q": f"#{rows['every_reviewer'].initiative_id}"})

    assert '<td data-label="Routed to">Security reviewers</td>' in html
    assert "Any reviewer" in anyone.content.decode()


def test_tab_counts_count_the_filtered_queue(client, reviewer, routed):
    rows, _ = routed
    client.force_login(reviewer)

    response = client.get(QUEUE, {"mine": "1", "status": "pending"})

    tabs = {key: count for key, _, count in response.context["tabs"]}
    # Mine: taken by me (in review), my group's, every reviewer's, the one I am Informed on.
    assert response.context["total"] == 4
    assert tabs["pending"] == 3
    assert tabs["in_review"] == 1
    assert _listed(response) == {rows[key].pk for key in (
        "my_group", "every_reviewer", "i_am_informed")}


# --- Grouped by initiative ----------------------------------------------------------------------

def test_by_initiative_lists_the_same_rows_under_each_initiative(client, reviewer):
    claims = _assessing(title="Claims triage assistant")
    spend = _assessing(title="Spend analytics")
    late = open_checkpoint(claims, due_in=-2)
    soon = open_checkpoint(spend, due_in=1)
    later = open_checkpoint(claims, checkpoint_type=pen_test_type(
        code="privacy-review", name="Privacy review"), due_in=20)
    client.force_login(reviewer)

    flat = client.get(QUEUE)
    grouped = client.get(QUEUE, {"by": "initiative"})

    assert [cp.pk for cp in flat.context["page"].object_list] == [late.pk, soon.pk, later.pk]
    assert [(initiative.pk, [cp.pk for cp in rows])
            for initiative, rows in grouped.context["groups"]] == [
        (claims.pk, [late.pk, later.pk]), (spend.pk, [soon.pk])]
    html = grouped.content.decode()
    assert html.count('<h2 class="queue-group"') == 2
    assert html.index("Claims triage assistant</a>") < html.index("Spend analytics</a>")


# --- Query budget -----------------------------------------------------------------------------

@pytest.mark.parametrize("rows", [5, 60])
def test_the_filtered_queue_costs_the_same_queries_however_many_rows(
        client, reviewer, rows, settings, django_assert_max_num_queries):
    settings.PAGE_SIZE = 50
    team = TeamFactory()
    security = group_of("Security reviewers", reviewer)
    for number in range(rows):
        initiative = _assessing(team=team, title=f"Claims assistant {number}")
        if number % 3 == 0:
            stake(initiative, reviewer, "C")
        open_checkpoint(initiative, reviewer_group=security if number % 2 else None)
    client.force_login(reviewer)

    # session, user, the user's roles; the chosen reviewer group (the filter checks it); the
    # tab counts, the page's count, its rows; the viewer's segregated roles on the page's
    # initiatives (once, not per row); the type, team and reviewer-group choices of the
    # filter form; the navigation's counts.
    budget = 11 + QUEUE_NAV_QUERIES
    with django_assert_max_num_queries(budget):
        grouped = client.get(QUEUE, {"q": "claims", "by": "initiative"})
    with django_assert_max_num_queries(budget):
        mine = client.get(QUEUE, {"mine": "1", "group": security.pk})

    assert len(grouped.context["page"].object_list) == min(rows, 50)
    # Mine in the security group: odd numbers, not on the ones I am Consulted on.
    assert mine.context["total"] == len([n for n in range(rows) if n % 2 and n % 3])
