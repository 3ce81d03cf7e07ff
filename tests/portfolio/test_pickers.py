"""People and initiative pickers: they search as the user types and list nobody up front;
without JavaScript, typed text is resolved on submit (docs/architecture.md, "People pickers")."""

import pytest
from django.contrib.auth import get_user_model

from portfolio.models import Dependency, Stakeholder
from tests.factories import InitiativeFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

SEARCH = "/people/search/"
INITIATIVE_SEARCH = "/initiatives/search/"


def people_url(initiative):
    return f"/initiatives/{initiative.pk}/people/"


def deps_url(initiative):
    return f"/initiatives/{initiative.pk}/dependencies/"


def offered(client, role, text, key="value"):
    response = client.get(SEARCH, {"role": role, "q": text})
    assert response.status_code == 200
    return [row[key] for row in response.json()["results"]]


def many_people(count, *, prefix="person", first_name="Sam"):
    """Active people with no role, quickly (no password hashing)."""
    get_user_model().objects.bulk_create(
        get_user_model()(username=f"{prefix}{n}", first_name=first_name, last_name=f"Lee{n:04}",
                         email=f"{prefix}{n}@example.com")
        for n in range(count))


@pytest.fixture
def jane(db):
    return UserFactory(username="jdoe", first_name="Jane", last_name="Doe",
                       email="jane.doe@example.com")


# --- The search endpoint -------------------------------------------------------------------

def test_search_matches_the_start_of_names_usernames_and_emails(client, leader, jane):
    UserFactory(username="jdoe2", first_name="John", last_name="Dobbs", email="jd@example.com")
    client.force_login(leader)

    assert offered(client, "stakeholder", "jan") == ["Jane Doe (jdoe)"]
    assert offered(client, "stakeholder", "jane do") == ["Jane Doe (jdoe)"]
    assert offered(client, "stakeholder", "DOE JANE") == ["Jane Doe (jdoe)"]
    assert offered(client, "stakeholder", "jane.doe@") == ["Jane Doe (jdoe)"]
    assert offered(client, "stakeholder", "jdoe") == ["Jane Doe (jdoe)", "John Dobbs (jdoe2)"]
    assert offered(client, "stakeholder", "oe") == []  # words start names; no infix match
    assert offered(client, "stakeholder", "jdoe", key="detail") == ["jdoe", "jdoe2"]


def test_each_role_offers_only_the_people_who_fit_it(client, leader, pm):
    UserFactory(username="pat-reviewer", first_name="Quorra", roles=["reviewer"])
    UserFactory(username="pat-pm", first_name="Quorra", roles=["pm"])
    UserFactory(username="pat-gone", first_name="Quorra", roles=["pm"], is_active=False)
    client.force_login(leader)
    # A name no generated user has (Faker's last names include Patel and Patterson).

    # Owners: active PMs (access.eligible_owners); everyone else: any active person.
    assert offered(client, "owner", "quorra", "detail") == ["pat-pm"]
    for role in ("sponsor", "stakeholder", "production_owner"):
        assert sorted(offered(client, role, "quorra", "detail")) == ["pat-pm", "pat-reviewer"]


def test_search_returns_at_most_twenty_people(client, leader):
    many_people(60)
    client.force_login(leader)

    assert len(offered(client, "stakeholder", "sam")) == 20
    assert offered(client, "stakeholder", "sam lee0007") == ["Sam Lee0007 (person7)"]


@pytest.mark.parametrize("persona", ["pm", "reviewer", "tpm", "leader"])
def test_every_role_may_search(client, request, persona, jane):
    client.force_login(request.getfixturevalue(persona))

    assert offered(client, "stakeholder", "jane") == ["Jane Doe (jdoe)"]
    assert client.get(INITIATIVE_SEARCH, {"q": "x"}).status_code == 200


def test_outsiders_and_anonymous_visitors_learn_nothing(client, outsider, jane):
    anonymous = client.get(SEARCH, {"role": "stakeholder", "q": "jane"})
    client.force_login(outsider)
    no_role = client.get(SEARCH, {"role": "stakeholder", "q": "jane"})
    no_role_initiatives = client.get(INITIATIVE_SEARCH, {"q": "x"})

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/login/")
    assert (no_role.status_code, no_role_initiatives.status_code) == (404, 404)
    assert b"Jane" not in no_role.content


