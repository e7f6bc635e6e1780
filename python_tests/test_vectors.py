"""Independent check of libdci's signature vectors, in plain Python.

Uses only json, hashlib, base64 and the `cryptography` package (never libdci itself), so a bug
in the Rust canonical form or signature code cannot hide behind the same bug here:

* every case in tests/vectors/dci-signature-libdci.json is verified here with the outcome the
  vector records (valid, or the dci::ErrorKind name of the failure);
* tests/vectors/dci-signature-python-made.json holds signatures made here; the Rust test
  tests/signature_vectors.rs verifies them. Regenerate it with
  `python3 python_tests/test_vectors.py --generate` (Ed25519 and RSA PKCS#1 v1.5 are
  deterministic, so the file only changes when this code does).

Run: `python3 -m pytest python_tests/test_vectors.py`.
"""

import base64
import hashlib
import json
import pathlib
import re
import sys

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

VECTORS = pathlib.Path(__file__).resolve().parent.parent / "tests" / "vectors"
OWN = VECTORS / "dci-signature-libdci.json"
PY_MADE = VECTORS / "dci-signature-python-made.json"
SHARED = VECTORS / "dci-signature-ed25519-openspp2-style.json"
SENDER = "registry.example.org"


class Failure(Exception):
    """A verification failure, named by its dci::ErrorKind."""

    def __init__(self, kind, why=""):
        super().__init__(f"{kind}: {why}")
        self.kind = kind


# ------------------------------------------------------------------ canonical forms and keys


def canonical(header, message, ensure_ascii):
    doc = {"header": header, "message": message}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=ensure_ascii).encode("utf-8")


def b64u(data):
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64u_decode(text):
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        raise Failure("SignatureMalformed", "not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def kid(alg):
    return f"{SENDER}|key1|{alg}"


def load_keys(vectors):
    k = vectors["keys"]
    ed = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(k["ed25519"]["seed_hex"]))
    other = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(k["ed25519_other"]["seed_hex"]))
    rsa_key = serialization.load_pem_private_key(k["rsa"]["private_pem"].encode(), password=None)
    assert isinstance(rsa_key, rsa.RSAPrivateKey) and rsa_key.key_size >= 2048
    return {"ed25519": ed, "ed25519_other": other, "rsa-sha256": rsa_key}


def public_pem(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def resolver(keys, name):
    """kid -> public key, or a single key for any kid (the verifiers the vectors name)."""
    pub = {a: k.public_key() for a, k in keys.items()}
    if name == "jwks":
        return {kid("ed25519"): pub["ed25519"], kid("rsa-sha256"): pub["rsa-sha256"]}
    if name == "jwks-other":
        return {kid("ed25519"): pub["ed25519_other"]}
    if name == "jwks-empty":
        return {}
    if name == "pubkey-other":
        return pub["ed25519_other"]
    raise AssertionError(name)


def resolve(res, key_id, alg):
    if isinstance(res, dict):
        if key_id is not None:
            if key_id not in res:
                raise Failure("Key", f"unknown kid {key_id}")
            key = res[key_id]
        else:
            fitting = [k for k in res.values() if key_alg(k) == alg]
            if len(fitting) != 1:
                raise Failure("Key", "no unambiguous key")
            key = fitting[0]
    else:
        key = res
    if key_alg(key) != alg:
        raise Failure("Key", "key does not fit the algorithm")
    return key


def key_alg(public_key):
    return "ed25519" if isinstance(public_key, ed25519.Ed25519PublicKey) else "rsa-sha256"


def raw_sign(private_key, data):
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(data)
    return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def raw_verify(public_key, data, signature):
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            if len(signature) != 64:
                raise Failure("SignatureMalformed", "Ed25519 signature length")
            public_key.verify(signature, data)
        else:
            if len(signature) != public_key.key_size // 8:
                raise Failure("SignatureMalformed", "RSA signature length")
            public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise Failure("SignatureInvalid", "does not verify") from None


# ------------------------------------------------------------------ the spdci profile

PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"([^"]*)"|([^\s,"]*))\s*(?:,|$)')
HEADERS = "(created) (expires) digest"


