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
