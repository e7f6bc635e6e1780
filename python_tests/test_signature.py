"""Signatures: sign and verify per profile, the clock for tests, and cross-checks against an
independent spdci implementation (json.dumps + hashlib + cryptography), both ways."""

import json
import pathlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

import dci
import spdci_ref

SEED = bytes(range(32))
NOW = 1735689600
SENDER = "registry.example.org"
VECTORS = pathlib.Path(__file__).resolve().parent.parent / "tests" / "vectors" / "dci-signature-libdci.json"

HEADER = {
    "version": "1.0.0",
    "message_id": "msg-0001",
    "message_ts": "2025-01-01T00:00:00Z",
    "action": "search",
    "sender_id": SENDER,
    "receiver_id": "crvs.example.org",
    "total_count": 1,
    "is_msg_encrypted": False,
}
MESSAGE = {
    "transaction_id": "txn-001",
    "search_request": [
        {
            "reference_id": "ref-001",
            "timestamp": "2025-01-01T00:00:00Z",
            "search_criteria": {
                "reg_type": "ns:org:RegistryType:Civil",
                "query_type": "idtype-value",
                "query": {"type": "UIN", "value": "847951632"},
            },
            "locale": "eng",
            "note": "Zoë – naïve ☃ 😀",
        }
    ],
}


def envelope():
    return {"signature": "", "header": json.loads(json.dumps(HEADER)), "message": json.loads(json.dumps(MESSAGE))}


@pytest.fixture
def signer():
    return dci.Signer(dci.SigningKey.from_ed25519_seed(SEED), SENDER, "key1")


def test_signer_kid(signer):
    assert signer.kid == f"{SENDER}|key1|ed25519"
    assert signer.profile == "spdci"


def test_dci_signs_reference_verifies(signer):
    env = signer.sign(envelope(), now=NOW)
    ref_pub = ed25519.Ed25519PrivateKey.from_private_bytes(SEED).public_key()
    params = spdci_ref.verify(ref_pub, env, now=NOW + 10)
    assert params["kidId"] == signer.kid
    assert params["created"] == str(NOW) and params["expires"] == str(NOW + 300)
    # Ed25519 is deterministic: the reference implementation produces the same value.
    ref_priv = ed25519.Ed25519PrivateKey.from_private_bytes(SEED)
    assert env["signature"] == spdci_ref.sign(ref_priv, signer.kid, HEADER, MESSAGE, NOW)


def test_sign_from_dicts_matches_the_reference_on_awkward_values(signer):
    # Written straight from the Python objects: integers beyond 64 bits, floats Python spells
    # with an exponent, non-ASCII keys (sorted by code point), tuples, nested empties.
    message = dict(MESSAGE)
    message["extra"] = {
        "big": 2**80, "neg": -(2**65), "tiny": 1e-07, "huge": 1e21, "half": 0.5, "zero": -0.0,
        "é": "accent key", "z": (1, [], {}), "a\u2603": None, "t": True,
    }
    env = signer.sign({"signature": "", "header": HEADER, "message": message}, now=NOW)
    ref_priv = ed25519.Ed25519PrivateKey.from_private_bytes(SEED)
    assert env["signature"] == spdci_ref.sign(ref_priv, signer.kid, HEADER, message, NOW)
    # The same bytes as received verify, big integers included.
    assert dci.verify(json.dumps(env).encode(), signer.verifying_key(), now=NOW)["kid"] == signer.kid


def test_sign_names_the_path_of_what_is_not_json(signer):
    bad = {"signature": "", "header": HEADER, "message": {"transaction_id": "t", "items": [1, {"x": {1, 2}}]}}
    with pytest.raises(TypeError, match=r"^message\.items\[1\]\.x: set is not JSON"):
        signer.sign(bad, now=NOW)


def test_reference_signs_dci_verifies(signer):
    ref_priv = ed25519.Ed25519PrivateKey.from_private_bytes(SEED)
    env = envelope()
    env["signature"] = spdci_ref.sign(ref_priv, signer.kid, HEADER, MESSAGE, NOW)
    text = json.dumps(env, indent=1, ensure_ascii=False)
    got = dci.verify(text.encode(), signer.verifying_key(), now=NOW + 5)
    assert got == {"profile": "spdci", "algorithm": "ed25519", "kid": signer.kid, "created": NOW, "expires": NOW + 300}
    # The dict form verifies too.
    assert dci.verify(env, signer.verifying_key(), now=NOW + 5)["kid"] == signer.kid


def test_rsa_both_ways():
    key = dci.SigningKey.generate("rsa-sha256")
    s = dci.Signer(key, SENDER, "rsa1")
    ref_priv = serialization.load_pem_private_key(key.to_pem().encode(), password=None)
    env = s.sign(envelope(), now=NOW)
    spdci_ref.verify(ref_priv.public_key(), env, now=NOW)
    env2 = envelope()
    env2["signature"] = spdci_ref.sign(ref_priv, s.kid, HEADER, MESSAGE, NOW)
    assert dci.verify(json.dumps(env2), key.verifying_key(), now=NOW)["algorithm"] == "rsa-sha256"


def test_tampering_expiry_and_clock(signer):
    env = signer.sign(envelope(), now=NOW)
    vk = signer.verifying_key()
    tampered = json.loads(json.dumps(env))
    tampered["message"]["search_request"][0]["reference_id"] = "ref-002"
    with pytest.raises(dci.SignatureError) as e:
        dci.verify(tampered, vk, now=NOW)
    assert e.value.kind == "signature_invalid" and e.value.code == "err.signature.invalid"
    with pytest.raises(dci.SignatureError) as e:
        dci.verify(env, vk, now=NOW + 301)
    assert e.value.kind == "signature_expired"
    with pytest.raises(dci.SignatureError) as e:
        dci.verify(env, vk, now=NOW - 61)
    assert e.value.kind == "signature_not_yet_valid"
    assert dci.verify(env, vk, now=NOW - 61, clock_skew=120)["created"] == NOW


