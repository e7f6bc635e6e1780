"""The Python API as OpenSPP's DCI modules call it (issue 12): names, call shapes, defaults.

Offline: a recording stand-in registry (http.server) answers where a call must reach the wire.
"""

import base64
import json
import threading
import http.server

import pytest

import dci

SEED = bytes(range(32))


class Stub:
    """A registry stand-in: records every request (path, headers, body) and answers with
    ``answer(path, body) -> (status, dict)``."""

    def __init__(self, answer=None):
        self.requests = []
        self.answer = answer or (lambda path, body: (500, {}))
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _serve(self, body):
                stub.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status, out = stub.answer(self.path, body)
                data = json.dumps(out).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode()
                self._serve(body)

            def do_GET(self):
                self._serve(None)

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def bodies(self, suffix=""):
        return [b for p, _, b in self.requests if p.endswith(suffix)]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    s = Stub()
    yield s
    s.close()


# ----------------------------------------------------------------------------- 1. unknown names


def test_misspelt_data_source_keyword_is_refused_naming_it():
    with pytest.raises(dci.ValidationError) as e:
        dci.DataSource("http://x", "me", auth_type="oauth2", oauth2_client_id="c", oauth2_client_secret="s", oauth2_tokn_url="/t")
    assert e.value.field == "oauth2_tokn_url"
    assert "oauth2_token_url" in str(e.value)  # the closest known name
    with pytest.raises(dci.ValidationError) as e:
        dci.DataSource.from_dict({"base_url": "http://x", "our_sender_id": "me", "auth": {"type": "bearer", "tokn": "t"}})
    assert e.value.field == "auth.tokn"


def test_unknown_constructor_keywords_are_refused():
    ds = dci.DataSource("http://127.0.0.1:1", "me", registry_type="crvs")
    for make in (
        lambda: dci.DCIClient(ds, None, verify_sll=False),
        lambda: dci.CRVSService(ds, data_sorce_code="x"),
        lambda: dci.IBRService(ds, None, colour=1),
        lambda: dci.DRService(ds, timeout=3),
    ):
        with pytest.raises(dci.ValidationError) as e:
            make()
        assert e.value.kind == "config"
        assert e.value.field in ("verify_sll", "data_sorce_code", "colour", "timeout")
        assert e.value.field in str(e.value)


# ----------------------------------------------------------------------------- 2. DataSource


def test_registry_type_takes_openspp_values():
    for value, ours, reg_type in [
        ("ns:org:RegistryType:Civil", "crvs", "ns:org:RegistryType:Civil"),
        ("CRVS", "crvs", "ns:org:RegistryType:Civil"),
        ("SOCIAL_REGISTRY", "social", "ns:org:RegistryType:Social"),
        ("ns:org:RegistryType:DR", "dr", "ns:org:RegistryType:DR"),
        ("IBR", "ibr", "ns:org:RegistryType:IBR"),
        ("ns:org:RegistryType:FR", "fr", "ns:org:RegistryType:FR"),
    ]:
        ds = dci.DataSource("http://x", "me", registry_type=value)
        assert (ds.registry_type, ds.reg_type) == (ours, reg_type)
    with pytest.raises(dci.ValidationError) as e:
        dci.DataSource("http://x", "me", registry_type="ns:org:RegistryType:Weather")
    assert e.value.field == "registry_type"


def test_odoo_false_means_unset():
    ds = dci.DataSource(
        "http://x", "me", receiver_id=False, our_callback_uri=False, oauth2_scope=False,
        bearer_token=False, signing_key_id=False, timeout=False, verify_ssl=False, notes=False, active=True,
    )
    assert ds.receiver_id is None and ds.our_callback_uri is None
    assert ds.auth_type == "none" and ds.timeout == 30
    assert ds.verify_ssl is False  # a boolean field keeps its False


