"""A bad setting stops start-up with a message naming it (CONTRACT.md §1)."""

import pytest

from api.settings import Settings, SettingsError


@pytest.mark.parametrize(("variable", "value"), [
    ("REGISTRY_ENV", "staging"),
    ("REGISTRY_DATABASE_URL", "mysql://localhost/registry"),
    ("REGISTRY_TOKEN_TTL_SECONDS", "soon"),
    ("REGISTRY_TOKEN_TTL_SECONDS", "0"),
    ("REGISTRY_MAX_QUERY_DEPTH", "-1"),
    ("REGISTRY_AUTHZ_DISABLED", "maybe"),
    ("REGISTRY_JWKS_URL", "file:///etc/keys.json"),
    ("REGISTRY_POLICY_POLL_SECONDS", "often"),
    ("REGISTRY_TOKEN_MAX_TTL", "0"),
    ("REGISTRY_TOKEN_TTL_SECONDS", "28801"),
    ("REGISTRY_CLIENT_POLL_SECONDS", "61"),
    ("REGISTRY_CLIENT_POLL_SECONDS", "-1"),
    ("REGISTRY_POLICY_APPROVERS", "-1"),
    ("REGISTRY_POLICY_APPROVERS", "11"),
    ("REGISTRY_POLICY_APPROVERS", "two"),
])
def test_a_bad_setting_is_refused_naming_its_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({variable: value})
    assert caught.value.variable == variable
    assert variable in str(caught.value)


def test_authorization_cannot_be_switched_off_in_production() -> None:
    with pytest.raises(SettingsError, match="REGISTRY_AUTHZ_DISABLED"):
        Settings.from_env({"REGISTRY_ENV": "production", "REGISTRY_AUTHZ_DISABLED": "1"})


def test_settings_are_read_from_the_environment_with_their_defaults() -> None:
    settings = Settings.from_env({"REGISTRY_ENV": "production", "REGISTRY_MAX_ALIASES": "7"})
    assert settings.production
    assert settings.max_aliases == 7
    assert settings.database_url == "sqlite:///var/registry.db"
    assert settings.jwks_url is None


def test_a_policy_change_needs_two_admins_in_production_and_one_in_development() -> None:
    assert Settings.from_env({"REGISTRY_ENV": "production"}).approvers_needed == 2
    assert Settings.from_env({}).approvers_needed == 1
    assert Settings.from_env({"REGISTRY_ENV": "production",
                              "REGISTRY_POLICY_APPROVERS": "3"}).approvers_needed == 3
    assert Settings.from_env({"REGISTRY_POLICY_APPROVERS": "2"}).approvers_needed == 2


@pytest.mark.parametrize("origins", [
    "*",
    "null",
    "portal.example.gov",
    "https://portal.example.gov/",
    "https://portal.example.gov/app",
    "https://portal.example.gov:443",
    "http://portal.example.gov:80",
    "https://Portal.Example.gov",
    "ftp://portal.example.gov",
    "https://portal.example.gov:99999",
    "https://user@portal.example.gov",
    "https://portal.example.gov,https://other.example.gov/",
])
def test_a_cors_origin_that_a_browser_never_sends_stops_start_up(origins: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"REGISTRY_CORS_ORIGINS": origins})
    assert caught.value.variable == "REGISTRY_CORS_ORIGINS"


def test_cors_origins_are_a_comma_separated_list_and_none_by_default() -> None:
    assert Settings().cors_origin_list == ()
    settings = Settings.from_env({"REGISTRY_CORS_ORIGINS":
                                  "https://portal.example.gov, http://127.0.0.1:3000,"})
    assert settings.cors_origin_list == ("https://portal.example.gov", "http://127.0.0.1:3000")


IDP = {"REGISTRY_OIDC_ISSUER": "https://idp.example/realms/justice"}


@pytest.mark.parametrize(("variable", "value", "others"), [
    ("REGISTRY_OIDC_ISSUER", "idp.example", {}),
    ("REGISTRY_OIDC_ISSUER", "ftp://idp.example", {}),
    ("REGISTRY_OIDC_ISSUER", "https://idp.example/?tenant=1", {}),
    ("REGISTRY_OIDC_ISSUER", "https://idp.example/#top", {}),
    ("REGISTRY_OIDC_ISSUER", "https://user@idp.example", {}),
    ("REGISTRY_OIDC_ISSUER", "https://idp.example:99999", {}),
    ("REGISTRY_OIDC_ISSUER", "http://idp.example", {"REGISTRY_ENV": "production"}),
    ("REGISTRY_OIDC_ISSUER", "https://idp.example",
     {"REGISTRY_JWKS_URL": "https://idp.example/certs"}),
    ("REGISTRY_CLAIM_ROLE", "realm_access.roles", {}),
    ("REGISTRY_CLAIM_AGENCY", "org", {}),
    ("REGISTRY_CLAIM_ID_NUMBER", "national_id", {}),
    ("REGISTRY_CLAIM_CLIENT_ID", "azp", {}),
    ("REGISTRY_ROLE_MAP", "judges:judge", {}),
    ("REGISTRY_OIDC_ACCEPT_JWT_TYP", "1", {}),
    ("REGISTRY_OIDC_ACCEPT_JWT_TYP", "perhaps", IDP),
    ("REGISTRY_CLAIM_ROLE", "", IDP),
    ("REGISTRY_CLAIM_ROLE", "realm_access..roles", IDP),
    ("REGISTRY_CLAIM_ROLE", "realm access", IDP),
    ("REGISTRY_CLAIM_CLIENT_ID", ".azp", IDP),
    ("REGISTRY_ROLE_MAP", "judges", IDP),
    ("REGISTRY_ROLE_MAP", "judges:sheriff", IDP),
    ("REGISTRY_ROLE_MAP", ":judge", IDP),
    ("REGISTRY_ROLE_MAP", "judges:judge,judges:prosecutor", IDP),
    ("REGISTRY_ROLE_MAP", " , ", IDP),
])
def test_a_bad_openid_provider_setting_is_refused_naming_its_variable(
        variable: str, value: str, others: dict[str, str]) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**others, variable: value})
    assert caught.value.variable == variable
    assert variable in str(caught.value)


def test_the_openid_provider_and_a_bare_jwks_url_are_refused_together_naming_both() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**IDP, "REGISTRY_JWKS_URL": "https://idp.example/certs"})
    assert "REGISTRY_OIDC_ISSUER" in str(caught.value)
    assert "REGISTRY_JWKS_URL" in str(caught.value)


def test_a_claim_mapping_for_an_openid_provider_is_read_from_the_environment() -> None:
    settings = Settings.from_env({
        **IDP, "REGISTRY_ENV": "production", "REGISTRY_CLAIM_ROLE": "realm_access.roles",
        "REGISTRY_CLAIM_CLIENT_ID": "azp", "REGISTRY_ROLE_MAP": "Registry.Judge:judge",
        "REGISTRY_OIDC_ACCEPT_JWT_TYP": "1"})
    assert (settings.oidc_issuer, settings.claim_role, settings.claim_client_id,
            settings.claim_agency, settings.role_map, settings.oidc_accept_jwt_typ) == (
        "https://idp.example/realms/justice", "realm_access.roles", "azp", "agency",
        "Registry.Judge:judge", True)
    assert Settings.from_env({"REGISTRY_OIDC_ISSUER": "http://127.0.0.1:9000"}).oidc_issuer \
        == "http://127.0.0.1:9000"  # http outside production
