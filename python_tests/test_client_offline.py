"""The client without a registry: configuration, errors, callbacks, the listener."""

import json
import socket
import threading
import urllib.error
import urllib.request

import pytest

import dci

SEED = bytes(range(32))
REGISTRY_SEED = bytes(range(1, 33))


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_data_source_from_keywords_and_flat_openspp_names():
    key = dci.SigningKey.from_ed25519_seed(SEED)
    ds = dci.DataSource(
        "https://crvs.example.org/api",
        "openspp.example.org",
        name="National CRVS",
        code="crvs_main",
        registry_type="crvs",
        auth_type="oauth2",
        oauth2_client_id="openspp",
        oauth2_client_secret="s3cret",
        signing_key=key,
        signing_key_id="k1",
        search_endpoint="/dci/sync/search",
        timeout=12,
        verify_ssl=False,
    )
    d = ds.to_dict()
    assert d["code"] == "crvs_main" and ds.code == "crvs_main"
    assert d["registry_type"] == "crvs" and ds.registry_type == "crvs"
    assert d["auth"] == {"type": "oauth2", "token_url": None, "client_id": "openspp", "client_secret": "***", "scope": None}
    assert d["signing"]["key_id"] == "k1" and d["signing"]["key_pem"] == "***"
    assert d["endpoints"]["sync_search"] == "/dci/sync/search"
    assert d["timeout_secs"] == 12 and d["verify_tls"] is False
    assert ds.to_dict(include_secrets=True)["auth"]["client_secret"] == "s3cret"
    again = dci.DataSource.from_dict(ds.to_dict(include_secrets=True))
    assert again.to_dict() == d
    assert ds.replace(code="crvs_ph").code == "crvs_ph"


def test_data_source_from_files(tmp_path):
    toml = tmp_path / "crvs.toml"
    toml.write_text('base_url = "http://127.0.0.1:8080"\nour_sender_id = "me"\nregistry_type = "crvs"\n[auth]\ntype = "bearer"\ntoken = "t"\n')
    ds = dci.DataSource.from_file(str(toml))
    assert ds.base_url == "http://127.0.0.1:8080" and ds.to_dict()["auth"]["type"] == "bearer"
    js = tmp_path / "crvs.json"
    js.write_text(json.dumps({"base_url": "http://127.0.0.1:8080", "our_sender_id": "me"}))
    assert dci.DataSource.from_file(str(js)).our_sender_id == "me"
    assert dci.DataSource.from_json(js.read_text()).our_sender_id == "me"
    assert dci.DataSource.from_toml(toml.read_text()).our_sender_id == "me"


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"base_url": "", "our_sender_id": "me"}, "base_url"),
        ({"base_url": "ftp://x", "our_sender_id": "me"}, "base_url"),
        ({"base_url": "http://x"}, "our_sender_id"),
        ({"base_url": "http://x", "our_sender_id": "a|b"}, "our_sender_id"),
        ({"base_url": "http://x", "our_sender_id": "me", "auth_type": "oauth2", "oauth2_client_id": "c"}, "auth.client_secret"),
        ({"base_url": "http://x", "our_sender_id": "me", "timeout": 0}, "timeout_secs"),
        ({"base_url": "http://x", "our_sender_id": "me", "signing_key_pem": "x"}, "signing.key_id"),
    ],
)
def test_data_source_errors_name_the_field(kwargs, field):
    with pytest.raises(dci.ValidationError) as e:
        dci.DataSource(**kwargs)
    assert e.value.field == field
    assert e.value.kind == "config"


def test_client_requires_sender_at_construction():
    with pytest.raises(dci.ValidationError) as e:
        dci.DCIClient({"base_url": "http://127.0.0.1:1"})
    assert e.value.field == "our_sender_id"


def test_connection_refused_is_a_transport_error():
    ds = dci.DataSource(f"http://127.0.0.1:{closed_port()}", "me", max_retries=0)
    client = dci.DCIClient(ds, None)  # OpenSPP's (data_source, env) shape
    with pytest.raises(dci.TransportError) as e:
        client.search_by_id("UIN", "1")
    assert e.value.kind == "connection"
    assert e.value.endpoint.endswith("/registry/sync/search")
    # The transaction the failed call belonged to.
    assert e.value.transaction_id and e.value.transaction_id in str(e.value)
    assert not e.value.is_timeout


