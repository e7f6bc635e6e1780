"""Keys: generate, PEM load/save, JWK and JWKS, raw sign/verify; interop with `cryptography`."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

import dci

SEED = bytes(range(32))


def test_ed25519_seed_matches_cryptography():
    key = dci.SigningKey.from_ed25519_seed(SEED)
    ref = ed25519.Ed25519PrivateKey.from_private_bytes(SEED)
    assert key.algorithm == "ed25519"
    # Ed25519 is deterministic: the same seed signs the same bytes identically.
    assert key.sign(b"hello") == ref.sign(b"hello")
    ref_pub_pem = ref.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    assert key.verifying_key().to_pem().strip() == ref_pub_pem.strip()


def test_pem_round_trip_and_cryptography_reads_it(tmp_path):
    for alg in ("ed25519", "rsa-sha256"):
        key = dci.SigningKey.generate(alg)
        path = tmp_path / f"{alg}.pem"
        key.save(str(path))
        assert (path.stat().st_mode & 0o777) == 0o600
        again = dci.SigningKey.load(str(path))
        assert again.verifying_key() == key.verifying_key()
        # cryptography loads our PKCS#8 and signs; we verify.
        priv = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if alg == "ed25519":
            sig = priv.sign(b"data")
        else:
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding

            sig = priv.sign(b"data", padding.PKCS1v15(), hashes.SHA256())
        key.verifying_key().verify(b"data", sig)
        pub = tmp_path / f"{alg}.pub.pem"
        key.verifying_key().save(str(pub))
        assert dci.VerifyingKey.load(str(pub)) == key.verifying_key()


def test_generate_accepts_jws_names():
    assert dci.SigningKey.generate("EdDSA").algorithm == "ed25519"
    with pytest.raises(dci.SignatureError) as e:
        dci.SigningKey.generate("HS256")
    assert e.value.kind == "unsupported_algorithm"


def test_jwk_and_thumbprint():
    key = dci.SigningKey.from_ed25519_seed(SEED).verifying_key()
    jwk = key.to_jwk()
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519"
    assert jwk["kid"] == key.thumbprint
    assert jwk["use"] == "sig" and jwk["alg"] == "EdDSA"
    assert dci.VerifyingKey.from_jwk(jwk) == key
    assert key.to_jwk("k1")["kid"] == "k1"
    rsa_key = dci.SigningKey.generate("rsa-sha256").verifying_key()
    rjwk = rsa_key.to_jwk("r1")
    assert rjwk["kty"] == "RSA" and rjwk["alg"] == "RS256"
    assert dci.VerifyingKey.from_jwk(rjwk) == rsa_key


def test_jwks():
    a = dci.SigningKey.generate().verifying_key()
    b = dci.SigningKey.generate().verifying_key()
    jwks = dci.Jwks([("a", a), b])
    assert len(jwks) == 2
    assert jwks.kids() == ["a", b.thumbprint]
    assert jwks.find("a") == a
    assert jwks.find("nope") is None
    d = jwks.to_dict()
    assert [k["kid"] for k in d["keys"]] == ["a", b.thumbprint]
    again = dci.Jwks.from_dict(d)
    assert again.find(b.thumbprint) == b
    import json

    assert len(dci.Jwks.from_json(json.dumps(d))) == 2


def test_raw_verify_failure_is_a_signature_error():
    key = dci.SigningKey.generate()
    sig = key.sign(b"data")
    with pytest.raises(dci.SignatureError) as e:
        key.verifying_key().verify(b"other", sig)
    assert e.value.kind == "signature_invalid"
    assert e.value.code == "err.signature.invalid"


def test_bad_inputs():
    with pytest.raises(dci.SignatureError) as e:
        dci.SigningKey.from_pem("not a pem")
    assert e.value.kind == "key"
    with pytest.raises(dci.SignatureError):
        dci.SigningKey.from_ed25519_seed(b"short")
    with pytest.raises(dci.DCIError) as e:
        dci.SigningKey.load("/nonexistent/key.pem")
    assert e.value.kind == "io"


def test_repr_shows_no_key_material():
    key = dci.SigningKey.from_ed25519_seed(SEED)
    r = repr(key)
    assert "ed25519" in r and "thumbprint" in r
    assert "PRIVATE" not in r and SEED.hex() not in r
