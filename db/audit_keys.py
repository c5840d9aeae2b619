"""The audit chain's key and its witness (DESIGN.md §1.5): what keeps the trail honest
against someone with full access to the database but not to the service.

The key ring (`REGISTRY_AUDIT_KEY_FILE`) is a file beside the service, never in the
database: one line per key, `<kid> <base64url of 32 random bytes>`, the last line the key
new events are sealed with. It is created on first use (mode 0600); `registry audit
rotate-key` appends a new key, and the old ones stay so that what they sealed still
verifies. Keys are never logged; a kid is a hash of its key, safe to print.

The witness (`REGISTRY_AUDIT_WITNESS`) is an append-only JSONL file outside the database.
Each line is one checkpoint of one chain's head: the chain's id, the checkpoint's number
`n` in that chain, the head's sequence and MAC, the end of the chain's unkeyed prefix, the
time, and `jws`, a compact JWS (HS256, joserfc) over all of that with the current audit
key. Lines of other chains are skipped, so one witness can serve several databases.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from db.secret_files import write_secret_once

KEY_BYTES = 32
WITNESS_FIELDS = ("chain", "n", "seq", "hash", "legacy_until", "at")


def _kid(key: bytes) -> str:
    return hashlib.sha256(b"registry-audit-key:" + key).hexdigest()[:16]


def _encode(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AuditKeys:
    """The audit key ring: HMAC-SHA256 of events, HS256 JWS of witness checkpoints."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("REGISTRY_AUDIT_KEY_FILE holds no key")
        self._keys = {_kid(key): key for key in keys}
        self.current = _kid(keys[-1])

    def __repr__(self) -> str:  # never the key material
        return f"AuditKeys(current={self.current!r}, kids={sorted(self._keys)!r})"

    def knows(self, kid: str) -> bool:
        return kid in self._keys

    def mac(self, kid: str, payload: bytes) -> str | None:
        """HMAC-SHA256 hex of `payload` under key `kid`; None for a kid not in the ring."""
        key = self._keys.get(kid)
        return None if key is None else hmac.new(key, payload, hashlib.sha256).hexdigest()

    def sign(self, claims: dict[str, Any]) -> str:
        payload = json.dumps(claims, sort_keys=True, separators=(",", ":")).encode()
        return jws.serialize_compact({"alg": "HS256", "kid": self.current}, payload,
                                     OctKey.import_key(self._keys[self.current]),
                                     algorithms=["HS256"])

    def verify(self, token: str) -> dict[str, Any] | None:
        """The signed claims, or None when the signature is not one of this ring's keys."""
        try:
            kid = jws.extract_compact(token.encode()).headers().get("kid")
            key = self._keys.get(str(kid))
            if key is None:
                return None
            found = jws.deserialize_compact(token, OctKey.import_key(key), algorithms=["HS256"])
            claims = json.loads(found.payload)
        except (JoseError, ValueError, TypeError):
            return None
        return claims if isinstance(claims, dict) else None

    @classmethod
    def load(cls, path: str) -> AuditKeys | None:
        """The ring in `path`, or None when there is no such file (never created here)."""
        target = Path(path)
        if not target.exists():
            return None
        keys = []
        for number, line in enumerate(target.read_text(encoding="ascii").splitlines(), 1):
            if not line.strip():
                continue
            try:
                kid, text = line.split()
                key = _decode(text)
            except ValueError:
                raise ValueError(f"REGISTRY_AUDIT_KEY_FILE: line {number} of {path} is not "
                                 "'<kid> <key>'") from None
            if len(key) < KEY_BYTES or _kid(key) != kid:
                raise ValueError(f"REGISTRY_AUDIT_KEY_FILE: line {number} of {path} is not "
                                 "a valid audit key")
            keys.append(key)
        return cls(keys)

    @classmethod
    def load_or_create(cls, path: str) -> AuditKeys:
        """Two processes starting at once may both generate a key; `os.link` lets only the
        first one land, and both then load the file, so they seal with the same key."""
        target = Path(path)
        if not target.exists():
            key = secrets.token_bytes(KEY_BYTES)
            write_secret_once(target, f"{_kid(key)} {_encode(key)}\n".encode("ascii"))
        found = cls.load(path)
        assert found is not None
        return found

    @classmethod
    def rotate(cls, path: str) -> AuditKeys:
        """Appends a new key, which seals what is written from the next start on; the
        old keys stay in the file so that what they sealed still verifies."""
        cls.load_or_create(path)
        key = secrets.token_bytes(KEY_BYTES)
        with open(path, "a", encoding="ascii") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            handle.write(f"{_kid(key)} {_encode(key)}\n")
            handle.flush()
            os.fsync(handle.fileno())
        found = cls.load(path)
        assert found is not None
        return found


def append_witness(path: str, keys: AuditKeys, claims: dict[str, Any]) -> str:
    """Appends one signed checkpoint to the witness, flushed to disk (fsync) before this
    returns; an exclusive lock keeps lines of several writers whole. Returns the line."""
    line = json.dumps({**claims, "jws": keys.sign(claims)}, sort_keys=True,
                      separators=(",", ":")) + "\n"
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return line


@dataclass(frozen=True)
class WitnessEntry:
    line: int  # 1-based line of the witness file
    claims: dict[str, Any] | None  # the signed claims; None when the signature fails
    problem: str | None  # what is wrong with the line itself


def read_witness(path: str, chain_id: str, keys: AuditKeys | None) -> Iterator[WitnessEntry]:
    """The lines of `path` that name `chain_id`, in file order. A line is taken to name the
    chain its signed payload names (read before the signature is checked), so changing the
    readable copy of the id does not hide a line."""
    target = Path(path)
    if not target.exists():
        return
    with target.open(encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)  # no half-written line of a writer
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            try:
                outer = json.loads(text)
                token = str(outer["jws"])
                inner = json.loads(jws.extract_compact(token.encode()).payload)
                if not isinstance(inner, dict):
                    raise ValueError
            except (ValueError, KeyError, TypeError, JoseError):
                yield WitnessEntry(number, None, "is not a witness checkpoint")
                continue
            if inner.get("chain") != chain_id:
                continue
            claims = keys.verify(token) if keys is not None else None
            if claims is None:
                yield WitnessEntry(number, None, "its signature is not the service's key")
            elif any(outer.get(name) != claims.get(name) for name in WITNESS_FIELDS):
                yield WitnessEntry(number, None, "its readable fields differ from the signed ones")
            else:
                yield WitnessEntry(number, claims, None)
