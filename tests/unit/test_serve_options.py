"""What `registry serve` decides before uvicorn starts: the embedded issuer's address
(issue 14 item 8) and where several workers keep their metrics (item 7). Served for real in
tests/api/test_served_observability.py."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api.cli import served_issuer
from api.metrics import MULTIPROC_VARIABLE, multiprocess_dir
from api.settings import Settings


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("REGISTRY_ISSUER", raising=False)
    monkeypatch.delenv(MULTIPROC_VARIABLE, raising=False)
    return monkeypatch


def test_the_issuer_follows_the_port_and_host_served_unless_it_is_set(
        environment: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert served_issuer(settings, "127.0.0.1", 8000) is None  # the default already
    assert served_issuer(settings, "127.0.0.1", 8100) == "http://127.0.0.1:8100"
    assert served_issuer(settings, "0.0.0.0", 8000) is None  # noqa: S104 - reached locally
    assert served_issuer(settings, "::1", 8100) == "http://[::1]:8100"
    assert served_issuer(settings, "registry.example", 80) == "http://registry.example:80"
    assert served_issuer(settings.with_(jwks_url="https://idp.example/jwks"),
                         "127.0.0.1", 8100) is None  # an external issuer is not ours
    assert served_issuer(settings.with_(oidc_issuer="https://idp.example"),
                         "127.0.0.1", 8100) is None  # nor an OpenID provider
    environment.setenv("REGISTRY_ISSUER", "https://registry.example")
    assert served_issuer(settings, "0.0.0.0", 8100) is None  # noqa: S104


def test_several_workers_get_a_fresh_metrics_directory_removed_at_the_end(
        environment: pytest.MonkeyPatch) -> None:
    with multiprocess_dir(1) as none:
        assert none is None and MULTIPROC_VARIABLE not in os.environ
    with multiprocess_dir(2) as first:
        assert first is not None and os.environ[MULTIPROC_VARIABLE] == first
        Path(first, "counter_1.db").write_bytes(b"")
    with multiprocess_dir(2) as second:
        assert second != first and not os.listdir(str(second))
    assert first is not None and second is not None
    assert not Path(first).exists() and not Path(second).exists()
    assert MULTIPROC_VARIABLE not in os.environ


def test_a_metrics_directory_given_is_emptied_of_earlier_runs_and_kept(
        environment: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "counter_41.db").write_bytes(b"stale")
    (tmp_path / "notes.txt").write_text("not ours")
    environment.setenv(MULTIPROC_VARIABLE, str(tmp_path))
    with multiprocess_dir(4) as given:
        assert given == str(tmp_path)
        assert sorted(os.listdir(tmp_path)) == ["notes.txt"]
    assert tmp_path.exists()