def test_timeout_is_a_transport_error():
    # A listening socket that never answers.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    try:
        ds = dci.DataSource(f"http://127.0.0.1:{srv.getsockname()[1]}", "me", timeout=0.3, max_retries=0)
        with pytest.raises(dci.TransportError) as e:
            dci.DCIClient(ds).search_by_id("UIN", "1")
        assert e.value.kind == "timeout" and e.value.is_timeout
    finally:
        srv.close()


def test_async_calls_need_a_callback_uri():
    client = dci.DCIClient(dci.DataSource("http://127.0.0.1:1", "me"))
    with pytest.raises(dci.ValidationError) as e:
        client.search_async("idtype-value", "UIN:1")
    assert e.value.field == "our_callback_uri"


def test_idtype_value_string_form_and_query_objects():
    client = dci.DCIClient(dci.DataSource("http://127.0.0.1:1", "me"))
    with pytest.raises(dci.ValidationError) as e:
        client.search("idtype-value", "no-colon")
    assert e.value.field == "query_value"


def callback_envelope(signer, action, message, status="succ"):
    header = {
        "version": "1.0.0",
        "message_id": dci.new_id(),
        "message_ts": "2025-01-01T00:00:00.000Z",
        "action": action,
        "status": status,
        "total_count": 1,
        "completed_count": 1,
        "sender_id": "registry.example.org",
        "receiver_id": "me",
        "is_msg_encrypted": False,
    }
    env = {"signature": "", "header": header, "message": message}
    return signer.sign(env) if signer else env


def on_search_message(txn):
    return {
        "transaction_id": txn,
        "correlation_id": "corr-1",
        "search_response": [
            {
                "reference_id": "ref-1",
                "timestamp": "2025-01-01T00:00:00.000Z",
                "status": "succ",
                "data": {"reg_records": [{"identifier": [{"identifier_type": "UIN", "identifier_value": "1"}]}]},
            }
        ],
    }


def registry_client(callback_uri="http://127.0.0.1:1/cb"):
    reg = dci.SigningKey.from_ed25519_seed(REGISTRY_SEED)
    ds = dci.DataSource("http://127.0.0.1:1", "me", our_callback_uri=callback_uri, registry_public_key=reg.verifying_key())
    return dci.DCIClient(ds), dci.Signer(reg, "registry.example.org", "rk1")


def test_handle_callback_accepts_a_signed_callback():
    client, reg_signer = registry_client()
    body = json.dumps(callback_envelope(reg_signer, "on-search", on_search_message("txn-x"))).encode()
    out = client.handle_callback(body, {"Content-Type": "application/json"})
    assert out["accepted"] is True and out["http_status"] == 200
    assert out["action"] == "on-search" and out["transaction_id"] == "txn-x"
    assert out["matched"] is False  # nobody is waiting for txn-x
    assert out["ack"]["message"]["ack_status"] == "ACK"
    assert out["result"]["kind"] == "search"
    assert out["result"]["result"]["items"][0]["records"][0]["identifier"][0]["identifier_value"] == "1"
    assert out["error"] is None
    # The core's callback answer: the same keys as the C ABI's JSON and Go's CallbackAnswer.
    assert list(out) == ["accepted", "http_status", "ack", "action", "transaction_id", "correlation_id", "matched", "result", "error"]


def test_handle_callback_refuses_unsigned_and_tampered():
    client, reg_signer = registry_client()
    out = client.handle_callback(json.dumps(callback_envelope(None, "on-search", on_search_message("t"))))
    assert out["accepted"] is False and out["http_status"] == 401
    assert isinstance(out["error"], dci.SignatureError)
    assert out["error"].kind == "signature_missing"
    assert out["ack"]["message"]["ack_status"] == "ERR"
    assert out["ack"]["message"]["error"]["code"] == "err.signature.missing"
    env = callback_envelope(reg_signer, "on-search", on_search_message("t"))
    env["message"]["correlation_id"] = "changed"
    out = client.handle_callback(json.dumps(env))
    assert out["http_status"] == 401 and out["error"].kind == "signature_invalid"
    out = client.handle_callback(b"{not json")
    assert out["http_status"] == 400 and isinstance(out["error"], dci.ValidationError)
    assert list(out) == ["accepted", "http_status", "ack", "action", "transaction_id", "correlation_id", "matched", "result", "error"]