def parse_spdci(value):
    s = value.strip()
    if s[:10].lower() == "signature:":
        s = s[10:]
    params, pos = {}, 0
    s = s.strip()
    while pos < len(s):
        m = PARAM.match(s, pos)
        if not m or m.end() == pos:
            raise Failure("SignatureMalformed", f"cannot parse at {pos}")
        name = m.group(1).lower()
        name = "kidid" if name == "keyid" else name
        if name in params:
            raise Failure("SignatureMalformed", f"duplicate {name}")
        params[name] = m.group(2) if m.group(2) is not None else m.group(3)
        pos = m.end()
    for required in ("algorithm", "created", "expires", "signature"):
        if required not in params:
            raise Failure("SignatureMalformed", f"missing {required}")
    alg = params["algorithm"].lower()
    if alg in ("eddsa",):
        alg = "ed25519"
    if alg in ("rs256",):
        alg = "rsa-sha256"
    if alg not in ("ed25519", "rsa-sha256"):
        raise Failure("UnsupportedAlgorithm", alg)
    try:
        created, expires = int(params["created"]), int(params["expires"])
    except ValueError:
        raise Failure("SignatureMalformed", "created/expires not integers") from None
    try:
        signature = base64.b64decode(params["signature"], validate=True)
    except ValueError:
        raise Failure("SignatureMalformed", "signature not base64") from None
    if "headers" in params and " ".join(params["headers"].split()).lower() != HEADERS:
        raise Failure("SignatureMalformed", "headers")
    return alg, params.get("kidid"), created, expires, signature


def signing_string(created, expires, digest):
    return f"(created): {created}\n(expires): {expires}\ndigest: {digest}".encode()


def verify_spdci(value, header, message, res, now):
    alg, key_id, created, expires, signature = parse_spdci(value)
    if expires < created:
        raise Failure("SignatureMalformed", "expires before created")
    if now > expires:
        raise Failure("SignatureExpired")
    if created > now + 60:
        raise Failure("SignatureNotYetValid")
    key = resolve(res, key_id, alg)
    data = canonical(header, message, ensure_ascii=True)
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    try:
        raw_verify(key, signing_string(created, expires, sha), signature)
    except Failure as e:
        if e.kind != "SignatureInvalid":
            raise
        blake = "BLAKE-512=" + base64.b64encode(hashlib.blake2b(data, digest_size=64).digest()).decode()
        raw_verify(key, signing_string(created, expires, blake), signature)
    return alg


def sign_spdci(private_key, alg, header, message, created, expires=None):
    expires = created + 300 if expires is None else expires
    data = canonical(header, message, ensure_ascii=True)
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    sig = base64.b64encode(raw_sign(private_key, signing_string(created, expires, digest))).decode()
    return (
        f'namespace="dci", kidId="{kid(alg)}", algorithm="{alg}", created="{created}", '
        f'expires="{expires}", headers="{HEADERS}", signature="{sig}"'
    )


# ------------------------------------------------------------------ the JWS profiles


def jws_header(header_b64):
    try:
        hdr = json.loads(b64u_decode(header_b64))
    except ValueError:
        raise Failure("SignatureMalformed", "header not JSON") from None
    if not isinstance(hdr, dict) or "alg" not in hdr:
        raise Failure("SignatureMalformed", "no alg")
    alg = {"EdDSA": "ed25519", "RS256": "rsa-sha256"}.get(hdr["alg"])
    if alg is None:
        raise Failure("UnsupportedAlgorithm", str(hdr["alg"]))
    if "crit" in hdr or hdr.get("b64") is False:
        raise Failure("SignatureMalformed", "crit/b64")
    return alg, hdr.get("kid")


def split_jws(value):
    parts = value.strip().split(".")
    if len(parts) != 3 or not parts[0] or not parts[2]:
        raise Failure("SignatureMalformed", "not three segments")
    return parts