@pytest.mark.parametrize("params", [
    {"role": "stakeholder", "q": "ja\x00ne"},
    {"role": "stakeholder", "q": "%"},
    {"role": "stakeholder", "q": "_"},
    {"role": "stakeholder", "q": "Jane Doe (jdoe"},
    {"role": "stakeholder", "q": "((()))"},
    {"role": "stakeholder", "q": "x" * 5000},
    {"role": "stakeholder", "q": " ".join(["a"] * 500)},
    {"role": "stakeholder", "q": "Ωmega ☃"},
    {"role": "stakeholder"},
    {"role": "owner", "q": "99999999999999999999999999"},
    {"role": ["owner", "sponsor"], "q": "jane"},
])
def test_odd_input_never_fails(client, leader, jane, params):
    client.force_login(leader)

    response = client.get(SEARCH, params)

    assert response.status_code == 200
    assert isinstance(response.json()["results"], list)


@pytest.mark.parametrize("role", ["", "admin", "OWNER", "\x00"])
def test_an_unknown_role_is_a_clear_bad_request(client, leader, role):
    client.force_login(leader)

    response = client.get(SEARCH, {"role": role, "q": "jane"})

    assert response.status_code == 400
    assert "Unknown role" in response.json()["error"]


def test_writes_are_refused(client, leader):
    client.force_login(leader)

    assert client.post(SEARCH, {"role": "owner", "q": "a"}).status_code == 405


def test_initiative_search_finds_titles_by_words_and_leaves_out_the_initiative_itself(
        client, leader):
    here = InitiativeFactory(title="Vendor master data cleanup")
    other = InitiativeFactory(title="Master data for vendors")
    InitiativeFactory(title="Returns bot")
    client.force_login(leader)

    def found(**params):
        body = client.get(INITIATIVE_SEARCH, params).json()
        return [row["value"] for row in body["results"]]

    assert found(q="master vendor") == [f"#{other.pk} Master data for vendors",
                                        f"#{here.pk} Vendor master data cleanup"]
    assert found(q="master vendor", exclude=here.pk) == [f"#{other.pk} Master data for vendors"]
    assert found(q=f"#{other.pk}") == [f"#{other.pk} Master data for vendors"]
    assert found(q="quantum") == found(q="") == found(q="\x00") == []
    assert found(q="bot", exclude="not-a-number") != []


def test_initiative_search_returns_at_most_twenty(client, leader):
    team = TeamFactory()
    owner = UserFactory(roles=["pm"])
    InitiativeFactory.create_batch(25, team=team, owner=owner)
    client.force_login(leader)

    assert len(client.get(INITIATIVE_SEARCH, {"q": "initiative"}).json()["results"]) == 20


# --- Without JavaScript: typed text, resolved on submit ------------------------------------

@pytest.mark.parametrize("typed", ["jdoe", "JDOE", "jane.doe@example.com", "Jane Doe (jdoe)",
                                   "jane", "Jane Doe", "doe j"])
def test_a_typed_username_email_or_name_adds_the_person(client, pm, jane, typed):
    UserFactory(username="jdoe-left", first_name="Jane", last_name="Dyer", is_active=False)
    initiative = InitiativeFactory(owner=pm)
    client.force_login(pm)

    response = client.post(people_url(initiative), {"user": typed, "role": "C"}, follow=True)

    assert response.redirect_chain == [(initiative.get_absolute_url(), 302)]
    assert "Jane Doe is now Consulted." in response.content.decode()
    assert list(Stakeholder.objects.filter(initiative=initiative, role="C")
                .values_list("user__username", flat=True)) == ["jdoe"]


def test_a_name_that_matches_several_people_lists_them_and_adds_nobody(client, pm, jane):
    UserFactory(username="jdoe-2", first_name="Jane", last_name="Doe")
    initiative = InitiativeFactory(owner=pm)
    client.force_login(pm)

    response = client.post(people_url(initiative), {"user": "jane doe", "role": "R"})

    assert response.status_code == 400
    error = response.context["people_form"].errors["user"][0]
    assert error == ("“jane doe” matches several people: Jane Doe (jdoe); Jane Doe (jdoe-2). "
                     "Type the username of the one you mean.")
    assert error in response.content.decode().replace("&#x27;", "'").replace("&quot;", '"')
    assert not Stakeholder.objects.filter(initiative=initiative, role="R").exists()


