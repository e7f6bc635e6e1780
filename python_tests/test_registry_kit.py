"""dci.Registry, the registry kit for Python hosts: its refusals (the exact spec bodies and HTTP
statuses), and the example registry (bindings/python/examples/registry_server.py) queried by
dci.DCIClient and by the `dci` command line (sync search, async search with the callback
received, txn status)."""

import http.server
import json
import pathlib
import queue
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

import dci
from conftest import find_dci_binary

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "bindings" / "python" / "examples"
sys.path.insert(0, str(EXAMPLES))

import registry_server  # noqa: E402

SERVER_ID = "registry.example.org"


# ------------------------------------------------------------------ helpers


def sender_dict(sender_id, key, **extra):
    return {"sender_id": sender_id, "jwks": {"keys": [key.verifying_key().to_jwk("k1")]}, **extra}


def search_bytes(signer, uin="UIN-1001", sender_uri=None, message_id=None, tamper=False):
    msg = dci.search_request([dci.Query.idtype_value("UIN", uin)])
    env = dci.envelope("search", msg, sender_id=signer.sender_id, receiver_id=SERVER_ID, sender_uri=sender_uri,
                       message_id=message_id, signer=signer)
    if tamper:
        env["message"]["search_request"][0]["search_criteria"]["query"]["value"] = "UIN-1002"
    return json.dumps(env).encode()


@pytest.fixture
def keys():
    return dci.SigningKey.generate(), dci.SigningKey.generate()


def kit(server_key, sender_key, **kw):
    kw.setdefault("senders", [sender_dict("s1", sender_key)])
    return dci.Registry(key=server_key, server_id=SERVER_ID, key_id="srv", **kw)


def signer_of(sender_key, sender_id="s1"):
    return dci.Signer(sender_key, sender_id, "k1")


def assert_refusal(adm, status, code):
    assert not adm.ok and not adm
    assert adm.status == status, adm.body
    assert adm.code == code
    body = adm.body
    # The Ack with ack_status ERR and the HttpErrorResponse errors[] in one body.
    assert body["message"]["ack_status"] == "ERR"
    assert body["message"]["error"]["code"] == (code if code.startswith("err.") else "err.request.bad")
    assert body["errors"][0]["code"] == code
    return body


# ------------------------------------------------------------------ refusals


def test_admitted_search_exposes_the_message_and_items(keys):
    server_key, sender_key = keys
    reg = kit(server_key, sender_key)
    adm = reg.admit("/registry/sync/search", search_bytes(signer_of(sender_key)), {"Content-Type": "application/json"})
    assert adm.ok and adm.status is None and adm.body is None
    assert (adm.operation, adm.mode, adm.action, adm.registry) == ("sync/search", "sync", "search", "crvs")
    assert adm.sender_id == "s1" and adm.signed is True
    assert adm.transaction_id == adm.message["transaction_id"]
    [item] = adm.search_items
    assert item["query_type"] == "idtype-value" and item["query"] == {"type": "UIN", "value": "UIN-1001"}
    assert item["parsed"].matches({"identifier": [{"identifier_type": "UIN", "identifier_value": "UIN-1001"}]})
    env = reg.on_search(adm, [[{"@type": "Person", "name": "x"}]])
    assert dci.verify(env, reg.verifying_key())["kid"] == f"{SERVER_ID}|srv|ed25519"
    assert env["header"]["receiver_id"] == "s1" and env["header"]["action"] == "on-search"
    [out] = env["message"]["search_response"]
    assert out["status"] == "succ" and out["data"]["reg_records"] == [{"@type": "Person", "name": "x"}]
    assert out["reference_id"] == item["reference_id"]
    # A rejected item.
    env = reg.on_search(adm, [("rjct.query.invalid", "no such query")])
    [out] = env["message"]["search_response"]
    assert (out["status"], out["status_reason_code"]) == ("rjct", "rjct.query.invalid")
    assert env["header"]["status"] == "rjct"