def verify_jws(value, header, message, res, compact):
    h, p, s = split_jws(value)
    if compact != bool(p):
        raise Failure("SignatureMalformed", "payload segment")
    alg, key_id = jws_header(h)
    key = resolve(res, key_id, alg)
    signature = b64u_decode(s)
    if compact:
        raw_verify(key, f"{h}.{p}".encode(), signature)
        signed = json.loads(b64u_decode(p))
        if set(signed) - {"header", "message"}:
            raise Failure("SignatureInvalid", "extra members")
        for name, got in (("header", header), ("message", message)):
            if name not in signed or canonical(signed[name], None, False) != canonical(got, None, False):
                raise Failure("SignatureInvalid", f"{name} differs")
    else:
        payload = canonical(header, message, ensure_ascii=False)
        raw_verify(key, f"{h}.{b64u(payload)}".encode(), signature)
    return alg


def sign_jws(private_key, alg, header, message, compact):
    hdr = {"alg": {"ed25519": "EdDSA", "rsa-sha256": "RS256"}[alg], "kid": kid(alg)}
    if not compact:
        hdr["typ"] = "JWT"
    h = b64u(json.dumps(hdr, sort_keys=True, separators=(",", ":")).encode())
    p = b64u(canonical(header, message, ensure_ascii=False))
    s = b64u(raw_sign(private_key, f"{h}.{p}".encode()))
    return f"{h}.{p}.{s}" if compact else f"{h}..{s}"


# ------------------------------------------------------------------ envelopes


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Failure("Json", "duplicate key")
    return dict(pairs)


PLACEHOLDERS = {"unsigned", "unsigned-stub", "todo", "null", "none", "placeholder", "n/a", "-"}


def is_placeholder(sig):
    s = sig.strip()
    if s.startswith("Signature:"):
        s = s[len("Signature:"):].strip()
    return not s or s.lower() in PLACEHOLDERS


def detect(sig):
    s = sig.strip()
    if s.startswith("eyJ") and "." in s and re.fullmatch(r"[A-Za-z0-9_.=-]+", s):
        return "jws-detached" if s.split(".")[1] == "" else "jws-compact"
    return "spdci"


def verify_envelope(text, res, now):
    """Returns (profile, alg) or raises Failure."""
    try:
        env = json.loads(text, object_pairs_hook=no_duplicates)
    except ValueError:
        raise Failure("Json", "not JSON") from None
    sig = env.get("signature")
    if sig is None:
        raise Failure("SignatureMissing")
    if not isinstance(sig, str):
        raise Failure("SignatureMalformed", "not a string")
    if is_placeholder(sig):
        raise Failure("SignatureMissing")
    if "header" not in env or "message" not in env:
        raise Failure("Json", "no header/message")
    profile = detect(sig)
    header, message = env["header"], env["message"]
    if profile == "spdci":
        return profile, verify_spdci(sig, header, message, res, now)
    return profile, verify_jws(sig, header, message, res, profile == "jws-compact")


def outcome(case, keys):
    try:
        profile, alg = verify_envelope(case["envelope"], resolver(keys, case["verify_with"]), case["now"])
    except Failure as e:
        return e.kind, None
    return "valid", (profile, alg)


# ------------------------------------------------------------------ tests


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def own():
    return load(OWN)


@pytest.fixture(scope="module")
def keys(own):
    return load_keys(own)


def test_key_block_is_consistent(own, keys):
    k = own["keys"]
    assert public_pem(keys["ed25519"]) == k["ed25519"]["public_pem"]
    assert public_pem(keys["rsa-sha256"]) == k["rsa"]["public_pem"]
    assert public_pem(keys["ed25519_other"]) == k["ed25519_other"]["public_pem"]
    raw = keys["ed25519"].public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert k["ed25519"]["jwk"]["x"] == b64u(raw)
    nums = keys["rsa-sha256"].public_key().public_numbers()
    assert k["rsa"]["jwk"]["n"] == b64u(nums.n.to_bytes((nums.n.bit_length() + 7) // 8, "big"))
    assert k["rsa"]["jwk"]["e"] == "AQAB"


def test_shared_vector():
    v = load(SHARED)
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["key"]["private_seed_hex"]))
    env = v["envelope"]
    data = canonical(env["header"], env["message"], ensure_ascii=True)
    assert data.decode() == v["canonical_json"]
    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert digest == v["digest_sha256_b64"]
    sig = base64.b64encode(key.sign(signing_string(v["created"], v["expires"], digest))).decode()
    assert sig == v["signature_b64"]