def test_data_source_exposes_openspp_fields():
    ds = dci.DataSource(
        "https://crvs.example.org/api", "openspp.example.org",
        auth_type="oauth2", oauth2_client_id="c", oauth2_client_secret="s", oauth2_scope="read",
        oauth2_credential_location="query", auth_endpoint="/auth/token",
        search_endpoint="/dci/sync/search", subscribe_endpoint="/dci/subscribe",
        verify_ssl=False, timeout=12, signing_key=dci.SigningKey.from_ed25519_seed(SEED), signing_key_id="k1",
    )
    assert ds.auth_type == "oauth2" and ds.oauth2_client_id == "c" and ds.oauth2_scope == "read"
    assert ds.oauth2_credential_location == "query"
    assert ds.auth_endpoint == "/auth/token"
    assert ds.oauth2_token_url == "https://crvs.example.org/api/auth/token"
    assert ds.search_endpoint == "/dci/sync/search" and ds.subscribe_endpoint == "/dci/subscribe"
    assert ds.endpoints["token"] == "/auth/token" and ds.async_search_endpoint == "/registry/search"
    assert ds.verify_ssl is False and ds.verify_tls is False and ds.timeout == 12
    assert ds.signing_key_id == "k1" and ds.dialect == "spdci"
    assert ds.state == "draft" and ds.last_error is None
    assert dci.DataSource("http://x", "me").oauth2_credential_location == "body"
    assert dci.DataSource("http://x", "me", dialect="opencrvs").oauth2_credential_location == "query"


def test_oauth2_credentials_in_the_query_when_asked(stub):
    stub.answer = lambda path, body: (200, {"access_token": "tok-1", "expires_in": 300})
    ds = dci.DataSource(stub.url, "me", auth_type="oauth2", oauth2_client_id="cid", oauth2_client_secret="sec",
                        oauth2_credential_location="query", auth_endpoint="/auth/token", max_retries=0)
    assert dci.DCIClient(ds).get_oauth2_token() == "tok-1"
    path, headers, body = stub.requests[-1]
    assert path.startswith("/auth/token?") and "client_id=cid" in path and "client_secret=sec" in path


def test_basic_auth_sends_the_basic_header(stub):
    ds = dci.DataSource(stub.url, "me", auth_type="basic", basic_username="alice", basic_password="pw", max_retries=0)
    assert ds.auth_type == "basic" and ds.to_dict()["auth"]["password"] == "***"
    client = dci.DCIClient(ds)
    assert client.get_headers()["Authorization"] == "Basic " + base64.b64encode(b"alice:pw").decode()
    with pytest.raises(dci.TransportError):
        client.search_by_id("UIN", "1")
    assert stub.requests[-1][1]["authorization"] == "Basic YWxpY2U6cHc="
    with pytest.raises(dci.ValidationError) as e:
        dci.DataSource("http://x", "me", auth_type="basic", basic_username="alice")
    assert e.value.field == "auth.password"


def test_test_connection_updates_state_and_last_error(stub):
    ds = dci.DataSource(stub.url, "me", max_retries=0)
    with pytest.raises(dci.TransportError):
        ds.test_connection()
    assert ds.state == "error" and "500" in ds.last_error
    client = dci.DCIClient(ds)
    assert client.data_source.state == "error"  # shared with the client built from it
    stub.answer = lambda path, body: (200, on_search(body, []))
    report = client.test_connection()
    assert report["reachable"] is True
    assert ds.state == "active" and ds.last_error is None and ds.last_test_date


def on_search(request, records):
    """A sync search response to ``request`` carrying ``records``."""
    msg = request["message"]
    return {
        "signature": "",
        "header": {
            "version": "1.0.0", "message_id": dci.new_id(), "message_ts": "2025-01-01T00:00:00.000Z",
            "action": "on-search", "status": "succ", "total_count": 1, "completed_count": 1,
            "sender_id": "registry.example.org", "receiver_id": "me", "is_msg_encrypted": False,
        },
        "message": {
            "transaction_id": msg["transaction_id"],
            "correlation_id": "corr-1",
            "search_response": [
                {
                    "reference_id": item["reference_id"],
                    "timestamp": "2025-01-01T00:00:00.000Z",
                    "status": "succ",
                    "data": {"reg_records": records},
                    "pagination": {"page_size": 10, "page_number": 1, "total_count": len(records)},
                }
                for item in msg["search_request"]
            ],
        },
    }