def test_unknown_sender_is_403(keys):
    server_key, sender_key = keys
    reg = kit(server_key, sender_key)
    adm = reg.admit("/registry/sync/search", search_bytes(signer_of(sender_key, "nobody")))
    body = assert_refusal(adm, 403, "err.sender_id.invalid")
    assert "nobody" in body["errors"][0]["message"]
    # The refusal is signed by the registry.
    assert dci.verify(body, reg.verifying_key(), bind_sender=True)["kid"].startswith(SERVER_ID + "|")


def test_bad_signature_is_401(keys):
    server_key, sender_key = keys
    reg = kit(server_key, sender_key)
    assert_refusal(reg.admit("/registry/sync/search", search_bytes(signer_of(sender_key), tamper=True)),
                   401, "err.signature.invalid")
    # Signed by a key the sender did not register.
    other = dci.Signer(dci.SigningKey.generate(), "s1", "k1")
    assert_refusal(reg.admit("/registry/sync/search", search_bytes(other)), 401, "err.signature.invalid")


def test_replay_is_409(keys):
    server_key, sender_key = keys
    reg = kit(server_key, sender_key)
    body = search_bytes(signer_of(sender_key))
    assert reg.admit("/registry/sync/search", body).ok
    refused = assert_refusal(reg.admit("/registry/sync/search", body), 409, "rjct.message_id.duplicate")
    assert refused["header"]["status_reason_code"] == "rjct.message_id.duplicate"


def test_unknown_path_is_404(keys):
    server_key, sender_key = keys
    adm = kit(server_key, sender_key).admit("/registry/nope", b"{}")
    assert (adm.status, adm.code, adm.operation) == (404, "err.request.not_found", None)
    assert adm.body["errors"][0]["code"] == "err.request.not_found"


def test_content_type_is_checked_when_headers_are_given(keys):
    server_key, sender_key = keys
    reg = kit(server_key, sender_key)
    adm = reg.admit("/registry/sync/search", search_bytes(signer_of(sender_key)), {"content-type": "text/plain"})
    assert_refusal(adm, 415, "err.request.bad")


def test_unknown_keywords_raise_naming_them(keys):
    server_key, _ = keys
    with pytest.raises(dci.ValidationError) as e:
        dci.Registry(key=server_key, server_id=SERVER_ID, key_id="srv", clock_skew=5, alow_private=True)
    assert "clock_skew" in str(e.value) and "alow_private" in str(e.value)
    assert e.value.field == "clock_skew"
    with pytest.raises(dci.ValidationError) as e:
        dci.Registry(key=server_key, server_id=SERVER_ID, key_id="srv", senders=[{"sender_id": "a", "alowed_ops": []}])
    assert "alowed_ops" in str(e.value)
    with pytest.raises(dci.ValidationError):
        dci.Registry(key=server_key, server_id=SERVER_ID, key_id="srv", default_registry="nope")


def test_lookup_callable_and_its_exception_is_a_500(keys):
    server_key, sender_key = keys
    asked = []

    def lookup(sender_id):
        asked.append(sender_id)
        if sender_id == "s1":
            return sender_dict("s1", sender_key)
        if sender_id == "boom":
            raise RuntimeError("database is down")
        return None

    reg = kit(server_key, sender_key, senders=lookup)
    assert reg.admit("/registry/sync/search", search_bytes(signer_of(sender_key))).ok
    assert_refusal(reg.admit("/registry/sync/search", search_bytes(signer_of(sender_key, "x"))),
                   403, "err.sender_id.invalid")
    adm = reg.admit("/registry/sync/search", search_bytes(signer_of(sender_key, "boom")))
    body = assert_refusal(adm, 500, "err.service.unavailable")
    # The peer is told only that; the cause is for the host's log.
    assert "database is down" not in json.dumps(body)
    assert "RuntimeError: database is down" in adm.cause
    assert asked == ["s1", "x", "boom"]
    with pytest.raises(dci.ValidationError):
        reg.add_sender(sender_dict("s2", sender_key))