def case_ids(path):
    return [c["name"] for c in load(path)["cases"]] if path.exists() else []


@pytest.mark.parametrize("name", case_ids(OWN))
def test_own_vector_case(own, keys, name):
    case = next(c for c in own["cases"] if c["name"] == name)
    got, found = outcome(case, keys)
    assert got == case["expect"], name
    if got == "valid":
        assert found == (case["profile"], case["alg"])
    if "canonical" in case:
        env = json.loads(case["envelope"])
        ensure_ascii = case["profile"] == "spdci"
        assert canonical(env["header"], env["message"], ensure_ascii).decode() == case["canonical"]


def test_own_vectors_cover_the_matrix(own):
    valid = {(c["profile"], c["alg"]) for c in own["cases"] if c["expect"] == "valid"}
    assert valid == {(p, a) for p in ("spdci", "jws-detached", "jws-compact") for a in ("ed25519", "rsa-sha256")}
    kinds = {c["expect"] for c in own["cases"]}
    assert {"SignatureInvalid", "SignatureExpired", "SignatureMalformed", "SignatureMissing", "Key"} <= kinds


def build_python_made(own, keys):
    """Envelopes from the own vectors' valid payloads, signed here, plus negative cases."""
    created = own["created"]
    cases = []
    sources = [c for c in own["cases"] if c["expect"] == "valid" and c["name"].startswith("spdci-ed25519-")
               and c["name"].split("-")[-1] in ("basic", "unicode", "numbers", "nested")]
    for profile in ("spdci", "jws-detached", "jws-compact"):
        for alg in ("ed25519", "rsa-sha256"):
            for src in sources:
                env = json.loads(src["envelope"])
                header, message = env["header"], env["message"]
                if profile == "spdci":
                    sig = sign_spdci(keys[alg], alg, header, message, created)
                else:
                    sig = sign_jws(keys[alg], alg, header, message, profile == "jws-compact")
                text = json.dumps({"signature": sig, "header": header, "message": message},
                                  ensure_ascii=False, separators=(",", ":"))
                pname = src["name"].split("-")[-1]
                base = {"profile": profile, "alg": alg, "created": created, "verify_with": "jwks",
                        "now": created + 100}
                cases.append({"name": f"py-{profile}-{alg}-{pname}", "envelope": text, "expect": "valid", **base})
                if pname == "basic":
                    cases.append({"name": f"py-{profile}-{alg}-tampered",
                                  "envelope": text.replace("847951632", "847951634"),
                                  "expect": "SignatureInvalid", **base})
    env = json.loads(sources[0]["envelope"])
    sig = sign_spdci(keys["ed25519"], "ed25519", env["header"], env["message"], created)
    text = json.dumps({"signature": sig, "header": env["header"], "message": env["message"]}, separators=(",", ":"))
    cases.append({"name": "py-spdci-ed25519-expired", "profile": "spdci", "alg": "ed25519", "created": created,
                  "verify_with": "jwks", "now": created + 301, "envelope": text, "expect": "SignatureExpired"})
    return {
        "_note": "Signatures made by python_tests/test_vectors.py with Python's json, hashlib, base64 and the "
                 "cryptography package, over the keys of dci-signature-libdci.json; verified in Rust by "
                 "tests/signature_vectors.rs. Regenerate: python3 python_tests/test_vectors.py --generate",
        "created": created,
        "cases": cases,
    }


def test_python_made_vectors_are_current(own, keys):
    assert load(PY_MADE) == build_python_made(own, keys)


def test_python_made_vectors_verify_here(keys):
    for case in load(PY_MADE)["cases"]:
        assert outcome(case, keys)[0] == case["expect"], case["name"]


if __name__ == "__main__":
    if sys.argv[1:] == ["--generate"]:
        vectors = load(OWN)
        made = build_python_made(vectors, load_keys(vectors))
        PY_MADE.write_text(json.dumps(made, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {PY_MADE} ({len(made['cases'])} cases)")
    else:
        sys.exit(pytest.main([__file__, "-q"]))