def test_missing_signature(signer):
    env = envelope()
    with pytest.raises(dci.SignatureError) as e:
        dci.verify(env, signer.verifying_key(), now=NOW)
    assert e.value.kind == "signature_missing" and e.value.code == "err.signature.missing"
    assert dci.is_missing_signature(None)
    assert dci.is_missing_signature("")
    assert dci.is_missing_signature("unsigned-stub")
    assert not dci.is_missing_signature(signer.sign(envelope(), now=NOW)["signature"])


@pytest.mark.parametrize("profile", ["jws-detached", "jws-compact"])
def test_jws_profiles_round_trip(profile):
    s = dci.Signer(dci.SigningKey.from_ed25519_seed(SEED), SENDER, "key1", profile=profile)
    env = s.sign(envelope(), now=NOW)
    assert env["signature"].startswith("eyJ")
    got = dci.verify(env, s.verifying_key())
    assert got["profile"] == profile and got["kid"] == s.kid
    assert dci.verify(env, s.verifying_key(), profile=profile)["profile"] == profile


def test_verify_with_jwks_by_kid(signer):
    other = dci.SigningKey.generate().verifying_key()
    jwks = dci.Jwks([(signer.kid, signer.verifying_key()), ("other", other)])
    env = signer.sign(envelope(), now=NOW)
    assert dci.verify(env, jwks, now=NOW)["kid"] == signer.kid
    assert dci.verify(env, jwks.to_dict(), now=NOW)["kid"] == signer.kid
    assert dci.verify(env, signer.verifying_key().to_jwk(), now=NOW)["kid"] == signer.kid
    assert dci.verify(env, signer.verifying_key().to_pem(), now=NOW)["kid"] == signer.kid
    with pytest.raises(dci.SignatureError) as e:
        dci.verify(env, dci.Jwks([("other", other)]), now=NOW)
    assert e.value.kind == "key"


def test_signature_for_and_sign_bytes(signer):
    sig = signer.signature_for(HEADER, MESSAGE, now=NOW)
    assert sig == signer.sign(envelope(), now=NOW)["signature"]
    raw = b'{"signature": "", "header": %s, "message": {"n": 123456789012345678901234567890}}' % json.dumps(HEADER).encode()
    signed = signer.sign_bytes(raw, now=NOW)
    assert b"123456789012345678901234567890" in signed
    assert dci.verify(signed, signer.verifying_key(), now=NOW)["created"] == NOW


def test_signer_options():
    key = dci.SigningKey.from_ed25519_seed(SEED)
    s = dci.Signer(key, SENDER, "k", digest="blake512", validity_secs=60)
    env = s.sign(envelope(), now=NOW)
    assert 'expires="%d"' % (NOW + 60) in env["signature"]
    assert dci.verify(env, key.verifying_key(), now=NOW)["expires"] == NOW + 60
    with pytest.raises(dci.ValidationError) as e:
        dci.Signer(key, SENDER, "k", digest="md5")
    assert e.value.field == "digest"
    with pytest.raises(dci.DCIError):
        dci.Signer(key, SENDER, "k", profile="nope")


def test_sign_requires_header_and_message(signer):
    with pytest.raises(dci.ValidationError) as e:
        signer.sign({"message": {}})
    assert e.value.field == "header"


# The shared vectors (tests/vectors/dci-signature-libdci.json): the same cases the Rust, C and
# Go tests check, here through the Python binding.
KIND = {
    "Json": "json",
    "SignatureMissing": "signature_missing",
    "SignatureMalformed": "signature_malformed",
    "SignatureInvalid": "signature_invalid",
    "SignatureExpired": "signature_expired",
    "SignatureNotYetValid": "signature_not_yet_valid",
    "Key": "key",
    "UnsupportedAlgorithm": "unsupported_algorithm",
}


def vector_cases():
    if not VECTORS.exists():
        return []
    return json.loads(VECTORS.read_text())["cases"]


def vector_keys():
    v = json.loads(VECTORS.read_text())
    k = v["keys"]
    ed = dci.SigningKey.from_ed25519_seed(bytes.fromhex(k["ed25519"]["seed_hex"])).verifying_key()
    other = dci.SigningKey.from_ed25519_seed(bytes.fromhex(k["ed25519_other"]["seed_hex"])).verifying_key()
    rsa_key = dci.SigningKey.from_pem(k["rsa"]["private_pem"]).verifying_key()
    return {
        "jwks": dci.Jwks([(f"{SENDER}|key1|ed25519", ed), (f"{SENDER}|key1|rsa-sha256", rsa_key)]),
        "jwks-other": dci.Jwks([(f"{SENDER}|key1|ed25519", other)]),
        "pubkey-other": other,
        "jwks-empty": dci.Jwks([]),
    }


@pytest.mark.parametrize("case", vector_cases(), ids=lambda c: c["name"])
def test_shared_vectors(case):
    keys = vector_keys()[case["verify_with"]]
    if case["expect"] == "valid":
        got = dci.verify(case["envelope"].encode(), keys, now=case["now"])
        assert got["profile"] == case["profile"]
    else:
        with pytest.raises(dci.DCIError) as e:
            dci.verify(case["envelope"].encode(), keys, now=case["now"])
        assert e.value.kind == KIND[case["expect"]]
    if "canonical" in case and case.get("profile") == "spdci" and case["expect"] == "valid":
        env = json.loads(case["envelope"])
        pair = json.dumps({"header": env["header"], "message": env["message"]})
        assert dci.canonicalize_json(pair) == case["canonical"].encode()
