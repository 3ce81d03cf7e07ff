"""Single sign-on's settings (issue 21): the role map's documented form, and start-up refusing
a half-configured provider with the variables' names instead of signing people in wrongly.

The settings file is run afresh (``runpy``) with the environment a test gives it; the
settings the suite runs with are left alone.
"""

import runpy

import pytest

import portfolio.settings
from portfolio.config import ConfigError
from portfolio.identity.rolemap import RoleMapError, parse_role_map, roles_for_groups

SSO_VARIABLES = ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_ROLE_MAP",
                 "OIDC_DEACTIVATE_GROUPS", "OIDC_PROVIDER_NAME", "PASSWORD_SIGN_IN",
                 "PASSWORD_SIGN_IN_USERS", "SESSION_IDLE_MINUTES", "SESSION_MAX_HOURS",
                 "OIDC_TOKEN_AUTH_METHOD")


# --- OIDC_ROLE_MAP ------------------------------------------------------------------------

def test_the_documented_role_map_is_read_role_by_role():
    mapping = parse_role_map(
        "pm=ai-pms,product;reviewer=ai-governance;tpm=tpms;leadership=execs;"
        "staff=portfolio-admins")

    assert mapping == {
        "pm": frozenset({"ai-pms", "product"}), "reviewer": frozenset({"ai-governance"}),
        "tpm": frozenset({"tpms"}), "leadership": frozenset({"execs"}),
        "staff": frozenset({"portfolio-admins"}),
    }


def test_spaces_and_a_trailing_separator_are_tolerated_and_roles_ignore_case():
    assert parse_role_map(" PM = ai-pms , product ; Reviewer=ai-governance ;") == {
        "pm": frozenset({"ai-pms", "product"}), "reviewer": frozenset({"ai-governance"})}


@pytest.mark.parametrize("value", ["", None, " ; "])
def test_an_empty_role_map_grants_nothing(value):
    assert parse_role_map(value) == {}


def test_group_names_are_kept_exactly_as_the_provider_spells_them():
    mapping = parse_role_map("pm=/ai/PMs,3f2a9c1e-77b0-4c55-9d4e-2b1f0a6c8e11")

    assert mapping["pm"] == frozenset({"/ai/PMs", "3f2a9c1e-77b0-4c55-9d4e-2b1f0a6c8e11"})
    assert roles_for_groups(mapping, ["/ai/PMs"]) == {"pm"}
    assert roles_for_groups(mapping, ["/ai/pms", "ai-pms"]) == set()


def test_roles_for_groups_grants_each_role_one_of_whose_groups_is_held():
    mapping = parse_role_map("pm=ai-pms,product;reviewer=ai-governance;staff=admins")

    assert roles_for_groups(mapping, ["product", "admins", "coffee-club"]) == {"pm", "staff"}
    assert roles_for_groups(mapping, []) == set()


@pytest.mark.parametrize(("value", "message"), [
    ("admin=portfolio-admins", "role one of pm, reviewer, tpm, leadership, staff;"
                               " got 'admin=portfolio-admins'"),
    ("pm=ai-pms;reviewers=ai-governance", "got 'reviewers=ai-governance'"),
    ("pm", "each entry is role=group[,group]"),
    ("pm=", "pm names no group"),
    ("pm= , ;tpm=tpms", "pm names no group"),
    ("pm=ai-pms;tpm=tpms;PM=product", "pm appears twice"),
])
def test_a_malformed_role_map_is_refused_saying_what_is_wrong(value, message):
    with pytest.raises(RoleMapError) as error:
        parse_role_map(value)

    assert message in str(error.value)


# --- Start-up --------------------------------------------------------------------------------

@pytest.fixture
def environment(monkeypatch):
    """The environment the settings module reads, without any single sign-on variable."""
    for name in SSO_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def load(**variables):
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(portfolio.settings.__file__, run_name="settings_under_test")

    return load


