"""`registry serve` on a fresh SQLite database (the default policies and the demo
agencies), and tokens its issuer accepts: for the tests that talk to the API from outside
the test process (a browser, node)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from api.auth import CLI_CLIENT_ID
from api.issuer import Issuer, SigningKeys
from api.settings import Settings
from db.migrate import upgrade
from tests.api.conftest import prepare
from tests.live import Served, registry_serve


@dataclass
class ServedRegistry:
    served: Served
    issuer: Issuer

    @property
    def base_url(self) -> str:
        return self.served.base_url

    def token(self, sub: str, role: str, agency: str | None = None) -> str:
        """As `registry token issue` makes them (each subject its own rate-limit bucket)."""
        return self.issuer.issue(sub=sub, role=role, client_id=CLI_CLIENT_ID, agency=agency)


@contextmanager
def served_registry(directory: Path, environment: dict[str, str] | None = None
                    ) -> Iterator[ServedRegistry]:
    """`registry serve` in development with `environment` added to its REGISTRY_* settings."""
    database_url = f"sqlite:///{directory / 'registry.db'}"
    upgrade(database_url)
    asyncio.run(prepare(database_url))
    key_file = str(directory / "signing-key.pem")
    keys = SigningKeys.load_or_create(key_file)  # before the server: both sign with it
    with registry_serve({"REGISTRY_DATABASE_URL": database_url,
                         "REGISTRY_SIGNING_KEY_FILE": key_file, **(environment or {})},
                        directory) as served:
        settings = Settings(database_url=database_url, signing_key_file=key_file,
                            issuer=served.base_url)
        yield ServedRegistry(served=served, issuer=Issuer(settings, keys))