def test_replay_callable(keys):
    server_key, sender_key = keys
    seen = []

    def first_time(sender_id, message_id, now_ms, window_ms):
        if message_id == "boom":
            raise ValueError("replay store down")
        fresh = (sender_id, message_id) not in {(s, m) for s, m, _, _ in seen}
        seen.append((sender_id, message_id, now_ms, window_ms))
        return fresh

    reg = kit(server_key, sender_key, replay=first_time, clock_skew_secs=120)
    body = search_bytes(signer_of(sender_key), message_id="m-1")
    assert reg.admit("/registry/sync/search", body).ok
    assert_refusal(reg.admit("/registry/sync/search", body), 409, "rjct.message_id.duplicate")
    assert [(s, m, w) for s, m, _, w in seen] == [("s1", "m-1", 240_000)] * 2
    adm = reg.admit("/registry/sync/search", search_bytes(signer_of(sender_key), message_id="boom"))
    assert_refusal(adm, 500, "err.service.unavailable")
    assert "replay store down" in adm.cause


def test_private_callback_urls_are_refused_unless_allowed(keys):
    server_key, sender_key = keys
    msg = search_bytes(signer_of(sender_key), sender_uri="http://10.0.0.5/cb")
    reg = kit(server_key, sender_key)
    adm = reg.admit("/registry/search", msg)
    assert adm.ok and adm.mode == "async"
    refused = reg.callback_url(adm)
    assert isinstance(refused, dci.Admission)
    assert_refusal(refused, 400, "err.sender_uri.invalid")
    with pytest.raises(dci.DCIError) as e:
        reg.callback(adm, [[]])
    assert e.value.code == "err.sender_uri.invalid" and e.value.status == 400
    assert e.value.body["errors"][0]["code"] == "err.sender_uri.invalid"
    # Allowed for local testing.
    reg = kit(server_key, sender_key, allow_private_callbacks=True)
    adm = reg.admit("/registry/search", msg)
    assert reg.callback_url(adm) == "http://10.0.0.5/cb/on-search"
    ack = reg.ack(adm)
    assert ack["message"]["ack_status"] == "ACK" and ack["message"]["correlation_id"] == adm.correlation_id
    url, env = reg.callback(adm, [[{"@type": "Person"}]])
    assert url == "http://10.0.0.5/cb/on-search"
    assert env["message"]["correlation_id"] == adm.correlation_id
    dci.verify(env, reg.verifying_key())
    # The sender's registered callback URI bounds where callbacks go.
    reg = kit(server_key, sender_key, allow_private_callbacks=True,
              senders=[sender_dict("s1", sender_key, callback_uri="http://10.0.0.6/dci")])
    adm = reg.admit("/registry/search", msg)
    assert_refusal(reg.callback_url(adm), 400, "err.sender_uri.invalid")
    adm = reg.admit("/registry/search", search_bytes(signer_of(sender_key)))
    assert reg.callback_url(adm) == "http://10.0.0.6/dci/on-search"


def test_callback_destinations_are_resolved_and_checked(keys):
    server_key, sender_key = keys
    strict = kit(server_key, sender_key)
    # A name is resolved now, and every address it resolves to is checked (localhost
    # resolves to loopback addresses only).
    import socket
    name = "localhost"
    addrs = {a[4][0] for a in socket.getaddrinfo(name, 80)}
    assert addrs, name
    with pytest.raises(dci.DCIError, match="resolves only to refused addresses") as e:
        strict.check_destination(f"http://{name}:80/cb")
    assert e.value.code == "err.sender_uri.invalid"
    with pytest.raises(dci.DCIError, match="loopback"):
        strict.check_destination("http://127.0.0.1:9/cb")
    with pytest.raises(dci.DCIError, match="does not resolve"):
        strict.check_destination("http://no-such-host.invalid/cb")
    # Allowed for local testing: the addresses to connect to.
    open_ = kit(server_key, sender_key, allow_private_callbacks=True)
    assert open_.check_destination("http://127.0.0.1:9/cb") == ["127.0.0.1:9"]
    assert set(a.rsplit(":", 1)[0].strip("[]") for a in open_.check_destination(f"http://{name}:80/cb")) == addrs