def test_without_an_issuer_single_sign_on_is_off_and_passwords_work(environment):
    loaded = environment()

    assert loaded["SSO_ENABLED"] is False
    assert loaded["PASSWORD_SIGN_IN"] is True
    assert loaded["OIDC_ROLE_MAP"] == {}
    assert (loaded["SESSION_IDLE_MINUTES"], loaded["SESSION_MAX_HOURS"]) == (120, 12)


def test_a_complete_provider_configuration_is_read(environment):
    loaded = environment(
        OIDC_ISSUER="https://id.example.com/realms/staff/", OIDC_CLIENT_ID="portfolio",
        OIDC_CLIENT_SECRET="s3cret", OIDC_ROLE_MAP="pm=ai-pms;staff=portfolio-admins",
        OIDC_DEACTIVATE_GROUPS="leavers,suspended", PASSWORD_SIGN_IN="off",
        PASSWORD_SIGN_IN_USERS="breakglass", SESSION_IDLE_MINUTES="45")

    assert loaded["SSO_ENABLED"] is True
    assert loaded["OIDC_ISSUER"] == "https://id.example.com/realms/staff"
    assert (loaded["OIDC_RP_CLIENT_ID"], loaded["OIDC_RP_CLIENT_SECRET"]) == (
        "portfolio", "s3cret")
    assert loaded["OIDC_ROLE_MAP"] == {"pm": frozenset({"ai-pms"}),
                                       "staff": frozenset({"portfolio-admins"})}
    assert loaded["OIDC_DEACTIVATE_GROUPS"] == ["leavers", "suspended"]
    assert loaded["PASSWORD_SIGN_IN"] is False
    assert loaded["PASSWORD_SIGN_IN_USERS"] == ["breakglass"]
    assert loaded["SESSION_IDLE_MINUTES"] == 45


@pytest.mark.parametrize("missing", ["OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"])
def test_an_issuer_without_client_credentials_stops_start_up_naming_them(environment,
                                                                           missing):
    present = {"OIDC_CLIENT_ID": "portfolio", "OIDC_CLIENT_SECRET": "s3cret"}
    del present[missing]

    with pytest.raises(ConfigError) as error:
        environment(OIDC_ISSUER="https://id.example.com", **present)

    message = str(error.value)
    assert "OIDC_CLIENT_ID" in message
    assert "OIDC_CLIENT_SECRET" in message
    assert "OIDC_ISSUER" in message


def test_a_malformed_role_map_stops_start_up_naming_the_variable(environment):
    with pytest.raises(ConfigError, match=r"^OIDC_ROLE_MAP: .*got 'boss=execs'"):
        environment(OIDC_ROLE_MAP="pm=ai-pms;boss=execs")


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("PASSWORD_SIGN_IN", "sometimes", "PASSWORD_SIGN_IN must be true or false"),
    ("SESSION_IDLE_MINUTES", "0", "SESSION_IDLE_MINUTES must be"),
    ("SESSION_MAX_HOURS", "twelve", "SESSION_MAX_HOURS must be"),
])
def test_malformed_sign_in_switches_stop_start_up_naming_the_variable(environment, variable,
                                                                       value, message):
    with pytest.raises(ConfigError, match=message):
        environment(**{variable: value})


def test_switching_password_sign_in_off_without_single_sign_on_stops_start_up(environment):
    with pytest.raises(ConfigError, match=r"PASSWORD_SIGN_IN=false needs single sign-on"):
        environment(PASSWORD_SIGN_IN="off", PASSWORD_SIGN_IN_USERS="breakglass")


@pytest.mark.parametrize("method", ["client_secret_jwt", "basic"])
def test_an_unknown_token_auth_method_stops_start_up(environment, method):
    with pytest.raises(ConfigError, match="OIDC_TOKEN_AUTH_METHOD must be"):
        environment(OIDC_TOKEN_AUTH_METHOD=method)


def test_okta_style_basic_client_authentication_is_passed_to_the_library(environment):
    loaded = environment(OIDC_TOKEN_AUTH_METHOD="client_secret_basic")

    assert loaded["OIDC_TOKEN_USE_BASIC_AUTH"] is True
