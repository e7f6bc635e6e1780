#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/TARGET/ from the test vectors and the spec examples.

Run from anywhere; it replaces the seed files it writes (named seed-NNN) and leaves the rest.
Kept small on purpose (tens of files per target): libFuzzer grows the corpus itself.
"""
import glob
import json
import os
import shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")


def load(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return json.load(f)


def write(target, seeds, limit=40):
    d = os.path.join(OUT, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    seen = set()
    n = 0
    for s in seeds:
        b = s.encode("utf-8") if isinstance(s, str) else s
        if b in seen:
            continue
        seen.add(b)
        with open(os.path.join(d, "seed-%03d" % n), "wb") as f:
            f.write(b)
        n += 1
        if n >= limit:
            break
    print(target, n)


libdci = load("tests/vectors/dci-signature-libdci.json")
peers = load("tests/vectors/dci-signature-peers.json")
python_made = load("tests/vectors/dci-signature-python-made.json")
openspp2 = load("tests/vectors/dci-signature-ed25519-openspp2-style.json")
cases = libdci["cases"] + peers["cases"] + python_made["cases"]
envelopes = [c["envelope"] for c in cases if isinstance(c.get("envelope"), str)]
signatures = []
for e in envelopes:
    try:
        sig = json.loads(e).get("signature")
    except ValueError:
        continue
    if isinstance(sig, str):
        signatures.append(sig)

model = sorted(glob.glob(os.path.join(ROOT, "tests/fixtures/model/*/*.json")))
model += sorted(glob.glob(os.path.join(ROOT, "tests/fixtures/model/examples/*/*.json")))
model_texts = [open(p, encoding="utf-8").read() for p in model]

# envelope: valid fixtures of every kind, spec examples, signed vectors.
write("envelope", model_texts[:25] + envelopes[:15])

# canonical_json: envelopes, canonical forms, and number / escape edge cases.
edge = [
    '{"b":1,"a":[1.0,1e-07,1e21,-0,0.1,123456789012345678901234567890]}',
    '"\\ud83d\\ude00 caf\\u00e9 \\u0000 \\"q\\" \\\\"',
    '{"\\u00e9":1,"e":2,"\\ud800\\udc00":3}',
    '[1E400, -1.5e-300, 5e-324, 1.7976931348623157e308, 0.000001, 100000000000000000000.0]',
    '{"a":{"b":{"c":[[],{},null,true,false,""]}}}',
    "[9007199254740993, -9223372036854775809, 18446744073709551616]",
]
canon = [c.get("canonical") for c in cases if isinstance(c.get("canonical"), str)]
write("canonical_json", edge + [openspp2["canonical_json"]] + canon[:10] + envelopes[:10] + model_texts[:8])

# signature_value: every spdci value of the vectors, and the spec's example form.
spdci = [s for s in signatures if not s.startswith("eyJ")]
spdci += [
    'Signature: namespace="dci", kidId="a|b|ed25519", algorithm="ed25519", created="1", '
    'expires="2", headers="(created) (expires) digest", signature="AAAA"',
    'keyId="k", algorithm=rsa-sha256, created=1735689600, expires=1735689900, signature="YQ=="',
]
write("signature_value", spdci)

# jws: JWS values alone, and a JWS value then a newline then its envelope.
jws_cases = []
for e in envelopes:
    try:
        sig = json.loads(e).get("signature")
    except ValueError:
        continue
    if isinstance(sig, str) and sig.startswith("eyJ"):
        jws_cases.append(sig + "\n" + e)
        jws_cases.append(e)
write("jws", jws_cases)

# keys: PEM and JWK of every vector key, and the JWKS of the peer vectors.
keys = []


def collect(obj):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k.endswith("_pem") and isinstance(v, str):
                keys.append(v)
            elif k in ("jwk",) and isinstance(v, dict):
                keys.append(json.dumps(v))
            else:
                collect(v)
    elif isinstance(obj, list):
        for v in obj:
            collect(v)


collect(libdci["keys"])
collect(peers["keys"])
collect(openspp2.get("key", {}))
if "jwks" in peers:
    keys.append(json.dumps(peers["jwks"]))
write("keys", keys)

# query: the spec's query shapes with a sort, and the idtype / predicate / expression forms.
spec_queries = load("tests/fixtures/query/spec_examples.json")["cases"]
queries = [json.dumps({"query_type": q["query_type"], "query": q["query"]}) for q in spec_queries]
queries.append(json.dumps({"query_type": "expression", "query": {
    "type": "ns:org:QueryType:expression", "value": {"expression": {
        "$and": [{"age": {"$gte": 18}}, {"name.surname": {"$in": ["Smith"]}}]}}},
    "sort": [{"attribute_name": "birth_date", "sort_order": "desc"}]}))
write("query", queries)

# oauth2: token request forms (then an Authorization value) and JWT-shaped tokens.
write("oauth2", [
    "grant_type=client_credentials&client_id=demo-client&client_secret=s3cret&scope=registry.search",
    "grant_type=client_credentials\nBasic ZGVtby1jbGllbnQ6czNjcmV0",
    "grant_type=client_credentials&client_id=a%2Bb&client_secret=x+y%3D%zz%4",
    "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZW1vIiwiZXhwIjo0MTAyNDQ0ODAwfQ.AAAA",
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJkZW1vIiwiZXhwIjo0MTAyNDQ0ODAwfQ.",
    "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
])

# callback_url: the SSRF forms of issue 11 section 1, and URL + registered base pairs.
write("callback_url", [
    "https://sender.example.org/callback/on-search",
    "https://sender.example.org/registry/on-search\nhttps://sender.example.org/registry",
    "https://sender.example.org/registry2\nhttps://sender.example.org/registry/",
    "http://localhost:8080/cb", "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/",
    "http://127.1/", "http://user:secret@example.org/", "http://169.254.169.254/latest/meta-data",
    "http://[::ffff:127.0.0.1]/", "http://[64:ff9b::a00:1]/", "http://[fe80::1%25eth0]/",
    "ftp://example.org/", "http://foo.localhost./x", "https://EXAMPLE.org:443/a/../b",
    "http://100.64.0.1/", "http://[::]/", "http://0/", "https://xn--nxasmq6b.example/",
])