def test_host_refusals_senders_and_data_sharing(keys):
    server_key, sender_key = keys
    reg = kit(server_key, sender_key, senders=[])
    assert_refusal(reg.admit("/registry/sync/search", search_bytes(signer_of(sender_key))), 403, "err.sender_id.invalid")
    reg.add_sender(sender_dict("s1", sender_key, fields=["name"]))
    assert reg.sender_ids() == ["s1"]
    adm = reg.admit("/registry/sync/search", search_bytes(signer_of(sender_key)))
    assert adm.ok and adm.sender["fields"] == ["name"]
    # Only the agreed fields reach the sender (and the JSON-LD keys).
    env = reg.on_search(adm, [[{"@type": "Person", "name": "x", "sex": "f"}]])
    assert env["message"]["search_response"][0]["data"]["reg_records"] == [{"@type": "Person", "name": "x"}]
    # A refusal the host decides (its bearer token check), on the path or the admission.
    body = assert_refusal(reg.reject("/registry/sync/search", "err.request.unauthorized", "no token"),
                          401, "err.request.unauthorized")
    assert body["header"]["action"] == "on-search"
    body = assert_refusal(reg.reject(adm, "err.request.forbidden", "not yours"), 403, "err.request.forbidden")
    assert body["header"]["receiver_id"] == "s1" and body["message"]["correlation_id"] == adm.correlation_id
    assert reg.reject("search", "err.request.too_many_requests", "slow down", 429).status == 429
    # A path as received that is no endpoint is the 404 admit gives; an unknown name is a bug.
    assert reg.reject("/registry/nope", "err.request.unauthorized", "no token").code == "err.request.not_found"
    with pytest.raises(dci.ValidationError):
        reg.reject("serch", "err.request.unauthorized", "no token")
    with pytest.raises(dci.ValidationError):
        reg.reject(adm, "err.nope", "x")
    with pytest.raises(dci.ValidationError):
        reg.answer(adm, {"not": "a search response"})
    assert reg.remove_sender("s1") is True and reg.remove_sender("s1") is False
    assert_refusal(reg.admit("/registry/sync/search", search_bytes(signer_of(sender_key))), 403, "err.sender_id.invalid")


def test_pagination_and_the_page_size_limit(keys):
    server_key, sender_key = keys
    reg = kit(server_key, sender_key, max_page_size=3)
    signer = signer_of(sender_key)

    def admitted(page_size, page_number=1):
        msg = dci.search_request([dci.Query.idtype_value("UIN", "x")], page_size=page_size, page_number=page_number)
        env = dci.envelope("search", msg, sender_id="s1", signer=signer)
        return reg.admit("/registry/sync/search", json.dumps(env).encode())

    records = [{"n": i} for i in range(7)]
    m = reg.search_message(admitted(3, 3), [records])
    [item] = m["search_response"]
    assert item["data"]["reg_records"] == [{"n": 6}]
    assert item["pagination"] == {"page_size": 3, "page_number": 3, "total_count": 7}
    [item] = reg.search_message(admitted(4), [records])["search_response"]
    assert item["status_reason_code"] == "rjct.pagination.invalid"


# ------------------------------------------------------------------ the example registry


class Example:
    def __init__(self):
        self.registry, self.sender_key, self.info = registry_server.demo(allow_private_callbacks=True)
        self.server = self.registry.http_server()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def data_source(self, **extra):
        return dci.DataSource(
            self.url, self.info["sender_id"], code="py_registry", registry_type="crvs", auth_type="oauth2",
            oauth2_client_id=self.info["client_id"], oauth2_client_secret=self.info["client_secret"],
            oauth2_token_url=self.url + "/oauth2/client/token", signing_key=self.sender_key,
            signing_key_id=self.info["key_id"], registry_jwks_url=self.url + "/.well-known/jwks.json", **extra)

    def token(self):
        data = (f"grant_type=client_credentials&client_id={self.info['client_id']}"
                f"&client_secret={self.info['client_secret']}").encode()
        with urllib.request.urlopen(urllib.request.Request(self.url + "/oauth2/client/token", data=data)) as r:
            return json.load(r)["access_token"]

    def post(self, path, body, token=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=body, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)