@pytest.mark.parametrize("typed", ["nobody-here", "zz@example.com", "999999"])
def test_a_name_that_matches_nobody_is_a_field_error_and_adds_nobody(client, pm, jane, typed):
    initiative = InitiativeFactory(owner=pm)
    client.force_login(pm)

    response = client.post(people_url(initiative), {"user": typed, "role": "R"})

    assert response.status_code == 400
    assert response.context["people_form"].errors["user"] == [
        f"No one matches “{typed}”. Type a name, a username or an email address."]
    # What was typed stays in the field, to correct it.
    assert f'value="{typed}"' in response.content.decode()
    assert not Stakeholder.objects.filter(initiative=initiative, role="R").exists()


def test_someone_who_left_is_refused_by_the_service_on_the_field(client, pm):
    UserFactory(username="gone", first_name="Gabe", last_name="Gone", is_active=False)
    initiative = InitiativeFactory(owner=pm)
    client.force_login(pm)

    response = client.post(people_url(initiative), {"user": "gone", "role": "R"})

    assert response.status_code == 400
    assert "has left" in response.context["people_form"].errors["user"][0]
    assert not Stakeholder.objects.filter(initiative=initiative, role="R").exists()


def test_a_typed_pm_becomes_the_new_owner_on_the_reassign_page(client, tpm, pm):
    leaver = UserFactory(username="leaver", roles=["pm"], is_active=False)
    initiative = InitiativeFactory(owner=leaver)
    client.force_login(tpm)

    response = client.post(f"/initiatives/{initiative.pk}/reassign/",
                           {"owner": "olive", "version": initiative.version})

    assert response.status_code == 302
    initiative.refresh_from_db()
    assert initiative.owner == pm


def test_a_dependency_picked_from_the_suggestions_is_added(client, pm):
    initiative = InitiativeFactory(owner=pm)
    upstream = InitiativeFactory(title="Vendor master data cleanup")
    InitiativeFactory(title="Vendor master data cleanup")  # the same title twice
    client.force_login(pm)

    response = client.post(deps_url(initiative),
                           {"depends_on": f"#{upstream.pk} Vendor master data cleanup"})

    assert response.status_code == 302
    assert list(Dependency.objects.values_list("depends_on", flat=True)) == [upstream.pk]


# --- The pages list nobody -----------------------------------------------------------------

def test_the_current_people_show_by_name_and_no_one_else_is_listed(client, pm, jane):
    many_people(30, first_name="Listed")
    initiative = InitiativeFactory(owner=pm, sponsor=jane)
    client.force_login(pm)

    edit = client.get(f"/initiatives/{initiative.pk}/edit/").content.decode()
    detail = client.get(initiative.get_absolute_url()).content.decode()

    assert 'value="Jane Doe (jdoe)"' in edit  # the sponsor
    assert 'value="Olive Owner (owner-pm)"' in edit
    for body in (edit, detail):
        assert "Listed" not in body
        assert f'<option value="{jane.pk}"' not in body  # no select of people
    assert 'data-picker="/people/search/?role=stakeholder"' in detail
    assert f'data-picker="/initiatives/search/?exclude={initiative.pk}"' in detail


def test_the_initiative_page_costs_the_same_with_many_people_and_initiatives(
        client, pm, django_assert_max_num_queries):
    team = TeamFactory()
    initiative = InitiativeFactory(owner=pm, team=team)
    client.force_login(pm)  # its owner: every form and picker shows
    few = client.get(initiative.get_absolute_url())
    many_people(500)
    InitiativeFactory.create_batch(100, team=team, owner=pm)

    # session, user, roles; the initiative; RACI; depends on; needed by; transitions;
    # updates; activity; history and the names in it; governance's panel: checkpoints,
    # gate, forecast queues; the exit contract's panel: the gate's evidence (2), measurements,
    # overrides, value reviews. Nothing for the people form or the dependency picker.
    with django_assert_max_num_queries(20):
        many = client.get(initiative.get_absolute_url())

    assert many.status_code == few.status_code == 200
    assert "Add person" in many.content.decode()
    # The same page, not a longer one: the people form lists nobody.
    assert abs(len(many.content) - len(few.content)) < 100
