"""libdci from Python in five minutes: keys, signatures, queries, messages, and a registry.

Run it against the demo registry:

    dci serve --demo --listen 127.0.0.1:8080 --db /tmp/dci-registry.db   # prints client_secret
    DCI_REGISTRY_URL=http://127.0.0.1:8080 DCI_CLIENT_SECRET=... \
    DCI_SENDER_KEY=/tmp/dci-registry.db.demo-sender.pem python quickstart.py

Without DCI_REGISTRY_URL the registry part is skipped.
"""

import os

import dci

# 1. Keys: generate, save as PEM, publish as a JWK Set.
key = dci.SigningKey.generate("ed25519")
jwks = dci.Jwks([("openspp.example.org|key-1|ed25519", key.verifying_key())])
print("our JWKS:", jwks.to_dict()["keys"][0]["kid"])

# 2. Messages: a search request for one identifier, in a signed envelope.
signer = dci.Signer(key, "openspp.example.org", "key-1")
query = dci.Query.idtype_value("UIN", "TEST-001")
message = dci.search_request(query, reg_type="ns:org:RegistryType:Civil", page_size=10)
envelope = dci.envelope("search", message, sender_id="openspp.example.org", signer=signer)
dci.validate(envelope)  # raises dci.ValidationError naming the field if anything is off

# 3. Signatures: verify what we signed (the registry does the same with our JWKS).
verified = dci.verify(envelope, jwks)
print("signature ok:", verified["profile"], verified["kid"])

# 4. Queries: build and evaluate locally.
young_and_poor = dci.Query.predicate([dci.Predicate("age", "lt", 25).and_("poverty_score", "lt", 2.5)])
print("matches:", young_and_poor.matches({"age": 19, "poverty_score": 1.5}))

# 5. A registry: search it through DCIClient and the CRVS service.
url = os.environ.get("DCI_REGISTRY_URL")
if url:
    source = dci.DataSource(
        url,
        "demo-sender",
        code="crvs_main",
        registry_type="crvs",
        auth_type="oauth2",
        oauth2_client_id="demo-client",
        oauth2_client_secret=os.environ["DCI_CLIENT_SECRET"],
        signing_key=dci.SigningKey.load(os.environ["DCI_SENDER_KEY"]),
        signing_key_id="demo-key-1",
        registry_jwks_url=url + "/.well-known/jwks.json",
    )
    client = dci.DCIClient(source)
    response = client.search_by_id(identifier_type="UIN", identifier_value="TEST-001")
    records = response.get("message", {}).get("search_response", [{}])[0].get("data", {}).get("reg_records", [])
    print("records found:", len(records))

    birth = dci.CRVSService(source).verify_birth("UIN", "TEST-001")
    if birth:
        print(f"verified birth: {birth['person_name']} on {birth['birth_date']}")

    try:
        client.search_by_id("UIN", "TEST-001", page_size=0)
    except dci.DCIError as e:
        print(f"refused: {type(e).__name__} ({e.kind})")
else:
    print("DCI_REGISTRY_URL not set: skipping the registry part")