@pytest.fixture(scope="module")
def example():
    ex = Example()
    yield ex
    ex.server.shutdown()
    ex.server.server_close()


def uins(records):
    return [r["identifier"][0]["identifier_value"] for r in records]


def reg_records(env, i=0):
    return env["message"]["search_response"][i]["data"]["reg_records"]


def test_example_sync_search_with_dciclient(example):
    client = dci.DCIClient(example.data_source())
    env = client.search_by_id("UIN", "UIN-1003")
    [rec] = reg_records(env)
    assert uins([rec]) == ["UIN-1003"] and rec["name"]["surname"] == "Tanaka"
    # The sender's data sharing agreement leaves the address out.
    assert "address" not in rec
    # Signed by the registry: with its key and with its published JWKS.
    assert dci.verify(env, example.registry.kit.verifying_key())["kid"] == "registry.example.org|registry-key-1|ed25519"
    dci.verify(env, dci.Jwks.fetch(example.url + "/.well-known/jwks.json"))
    assert env["header"]["receiver_id"] == "demo-sender"
    # A predicate search, paged.
    env = client.search_by_predicate([dci.Predicate("sex", "eq", "female")], page_size=2)
    item = env["message"]["search_response"][0]
    assert uins(item["data"]["reg_records"]) == ["UIN-1001", "UIN-1003"]
    assert item["pagination"]["total_count"] == 3
    assert uins(client.search_all("predicate", [dci.Predicate("sex", "eq", "female").to_dict()], page_size=2)) == [
        "UIN-1001", "UIN-1003", "UIN-1005"]
    assert reg_records(client.search_by_id("UIN", "UIN-9999")) == []


def test_example_async_search_and_txn_status_with_dciclient(example):
    with dci.CallbackListener(port=0) as listener:
        client = dci.DCIClient(example.data_source(our_callback_uri=listener.url))
        listener.start(client)
        ack = client.search_by_id("UIN", "UIN-1004", async_mode=True)
        assert ack["ack_status"] == "ACK"
        result = listener.wait_for(ack["transaction_id"], timeout=30)
        assert result["kind"] == "search"
        [item] = result["result"]["items"]
        assert uins(item["records"]) == ["UIN-1004"]
        assert result["result"]["signature"]["verified"] is True
    assert (listener.url + "/on-search", 200) in example.registry.callbacks
    # Txn status of the async search, from the registry's log.
    env = client.txn_status(ack["transaction_id"])
    dci.verify(env, example.registry.kit.verifying_key())
    assert env["header"]["action"] == "txn-on-status"
    status = env["message"]["txnstatus_response"]
    assert status["txn_type"] == "search"
    assert uins(status["txn_status"]["search_response"][0]["data"]["reg_records"]) == ["UIN-1004"]
    # An unknown transaction is a rejected item.
    env = client.txn_status("no-such-transaction")
    [item] = env["message"]["txnstatus_response"]["txn_status"]["search_response"]
    assert item["status_reason_code"] == "rjct.reference_id.invalid"


def test_example_refuses_without_a_token_or_with_another_senders_token(example):
    signer = dci.Signer(example.sender_key, "demo-sender", "demo-key-1")
    status, doc = example.post("/registry/sync/search", search_bytes(signer))
    assert status == 401 and doc["errors"][0]["code"] == "err.request.unauthorized"
    status, doc = example.post("/registry/nope", b"{}")
    assert status == 404 and doc["errors"][0]["code"] == "err.request.not_found"
    # A token bound to another sender: the host's check, answered with the kit's body.
    example.registry.clients["other-client"] = ("other-secret", "other-sender")
    data = b"grant_type=client_credentials&client_id=other-client&client_secret=other-secret"
    with urllib.request.urlopen(urllib.request.Request(example.url + "/oauth2/client/token", data=data)) as r:
        other = json.load(r)["access_token"]
    status, doc = example.post("/registry/sync/search", search_bytes(signer), other)
    assert status == 403 and doc["errors"][0]["code"] == "err.request.forbidden"
    assert doc["header"]["receiver_id"] == "demo-sender"
    dci.verify(doc, example.registry.kit.verifying_key())