def test_data_source_from_an_odoo_like_record():
    class Key:
        private_key = dci.SigningKey.from_ed25519_seed(SEED).to_pem()
        key_id = "k1"
        algorithm = "ed25519"
        state = "active"

    class Record:
        name = "CRVS"
        code = "crvs_main"
        registry_type = "ns:org:RegistryType:Civil"
        base_url = "https://crvs.example.org"
        auth_type = "bearer"
        bearer_token = "t0k"
        oauth2_client_id = False
        our_sender_id = "openspp.example.org"
        our_callback_uri = False
        receiver_id = False
        signing_key_id = Key()
        verify_ssl = True
        timeout = 10
        active = True
        state = "draft"

        def get_headers(self):  # methods are not fields
            return {}

    ds = dci.DataSource.from_record(Record())
    assert (ds.code, ds.registry_type, ds.auth_type, ds.timeout) == ("crvs_main", "crvs", "bearer", 10)
    assert ds.signing_key_id == "k1" and ds.our_callback_uri is None
    Key.state = "revoked"
    with pytest.raises(dci.ValidationError) as e:
        dci.DataSource.from_record(Record())
    assert e.value.field == "signing_key_id"


def test_data_sources_get_by_code_and_registry_type():
    sources = dci.DataSources([
        dci.DataSource("http://crvs", "me", code="crvs_main", registry_type="ns:org:RegistryType:Civil"),
        {"base_url": "http://ibr", "our_sender_id": "me", "code": "ibr_main", "registry_type": "IBR"},
        dci.DataSource("http://crvs2", "me", code="crvs_ph", registry_type="crvs"),
    ])
    assert len(sources) == 3 and sources.codes() == ["crvs_main", "ibr_main", "crvs_ph"]
    assert sources.get_by_code("ibr_main").base_url == "http://ibr"
    assert [d.code for d in sources.get_by_registry_type("CRVS")] == ["crvs_main", "crvs_ph"]
    assert [d.code for d in sources.get_by_registry_type("ns:org:RegistryType:DR")] == []
    with pytest.raises(dci.ValidationError) as e:
        sources.get_by_code("dr_main")
    assert e.value.field == "code"
    with pytest.raises(dci.ValidationError) as e:
        dci.DataSources([dci.DataSource("http://a", "me", code="x"), dci.DataSource("http://b", "me", code="x")])
    assert e.value.field == "data_source[1].code"


# ----------------------------------------------------------------------------- 3. DCIClient


def ack(path, body):
    return 202, {"message": {"ack_status": "ACK", "timestamp": "2025-01-01T00:00:00Z", "correlation_id": "corr-9"}}


def test_search_by_identifier_is_the_identifier_lookup(stub):
    stub.answer = lambda path, body: (200, on_search(body, [{"name": "A"}]))
    client = dci.DCIClient(dci.DataSource(stub.url, "me", max_retries=0))
    r = client.search_by_identifier(identifier_type="urn:gov:national-id", identifier_value="12345678")
    assert r["message"]["search_response"][0]["data"]["reg_records"] == [{"name": "A"}]
    crit = stub.bodies("/registry/sync/search")[-1]["message"]["search_request"][0]["search_criteria"]
    assert crit["query_type"] == "idtype-value"
    assert crit["query"] == {"type": "urn:gov:national-id", "value": "12345678"}


