"""Hand-made JWTs for attack tests: built byte by byte so no library can refuse to make them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from api.settings import Settings


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def signing_input(header: dict[str, Any], claims: dict[str, Any]) -> bytes:
    return (b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())).encode()


def sign_rs256(header: dict[str, Any], claims: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    data = signing_input(header, claims)
    signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return data.decode() + "." + b64(signature)


def sign_hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    data = signing_input(header, claims)
    return data.decode() + "." + b64(hmac.new(secret, data, hashlib.sha256).digest())


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return signing_input(header, claims).decode() + "."


def good_claims(settings: Settings, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.issuer, "aud": settings.audience, "sub": "judge-1",
        "client_id": "portal", "role": "judge", "agency": "COURT-110101",
        "iat": now, "exp": now + 300, "jti": "jti-1",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}