def dci_bin():
    b = find_dci_binary()
    assert b is not None, "no dci binary: run `cargo build -p dci-cli` or set DCI_BIN"
    return str(b)


def run(args, stdin=None):
    p = subprocess.run([dci_bin(), *args], input=stdin, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout


class Catcher:
    """A callback listener that keeps what it receives."""

    def __init__(self):
        self.got = queue.Queue()
        catcher = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                catcher.got.put((self.path, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/dci"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_example_with_the_cli(example, tmp_path):
    key = tmp_path / "sender.pem"
    example.sender_key.save(str(key))
    jwks = tmp_path / "registry-jwks.json"
    with urllib.request.urlopen(example.url + "/.well-known/jwks.json") as r:
        jwks.write_bytes(r.read())
    token = example.token()

    def signed_search(*extra):
        env = run(["envelope", "search", "--idtype", "UIN", "--value", "UIN-1002", "--sender-id", "demo-sender",
                   "--receiver-id", SERVER_ID, *extra])
        return run(["sign", "--key", str(key), "--key-id", "demo-key-1"], env)

    # Sync search, the answer verified by `dci verify` against the registry's JWKS.
    status, env = example.post("/registry/sync/search", signed_search(), token)
    assert status == 200, env
    assert uins(reg_records(env)) == ["UIN-1002"]
    run(["verify", "--jwks", str(jwks)], json.dumps(env).encode())
    # The same bytes again are a replay.
    body = signed_search()
    assert example.post("/registry/sync/search", body, token)[0] == 200
    status, doc = example.post("/registry/sync/search", body, token)
    assert status == 409 and doc["header"]["status_reason_code"] == "rjct.message_id.duplicate"
    run(["verify", "--jwks", str(jwks)], json.dumps(doc).encode())
    # Async search: the callback arrives at our listener, signed.
    catcher = Catcher()
    try:
        status, ack = example.post("/registry/search", signed_search("--sender-uri", catcher.url), token)
        assert status == 200 and ack["message"]["ack_status"] == "ACK"
        path, body = catcher.got.get(timeout=30)
        assert path == "/dci/on-search"
        cb = json.loads(body)
        assert cb["header"]["action"] == "on-search"
        assert cb["message"]["correlation_id"] == ack["message"]["correlation_id"]
        assert uins(reg_records(cb)) == ["UIN-1002"]
        run(["verify", "--jwks", str(jwks)], body)
    finally:
        catcher.server.shutdown()
        catcher.server.server_close()


def test_encrypted_request_is_opened_and_the_answer_sealed(keys, tmp_path):
    server_key, sender_key = keys
    # The registry's and the sender's encryption keys, made by `dci enc-keygen`.
    server_jwk = json.loads(run(["enc-keygen", "--out", str(tmp_path / "server-enc.pem"), "--kid", "server-enc"]))
    sender_jwk = json.loads(run(["enc-keygen", "--out", str(tmp_path / "sender-enc.pem"), "--kid", "sender-enc"]))
    (tmp_path / "server-enc.jwk").write_text(json.dumps(server_jwk))
    sender = sender_dict("s1", sender_key)
    sender["jwks"]["keys"].append(sender_jwk)
    reg = kit(server_key, sender_key, senders=[sender],
              decryption_keys=[("server-enc", (tmp_path / "server-enc.pem").read_text())])
    assert server_jwk in reg.jwks()["keys"]
    # The sender encrypts its message to the registry's key, then signs.
    msg = dci.search_request([dci.Query.idtype_value("UIN", "UIN-7")])
    plain = dci.envelope("search", msg, sender_id="s1", receiver_id=SERVER_ID)
    sealed = json.loads(run(["encrypt", "--jwk", str(tmp_path / "server-enc.jwk")], json.dumps(plain).encode()))
    assert sealed["header"]["is_msg_encrypted"] is True and "search_request" not in json.dumps(sealed["message"])
    body = signer_of(sender_key).sign_bytes(json.dumps(sealed).encode())
    adm = reg.admit("/registry/sync/search", body)
    assert adm.ok, adm.body
    assert adm.search_items[0]["query"] == {"type": "UIN", "value": "UIN-7"}
    env = reg.on_search(adm, [[{"@type": "Person", "name": "seven"}]])
    # The answer is encrypted to the sender's key, signed over the ciphertext.
    assert env["header"]["is_msg_encrypted"] is True and "seven" not in json.dumps(env["message"])
    dci.verify(env, reg.verifying_key())
    opened = json.loads(run(["decrypt", "--key", str(tmp_path / "sender-enc.pem"), "--kid", "sender-enc"],
                            json.dumps(env).encode()))
    assert opened["message"]["search_response"][0]["data"]["reg_records"] == [{"@type": "Person", "name": "seven"}]
    # Without decryption keys the registry refuses encrypted requests.
    plain_reg = kit(server_key, sender_key, senders=[sender])
    assert_refusal(plain_reg.admit("/registry/sync/search", body), 400, "err.encryption.invalid")


def test_many_threads_with_python_callables(keys):
    """Admission releases the GIL and takes it back for the callables: no deadlock, no mixup."""
    import concurrent.futures

    server_key, _ = keys
    sender_keys = {f"s{i}": dci.SigningKey.generate() for i in range(4)}
    calls = []

    def lookup(sender_id):
        calls.append(sender_id)
        key = sender_keys.get(sender_id)
        return sender_dict(sender_id, key) if key else None

    reg = dci.Registry(key=server_key, server_id=SERVER_ID, key_id="srv", senders=lookup)

    def one(n):
        sid = f"s{n % 4}"
        adm = reg.admit("/registry/sync/search", search_bytes(signer_of(sender_keys[sid], sid), uin=f"U-{n}"))
        assert adm.ok and adm.sender_id == sid
        env = reg.on_search(adm, [[{"n": n}]])
        return env["message"]["search_response"][0]["data"]["reg_records"][0]["n"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(one, range(64))) == list(range(64))
    assert len(calls) == 64


def test_example_passes_the_conformance_checks(example, tmp_path):
    """`dci conformance`, the suite `dci serve` is held to, against the Python registry."""
    key = tmp_path / "sender.pem"
    example.sender_key.save(str(key))
    report = tmp_path / "conformance.json"
    p = subprocess.run([dci_bin(), "conformance", example.url, "--client-id", example.info["client_id"],
                        "--client-secret", example.info["client_secret"], "--sender-id", "demo-sender",
                        "--key", str(key), "--key-id", "demo-key-1", "--receiver-id", SERVER_ID,
                        "--id-value", "UIN-1001", "--json", str(report), "--quiet"],
                       capture_output=True, text=True, timeout=300)
    results = json.loads(report.read_text())
    failed = [(c["id"], c["reason"]) for c in results["checks"] if c["status"] == "fail"]
    assert p.returncode == 0 and failed == [], (failed, p.stderr)
    # Every check ran but notify (the example's records never change, so nothing to notify).
    assert [c["id"] for c in results["checks"] if c["status"] == "skip"] == ["notify"]
    assert results["summary"]["pass"] >= 40
    ids = {c["id"] for c in results["checks"] if c["status"] == "pass"}
    assert {"sync.search.idtype", "async.search", "txn.status", "async.txn_status", "async.subscribe",
            "reject.replay", "reject.bad_signature", "reject.unknown_sender", "reject.sender_uri"} <= ids
