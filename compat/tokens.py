"""Minting JSON Web Tokens for the access-control tests (spec/auth.md), from the standard library
(HS256) and, when the `cryptography` package is installed, ES256 and RS256. Written for tests: it
signs whatever header and claims it is given, including the broken ones a forger would try."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Optional

try:  # optional: ES256 and RS256 tests skip without it
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
except ImportError:  # pragma: no cover
    serialization = None


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(value) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def signing_input(claims: dict, header: dict) -> str:
    return _segment(header) + "." + _segment(claims)


def hs256(claims: dict, secret: bytes, header: Optional[dict] = None) -> str:
    """An HS256 token; `header` replaces the default {"alg":"HS256","typ":"JWT"}."""
    head = signing_input(claims, header or {"alg": "HS256", "typ": "JWT"})
    mac = hmac.new(secret, head.encode("ascii"), hashlib.sha256).digest()
    return head + "." + b64url(mac)


def unsigned(claims: dict) -> str:
    """`alg: none` with an empty signature (RFC 7519 §6), which the server must refuse."""
    return signing_input(claims, {"alg": "none", "typ": "JWT"}) + "."


def have_asymmetric() -> bool:
    return serialization is not None


def es256(claims: dict, private_key_pem: bytes) -> str:
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    head = signing_input(claims, {"alg": "ES256", "typ": "JWT"})
    der = key.sign(head.encode("ascii"), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    # JWS carries r || s, 32 bytes each (RFC 7518 §3.4), not DER.
    return head + "." + b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def rs256(claims: dict, private_key_pem: bytes) -> str:
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    head = signing_input(claims, {"alg": "RS256", "typ": "JWT"})
    return head + "." + b64url(key.sign(head.encode("ascii"), padding.PKCS1v15(), hashes.SHA256()))


def public_pem(private_key_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def claims(*, publish=None, subscribe=None, topics=None, ttl: Optional[float] = 300, nbf: Optional[float] = None,
           **extra) -> dict:
    """Claims with the given grants (left out when None), `exp` `ttl` seconds from now."""
    now = int(time.time())
    out = {"iat": now}
    if ttl is not None:
        out["exp"] = now + ttl
    if nbf is not None:
        out["nbf"] = nbf
    for name, value in (("publish", publish), ("subscribe", subscribe), ("topics", topics)):
        if value is not None:
            out[name] = value
    out.update(extra)
    return out
