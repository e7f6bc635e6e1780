"""Writes tests/vectors/dci-signature-peers.json: envelopes signed by the peer emulators of
test_peers.py (OpenSPP 2, OpenG2P, opencrvs), plus libdci-made jws-detached envelopes that the
OpenG2P emulation verifies. tests/peer_vectors.rs checks every case from Rust; test_peers.py
checks the libdci-made ones with the peers' verifiers.

Run from the repository root after scripts/test-peers has installed the tools:
    .venv-peers/bin/python python_tests/peer_vectors_gen.py
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

sys.path.insert(0, str(Path(__file__).resolve().parent))
import test_peers as tp  # noqa: E402

OUT = tp.ROOT / "tests" / "vectors" / "dci-signature-peers.json"
ED_SEED = bytes(range(32, 64))


def rsa_key():
    # A fixed RSA key keeps the file stable when regenerated (PKCS#1 v1.5 is deterministic).
    if OUT.exists():
        pem = json.loads(OUT.read_text())["keys"]["rsa"]["private_pem"].encode()
        return serialization.load_pem_private_key(pem, None)
    from cryptography.hazmat.primitives.asymmetric import rsa
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem_pair(key):
    priv = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()
    pub = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return priv, pub


def main():
    ed = ed25519.Ed25519PrivateKey.from_private_bytes(ED_SEED)
    rs = rsa_key()
    keys = {"ed25519": ed, "rsa-sha256": rs}
    tmp = Path(tempfile.mkdtemp())
    files = {}
    for alg, key in keys.items():
        priv, pub = pem_pair(key)
        (tmp / f"{alg}.pem").write_text(priv)
        (tmp / f"{alg}.pub.pem").write_text(pub)
        files[alg] = (priv, pub)
    g2p_kid = "Zm9vYmFyLWNlcnQtdGh1bWJwcmludA"  # OpenG2P: its certificate's SHA-256 thumbprint
    jwks = {"keys": [
        tp.jwk_of(ed.public_key(), g2p_kid + "-ed"),
        tp.jwk_of(rs.public_key(), g2p_kid + "-rsa"),
        tp.jwk_of(rs.public_key(), tp.thumbprint(rs.public_key())),
        tp.jwk_of(ed.public_key(), tp.thumbprint(ed.public_key())),
        tp.jwk_of(ed.public_key(), f"{tp.SENDER}|k1|ed25519"),
        tp.jwk_of(rs.public_key(), f"{tp.SENDER}|k1|rsa-sha256"),
    ]}
    h = tp.header()
    M = tp.MESSAGES
    cases = []

    def add(name, peer, profile, alg, envelope_bytes, expect="valid", kid=None):
        cases.append({"name": name, "peer": peer, "profile": profile, "alg": alg, "kid": kid,
                      "expect": expect, "envelope": envelope_bytes.decode("utf-8")})

    # OpenSPP 2 (Ed25519 only: its signer calls key.sign(data), which RSA keys refuse).
    for name, m, style in (("unicode", M["unicode"], "json-default"),
                           ("floats", M["floats"], "json-compact-utf8"),
                           ("bigint", tp.BIG_INTS, "json-default")):
        env = {"signature": tp.spp_sign(ed, tp.SENDER, "k1", h, m, tp.NOW), "header": h, "message": m}
        add(f"openspp2-ed25519-{name}", "openspp2", "spdci", "ed25519", tp.wire(env, style),
            kid=f"{tp.SENDER}|k1|ed25519")
    tampered = {"signature": tp.spp_sign(ed, tp.SENDER, "k1", h, M["floats"], tp.NOW), "header": h,
                "message": dict(M["floats"], transaction_id="txn-changed")}
    add("openspp2-ed25519-tampered", "openspp2", "spdci", "ed25519", tp.wire(tampered, "json-default"),
        expect="SignatureInvalid", kid=f"{tp.SENDER}|k1|ed25519")

    # OpenG2P: signed over orjson bytes, sent as Python's json writes them.
    for alg, jws_alg, suffix in (("ed25519", "EdDSA", "-ed"), ("rsa-sha256", "RS256", "-rsa")):
        for name, style in (("floats", "json-compact-utf8"), ("unicode", "orjson"), ("nested", "json-default")):
            m = M[name]
            env = {"signature": tp.g2p_sign(keys[alg], g2p_kid + suffix, jws_alg, h, m), "header": h, "message": m}
            add(f"openg2p-{jws_alg.lower()}-{name}-{style}", "openg2p", "jws-detached", alg,
                tp.wire(env, style), kid=g2p_kid + suffix)
    m = M["floats"]
    env = {"signature": tp.g2p_sign(ed, g2p_kid + "-ed", "EdDSA", h, m), "header": h,
           "message": {**m, "data": {**m["data"], "tiny": 2e-07}}}
    add("openg2p-eddsa-floats-tampered", "openg2p", "jws-detached", "ed25519",
        tp.wire(env, "json-default"), expect="SignatureInvalid", kid=g2p_kid + "-ed")

    # opencrvs: jose CompactSign of JSON.stringify({header, message}).
    for alg, jws_alg in (("rsa-sha256", "RS256"), ("ed25519", "EdDSA")):
        for name, kid_mode in (("floats", "kid"), ("unicode", "kid"), ("nested", "nokid")):
            if alg == "ed25519" and kid_mode == "nokid":
                continue  # two Ed25519 keys share one JWKS here; without a kid that is ambiguous
            src = tmp / "env.json"
            src.write_text(json.dumps({"header": h, "message": M[name]}, ensure_ascii=False))
            r = tp.run_node("sign", src, tmp / f"{alg}.pem", jws_alg, kid_mode)
            assert r.returncode == 0, r.stderr
            kid = tp.thumbprint(keys[alg].public_key()) if kid_mode == "kid" else None
            add(f"opencrvs-{jws_alg.lower()}-{name}-{kid_mode}", "opencrvs", "jws-compact", alg,
                r.stdout, kid=kid)
    src = tmp / "env.json"
    src.write_text(json.dumps({"header": h, "message": M["floats"]}))
    doc = json.loads(tp.run_node("sign", src, tmp / "rsa-sha256.pem", "RS256").stdout)
    doc["message"]["data"]["score"] = 0.25
    add("opencrvs-rs256-floats-tampered", "opencrvs", "jws-compact", "rsa-sha256",
        json.dumps(doc).encode(), expect="SignatureInvalid", kid=tp.thumbprint(rs.public_key()))

    # libdci-made jws-detached with floats: must be what OpenG2P recomputes (orjson spelling).
    for alg in ("ed25519", "rsa-sha256"):
        env = {"header": h, "message": M["floats"]}
        r = subprocess.run([tp.dci_bin(), "sign", "--key", tmp / f"{alg}.pem", "--profile", "jws-detached",
                            "--sender-id", tp.SENDER, "--key-id", "k1", "--now", str(tp.NOW)],
                           input=json.dumps(env).encode(), capture_output=True)
        assert r.returncode == 0, r.stderr
        got = json.loads(r.stdout)
        assert tp.g2p_verify(got["signature"], got["header"], got["message"], keys[alg].public_key())
        add(f"libdci-jws-detached-{alg}-floats", "libdci", "jws-detached", alg, r.stdout,
            kid=f"{tp.SENDER}|k1|{alg}")
        cases[-1]["unsigned"] = json.dumps(env)

    doc = {
        "_note": "Envelopes signed by emulations of the deployed DCI peers (python_tests/test_peers.py; "
                 "made by python_tests/peer_vectors_gen.py) and libdci-made jws-detached envelopes those "
                 "peers verify. Keys are test keys. Checked from Rust by tests/peer_vectors.rs.",
        "now": tp.NOW,
        "keys": {"ed25519": {"seed_hex": ED_SEED.hex(), "public_pem": files["ed25519"][1]},
                 "rsa": {"private_pem": files["rsa-sha256"][0], "public_pem": files["rsa-sha256"][1]}},
        "jwks": jwks,
        "cases": cases,
    }
    OUT.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