def test_search_async_takes_a_callback_url(stub):
    stub.answer = ack
    client = dci.DCIClient(dci.DataSource(stub.url, "me", max_retries=0))  # no our_callback_uri
    out = client.search_async("idtype-value", "UIN:1", callback_url="https://openspp.example.org/dci/callback")
    assert out["ack_status"] == "ACK" and out["correlation_id"] == "corr-9"
    sent = stub.bodies("/registry/search")[-1]
    assert sent["header"]["sender_uri"] == "https://openspp.example.org/dci/callback"
    with pytest.raises(dci.ValidationError) as e:
        client.search_async("idtype-value", "UIN:1")
    assert e.value.field == "our_callback_uri"


def test_txn_status_by_reference_id(stub):
    client = dci.DCIClient(dci.DataSource(stub.url, "me", max_retries=0))
    with pytest.raises(dci.TransportError):
        client.txn_status("ref-1", attribute_type="reference_id")
    req = stub.bodies("/registry/sync/txn/status")[-1]["message"]["txnstatus_request"]
    assert req["attribute_type"] == "reference_id_list" and req["attribute_value"] == ["ref-1"]
    with pytest.raises(dci.ValidationError) as e:
        client.txn_status("x", attribute_type="reference")
    assert e.value.field == "txnstatus_request.attribute_type"


def test_search_by_expression_with_conditions(stub):
    stub.answer = lambda path, body: (200, on_search(body, []))
    client = dci.DCIClient(dci.DataSource(stub.url, "me", max_retries=0))
    client.search_by_expression(conditions=[
        {"attribute": "is_registrant", "operator": "=", "value": True},
        {"attribute": "area_id.code", "operator": "!=", "value": "REGION_02"},
        {"attribute": "age", "operator": ">=", "value": 18},
    ])
    crit = stub.bodies()[-1]["message"]["search_request"][0]["search_criteria"]
    assert crit["query_type"] == "predicate"
    q = dci.Query.parse(crit["query_type"], crit["query"])
    assert q.matches({"is_registrant": True, "area_id": {"code": "REGION_01"}, "age": 30})
    assert not q.matches({"is_registrant": True, "area_id": {"code": "REGION_02"}, "age": 30})
    assert not q.matches({"is_registrant": True, "area_id": {"code": "REGION_01"}, "age": 12})
    with pytest.raises(dci.ValidationError) as e:
        client.search_by_expression(conditions=[{"attribute": "a", "operator": "~", "value": 1}])
    assert e.value.field == "conditions[0].operator"


def test_search_by_date_range_in_opencrvs_format(stub):
    stub.answer = lambda path, body: (200, on_search(body, []))
    client = dci.DCIClient(dci.DataSource(stub.url, "me", max_retries=0))
    client.search_by_date_range("2024-01-01", "2024-12-31", event_type="BIRTH", use_opencrvs_format=True)
    item = stub.bodies()[-1]["message"]["search_request"][0]
    crit = item["search_criteria"]
    assert crit["query_type"] == "expression" and crit["reg_type"] == "birth"
    assert crit["query"] == {"type": "ns:org:QueryType:expression", "value": {"dateOfEvent": {"type": "range", "gte": "2024-01-01", "lte": "2024-12-31"}}}
    assert "reg_event_type" not in crit and item["locale"] == "eng" and "consent" in item
    client.search_by_date_range("2024-01-01", "2024-12-31")
    crit = stub.bodies()[-1]["message"]["search_request"][0]["search_criteria"]
    assert crit["query_type"] == "predicate"


def test_subscribe_and_unsubscribe_without_a_callback_uri(stub):
    stub.answer = ack
    client = dci.DCIClient(dci.DataSource(stub.url, "me", max_retries=0))
    out = client.subscribe("BIRTH")
    assert out["ack_status"] == "ACK"
    crit = stub.bodies("/registry/subscribe")[-1]["message"]["subscribe_request"][0]["subscribe_criteria"]
    assert crit["filter"] == {"type": "*", "value": "*"} and crit["notify_record_type"] == "Person"
    assert client.unsubscribe(["sub-1"])["ack_status"] == "ACK"
    assert stub.bodies("/registry/unsubscribe")[-1]["message"]["subscription_codes"] == ["sub-1"]
