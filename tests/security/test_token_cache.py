"""A verified token is remembered, never beyond its expiry nor the key-refetch window."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from api import auth
from api.auth import InvalidToken, TokenVerifier
from api.issuer import Issuer, SigningKeys
from api.settings import Settings


@pytest.fixture
def issuer(tmp_path: Path) -> Issuer:
    settings = Settings(signing_key_file=str(tmp_path / "key.pem"))
    return Issuer(settings, SigningKeys.load_or_create(settings.signing_key_file))


@pytest.fixture
def verifier(issuer: Issuer) -> TokenVerifier:
    return TokenVerifier(issuer.settings, issuer)


def counting(verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    full = verifier._verify

    async def spy(token: str) -> tuple[auth.Principal, float]:
        calls.append(token)
        return await full(token)

    monkeypatch.setattr(verifier, "_verify", spy)
    return calls


async def test_a_token_used_again_is_not_verified_again(
        issuer: Issuer, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(verifier, monkeypatch)
    token = issuer.issue(sub="j", role="judge", client_id="c", agency="COURT-110101")
    first = await verifier.verify(token)
    second = await verifier.verify(token)
    assert first == second and first.sub == "j"
    assert len(calls) == 1


async def test_a_remembered_token_past_its_expiry_is_refused(
        issuer: Issuer, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch) -> None:
    token = issuer.issue(sub="j", role="judge", client_id="c", ttl=30)
    await verifier.verify(token)
    later = time.time() + 30 + auth.LEEWAY_SECONDS + 1
    monkeypatch.setattr(auth.time, "time", lambda: later)
    with pytest.raises(InvalidToken, match="expired"):
        await verifier.verify(token)


async def test_a_remembered_token_is_verified_in_full_after_the_refetch_window(
        issuer: Issuer, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(verifier, monkeypatch)
    token = issuer.issue(sub="j", role="judge", client_id="c", ttl=3600)
    await verifier.verify(token)
    later = time.time() + auth.VERIFIED_CACHE_SECONDS + 1
    monkeypatch.setattr(auth.time, "time", lambda: later)
    await verifier.verify(token)
    assert len(calls) == 2


async def test_a_tampered_copy_of_a_remembered_token_is_refused(
        issuer: Issuer, verifier: TokenVerifier) -> None:
    token = issuer.issue(sub="j", role="judge", client_id="c")
    await verifier.verify(token)
    head, payload, signature = token.split(".")
    forged = ".".join((head, payload, signature[:-2] + ("AA" if signature[-2:] != "AA"
                                                          else "BB")))
    with pytest.raises(InvalidToken):
        await verifier.verify(forged)


async def test_remembered_tokens_are_bounded(issuer: Issuer, verifier: TokenVerifier,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "VERIFIED_CACHE_SIZE", 3)
    for n in range(5):
        await verifier.verify(issuer.issue(sub=f"s{n}", role="judge", client_id="c"))
    assert len(verifier._verified) == 3
