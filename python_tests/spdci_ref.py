"""An independent implementation of the spdci signature profile, for cross-checks.

Written from the profile's description with json, hashlib, base64 and the `cryptography`
package only (never libdci), as OpenSPP 2 computes it:

    canonical = json.dumps({"header": h, "message": m}, sort_keys=True, separators=(",", ":"))
    digest    = base64(sha256(canonical))
    signed    = "(created): C\n(expires): E\ndigest: D"
    value     = namespace="dci", kidId="...", algorithm="ed25519", created="C", expires="E",
                headers="(created) (expires) digest", signature="<base64>"
"""

import base64
import hashlib
import json
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

HEADERS = "(created) (expires) digest"


def canonical(header, message):
    doc = {"header": header, "message": message}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")


def signing_string(created, expires, digest):
    return f"(created): {created}\n(expires): {expires}\ndigest: {digest}".encode()


def sign(private_key, kid, header, message, created, validity=300):
    expires = created + validity
    digest = base64.b64encode(hashlib.sha256(canonical(header, message)).digest()).decode()
    data = signing_string(created, expires, digest)
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        alg, raw = "ed25519", private_key.sign(data)
    else:
        alg, raw = "rsa-sha256", private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return (
        f'namespace="dci", kidId="{kid}", algorithm="{alg}", created="{created}", '
        f'expires="{expires}", headers="{HEADERS}", signature="{base64.b64encode(raw).decode()}"'
    )


def parse(value):
    params = dict(re.findall(r'(\w+)="([^"]*)"', value))
    for name in ("kidId", "algorithm", "created", "expires", "headers", "signature"):
        if name not in params:
            raise ValueError(f"missing {name}")
    return params


def verify(public_key, envelope, now):
    """Raises on failure; returns the parsed parameters."""
    params = parse(envelope["signature"])
    created, expires = int(params["created"]), int(params["expires"])
    if expires < now:
        raise ValueError("expired")
    if params["headers"] != HEADERS:
        raise ValueError("headers")
    digest = base64.b64encode(hashlib.sha256(canonical(envelope["header"], envelope["message"])).digest()).decode()
    data = signing_string(created, expires, digest)
    raw = base64.b64decode(params["signature"])
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        public_key.verify(raw, data)
    elif isinstance(public_key, rsa.RSAPublicKey):
        public_key.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise TypeError("unsupported key")
    return params