def test_wait_for_an_unknown_transaction_is_refused():
    client, _ = registry_client()
    with pytest.raises(dci.ValidationError) as e:
        client.wait_for("never-sent", timeout=0.05)
    assert e.value.field == "transaction_id"


def test_listener_lifecycle_and_refusal():
    with dci.CallbackListener(port=0) as listener:
        assert listener.url == f"http://127.0.0.1:{listener.port}"
        client, reg_signer = registry_client(listener.url)
        with pytest.raises(RuntimeError):
            listener.wait_for("x", timeout=0)
        listener.start(client)
        with pytest.raises(RuntimeError):
            listener.start(client)
        # An unsigned callback is refused with 401 and an ERR ack.
        req = urllib.request.Request(
            listener.url + "/on-search",
            data=json.dumps(callback_envelope(None, "on-search", on_search_message("t"))).encode(),
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=10)
        assert e.value.code == 401
        assert json.load(e.value)["message"]["error"]["code"] == "err.signature.missing"
        # A signed notify reaches the handler.
        got = []
        done = threading.Event()
        listener.on_notify(lambda ev: (got.append(ev), done.set()))
        notify = {
            "transaction_id": "n-1",
            "notify_event": [
                {
                    "reference_id": "r",
                    "timestamp": "2025-01-01T00:00:00.000Z",
                    "data": {"reg_records": [{"identifier": [{"identifier_type": "UIN", "identifier_value": "9"}]}]},
                }
            ],
        }
        env = callback_envelope(reg_signer, "notify", notify)
        req = urllib.request.Request(listener.url + "/notify", data=json.dumps(env).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200
            assert json.load(r)["message"]["ack_status"] == "ACK"
        assert done.wait(10)
        assert got[0]["transaction_id"] == "n-1"
        assert got[0]["items"][0]["records"][0]["identifier"][0]["identifier_value"] == "9"
    # Shut down: further waits are refused.
    with pytest.raises(RuntimeError):
        listener.wait_for("x", timeout=0)


class _Recorder:
    """A registry stand-in that records each request body and answers HTTP 500."""

    def __init__(self):
        import http.server

        bodies = self.bodies = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_every_search_path_sends_the_same_criteria_on_openg2p():
    # search(Query), search("idtype-value", "TYPE:VALUE") and search_by_id convert into the
    # core's one SearchSpec (as C's search_json does): the same call sends the same bytes.
    rec = _Recorder()
    try:
        client = dci.DCIClient(dci.DataSource(rec.url, "me", dialect="openg2p", max_retries=0))
        calls = [
            lambda: client.search(dci.Query.idtype_value("UIN", "1003")),
            lambda: client.search("idtype-value", "UIN:1003"),
            lambda: client.search_by_id("UIN", "1003"),
        ]
        for call in calls:
            with pytest.raises(dci.TransportError) as e:
                call()
            assert e.value.kind == "http" and e.value.status == 500
            assert e.value.endpoint == rec.url + "/registry/sync/search"
            assert e.value.transaction_id == rec.bodies[-1]["message"]["transaction_id"]
    finally:
        rec.close()
    sent = [b["message"]["search_request"][0]["search_criteria"] for b in rec.bodies]
    assert len(sent) == 3
    for c in sent:
        # consent and authorize carry the request's own timestamp; the rest is identical.
        c["consent"].pop("ts")
        c["authorize"].pop("ts")
    assert sent[0] == sent[1] == sent[2]
    assert sent[0]["query_type"] == "expression"
    assert sent[0]["query"] == {"type": "ns:org:QueryType:expression", "value": {"expression": {"query": {"search_text": {"$eq": "1003"}}}}}
    assert (sent[0]["reg_type"], sent[0]["reg_record_type"]) == ("Individual", "Individual")
    assert sent[0]["pagination"] == {"page_size": 10, "page_number": 1}
