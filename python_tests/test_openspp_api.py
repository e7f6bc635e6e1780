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


# ----------------------------------------------------------------------------- 4. services


class FakeModel:
    """``env["spp.dci.data.source"]``: ``get_by_code`` returns a record of flat fields."""

    def __init__(self, records):
        self.records = records

    def get_by_code(self, code):
        return self.records[code]


class Rec:
    def __init__(self, **fields):
        self.__dict__.update(fields)


def odoo_env(url):
    common = dict(base_url=url, our_sender_id="openspp.example.org", auth_type="none", max_retries=0,
                  our_callback_uri=False, receiver_id=False, verify_ssl=True, timeout=5)
    return {
        "spp.dci.data.source": FakeModel({
            "crvs_main": Rec(code="crvs_main", registry_type="ns:org:RegistryType:Civil", **common),
            "dr_main": Rec(code="dr_main", registry_type="ns:org:RegistryType:DR", **common),
            "ibr_main": Rec(code="ibr_main", registry_type="IBR", **common),
        })
    }


def person(uin, **extra):
    rec = {"identifier": [{"identifier_type": "UIN", "identifier_value": uin}], "name": {"given_name": "Ana", "surname": "Cruz"}}
    rec.update(extra)
    return rec


def test_services_built_the_openspp_way(stub):
    env = odoo_env(stub.url)
    crvs = dci.CRVSService(env, data_source_code="crvs_main")
    assert crvs.data_source.code == "crvs_main" and crvs.env is env
    assert dci.CRVSService(env).data_source.code == "crvs_main"  # OpenSPP's default code
    dr = dci.DRService(env, "dr_main")
    assert dr.data_source.registry_type == "dr"
    ibr = dci.IBRService(env["spp.dci.data.source"].get_by_code("ibr_main"), env)
    assert ibr.data_source.code == "ibr_main" and ibr.env is env
    with pytest.raises(dci.ValidationError) as e:
        dci.CRVSService(env, data_source_code="dr_main")
    assert e.value.field == "registry_type" and "crvs" in str(e.value)
    # The same with our DataSources as the model.
    sources = dci.DataSources([dci.DataSource(stub.url, "me", code="crvs_main", registry_type="CRVS")])
    assert dci.CRVSService({"spp.dci.data.source": sources}).data_source.base_url == stub.url


def test_crvs_check_death_unsubscribe_and_notifications(stub):
    stub.answer = lambda path, body: (
        (200, on_search(body, [person("1", death_date="2024-03-01")])) if path.endswith("/sync/search") else ack(path, body)
    )
    crvs = dci.CRVSService(odoo_env(stub.url))
    assert crvs.check_death("UIN", "1") is True
    assert crvs.unsubscribe_events(["sub-1", "sub-2"])["ack_status"] == "ACK"
    assert stub.bodies("/registry/unsubscribe")[-1]["message"]["subscription_codes"] == ["sub-1", "sub-2"]
    spec = {"message": {"transaction_id": "n", "notify_event": [{
        "reference_id": "r", "timestamp": "2024-12-02T00:00:00Z",
        "data": {"reg_event_type": "spdci-common:RegistryEventType:Death", "reg_records": [person("9", event_date="2024-12-01")]},
    }]}}
    events = crvs.process_notification(spec)
    assert [(e["event_type"], e["event_date"], e["identifier_type"], e["identifier_value"]) for e in events] == [
        ("death", "2024-12-01", "UIN", "9")]
    flat = {"header": {}, "message": {"event_type": "DEATH", "event_date": "2024-12-01",
                                      "identifiers": [{"type": "UIN", "value": "123456789"}, {"type": "DRN", "value": "D-1"}]}}
    (e,) = crvs.process_notification(flat)
    assert (e["event_type"], e["identifier_type"], e["identifier_value"], e["raw_data"]) == ("death", "UIN", "123456789", flat)
    with pytest.raises(dci.ValidationError):
        crvs.process_notification({"message": {}})


class Partner:
    def __init__(self, pid, ids):
        self.id = pid
        self.name = "Ana"
        self.reg_ids = [Rec(id_type_id=Rec(code=t, name=t.lower()), value=v) for t, v in ids]


def test_ibr_partner_duplication_enrollment_and_dict_results(stub):
    stub.answer = lambda path, body: (200, on_search(body, [person("1", programs=["Cash", {"name": "Food"}])]))
    ibr = dci.IBRService(odoo_env(stub.url)["spp.dci.data.source"].get_by_code("ibr_main"), None)
    r = ibr.check_duplication(Partner(7, [("UIN", "1"), ("BRN", "B-1")]))
    assert r["is_duplicate"] is True and r.is_duplicate and r["matched_programs"] == ["Cash", "Food"]
    assert "is_duplicate" in r and dict(r)["matched_programs"] == ["Cash", "Food"]
    assert len(json.loads(json.dumps(r))["raw_response"]) == 2  # one envelope per identifier
    sent = [b["message"]["search_request"][0]["search_criteria"]["query"] for b in stub.bodies()[-2:]]
    assert sent == [{"type": "UIN", "value": "1"}, {"type": "BRN", "value": "B-1"}]
    with pytest.raises(dci.ValidationError) as e:
        ibr.check_duplication(Partner(8, []))
    assert e.value.field == "partner"
    (b,) = ibr.search_beneficiary("UIN", "1")
    assert b["raw_data"]["identifier"][0]["identifier_value"] == "1" and b.get("name") == "Ana Cruz"
    assert b.get("missing", "default") == "default" and b["programs"] == ["Cash", "Food"]
    assert b["identifiers"] == [{"identifier_type": "UIN", "identifier_value": "1"}] and b["reference_id"]
    status = ibr.get_enrollment_status("UIN", "1")
    assert status["enrolled"] is True and status["programs"] == ["Cash", "Food"]
    assert status["beneficiary_info"]["name"] == "Ana Cruz"
    json.dumps(status)
    stub.answer = lambda path, body: (200, on_search(body, []))
    assert ibr.get_enrollment_status("UIN", "2") == {"enrolled": False, "programs": [], "beneficiary_info": None}


def test_duplication_result_and_beneficiary_info_defaults():
    r = dci.DuplicationResult()
    assert dict(r) == {"is_duplicate": False, "matched_programs": [], "raw_response": {}}
    assert json.loads(json.dumps(r)) == r.to_dict() and not r and "matched_programs" in r
    b = dci.BeneficiaryInfo("UIN", "1", name="Ana")
    assert b.get("name") == "Ana" and b.programs == [] and b.metadata == {} and b.get("x") is None
    assert json.loads(json.dumps(b))["identifier_value"] == "1"


def wg_record(uin):
    return person(uin, washington_group={"VIS_SS": 3, "MOB_SS": 1}, last_updated="2024-11-15")


def test_dr_partner_lookups_assessment_and_sync(stub):
    stub.answer = lambda path, body: (200, on_search(body, [wg_record("U-1")]))
    dr = dci.DRService(odoo_env(stub.url), "dr_main")
    partner = Partner(3, [("BRN", "B-1"), ("UIN", "U-1")])
    status = dr.get_disability_status(partner)
    sent = stub.bodies()[-1]["message"]["search_request"][0]["search_criteria"]["query"]
    assert sent == {"type": "UIN", "value": "U-1"}  # UIN is preferred over the first id
    assert status is not None and "has_disability" in status
    assert dr.get_disability_status("UIN", "U-1") == status
    assessment = dr.get_functional_assessment("UIN", "U-1")
    assert assessment == {"Vision": 3, "Mobility": 1, "assessment_date": "2024-11-15"}
    assert status["functional_scores"] == {"Mobility": 1, "Vision": 3} and status["has_disability"] is True
    synced = dr.sync_disability_data(partner)
    assert synced["state"] == "synced" and synced["found"] is True
    assert synced["has_disability"] == status["has_disability"] and synced["raw_data"] == status["raw_record"]
    assert dr.get_disability_status(Partner(4, [])) is None and dr.is_pwd(Partner(4, [])) is False
    stub.answer = lambda path, body: (200, on_search(body, []))
    assert dr.get_functional_assessment("UIN", "X") is None
    empty = dr.sync_disability_data("UIN", "X")
    assert (empty["has_disability"], empty["found"], empty["functional_scores"], empty["raw_data"]) == (False, False, {}, {})


# ----------------------------------------------------------------------------- 5. signing


def search_message():
    return dci.search_request(dci.Query.idtype_value("UIN", "1"), page_size=1)


def test_signer_from_pem_bytes_and_algorithm_name():
    key = dci.SigningKey.from_ed25519_seed(SEED)
    pem = key.to_pem().encode()
    s = dci.Signer(pem, "openspp.example.org", "k1", "ed25519")
    assert s.kid == "openspp.example.org|k1|ed25519" and s.algorithm == "ed25519"
    assert dci.Signer(SEED, "openspp.example.org", "k1").verifying_key() == key.verifying_key()
    with pytest.raises(dci.ValidationError) as e:
        dci.Signer(pem, "openspp.example.org", "k1", "rsa-sha256")
    assert e.value.field == "algorithm"
    signer = dci.DCISigner(private_key=pem, sender_id="openspp.example.org", key_id="k1", algorithm="ed25519")
    env = dci.envelope("search", search_message(), sender_id="openspp.example.org")
    sig = signer.sign(env["header"], env["message"])
    assert sig.startswith('keyId="openspp.example.org|k1|ed25519"') or 'openspp.example.org|k1|ed25519' in sig
    # OpenSPP's verify(signature, header, message, key) shape: True / False.
    assert dci.verify(sig, env["header"], env["message"], key.verifying_key()) is True
    assert dci.verify_signature(sig, env["header"], env["message"], key.verifying_key()) is True
    tampered = dict(env["message"], transaction_id="other")
    assert dci.verify(sig, env["header"], tampered, key.verifying_key()) is False
    verifier = dci.DCIVerifier(key.verifying_key().to_pem().encode())
    assert verifier.verify(sig, env["header"], env["message"]) is True
    assert verifier.verify(sig, env["header"], tampered) is False


def test_jwks_fetch_by_url(stub):
    key = dci.SigningKey.from_ed25519_seed(SEED)
    jwks = dci.Jwks([("reg|k1|ed25519", key.verifying_key())]).to_dict()
    stub.answer = lambda path, body: (200, jwks) if path == "/.well-known/jwks.json" else (404, {})
    got = dci.Jwks.fetch(stub.url + "/.well-known/jwks.json")
    assert got.kids() == ["reg|k1|ed25519"] and got.find("reg|k1|ed25519") == key.verifying_key()
    assert dci.fetch_jwks(stub.url + "/.well-known/jwks.json").to_dict() == jwks
    with pytest.raises(dci.SignatureError) as e:
        dci.Jwks.fetch(stub.url + "/missing")
    assert "404" in str(e.value) and "/missing" in str(e.value)


# ----------------------------------------------------------------------------- section 3


def test_verify_binds_the_kid_to_the_header_sender():
    key = dci.SigningKey.from_ed25519_seed(SEED)
    other = dci.Signer(key, "someone-else", "k1")
    env = dci.envelope("search", search_message(), sender_id="openspp.example.org")
    other.sign(env)
    with pytest.raises(dci.SignatureError) as e:
        dci.verify(env, key.verifying_key())
    assert e.value.kind == "signature_invalid"
    assert "someone-else" in str(e.value) and "openspp.example.org" in str(e.value)
    assert dci.verify(env, key.verifying_key(), bind_sender=False)["kid"] == "someone-else|k1|ed25519"
    assert dci.verify(env["signature"], env["header"], env["message"], key.verifying_key()) is False
    own = dci.envelope("search", search_message(), sender_id="openspp.example.org",
                       signer=dci.Signer(key, "openspp.example.org", "k1"))
    assert dci.verify(own, key.verifying_key())["kid"] == "openspp.example.org|k1|ed25519"


def test_envelope_callback_actions_status_and_unknown_actions():
    msg = {
        "transaction_id": "t-1",
        "correlation_id": "c-1",
        "search_response": [{"reference_id": "r-1", "timestamp": "2025-01-01T00:00:00Z", "status": "succ",
                             "data": {"reg_records": []}}],
    }
    env = dci.envelope("on-search", msg, sender_id="registry.example.org", receiver_id="openspp.example.org",
                       status="succ", completed_count=1)
    h = env["header"]
    assert (h["action"], h["status"], h["total_count"], h["completed_count"]) == ("on-search", "succ", 1, 1)
    dci.validate(env)
    with pytest.raises(dci.ValidationError) as e:
        dci.envelope("on-search", msg, sender_id="registry.example.org")
    assert e.value.field == "header.status"
    with pytest.raises(dci.ValidationError) as e:
        dci.envelope("on_search", msg, sender_id="registry.example.org", status="succ")
    assert e.value.field == "header.action" and "on-search" in str(e.value)
    with pytest.raises(dci.ValidationError) as e:
        dci.envelope("search", search_message(), sender_id="me", status="succ")
    assert e.value.field == "header.status"


OPENSPP2_HEADER = ["version", "message_id", "message_ts", "action", "sender_id", "sender_uri", "receiver_id",
                   "total_count", "is_msg_encrypted", "meta"]


def test_envelope_and_signer_take_the_dialect():
    key = dci.SigningKey.from_ed25519_seed(SEED)
    env = dci.envelope("search", search_message(), sender_id="openspp.example.org", dialect="openspp2",
                       signer=dci.Signer(key, "openspp.example.org", "k1"))
    assert list(env["header"]) == OPENSPP2_HEADER
    assert env["header"]["sender_uri"] is None and env["header"]["receiver_id"] == ""
    assert env["header"]["message_ts"].endswith("Z") and "+00:00" not in env["header"]["message_ts"]
    assert dci.verify(env, key.verifying_key())["kid"] == "openspp.example.org|k1|ed25519"
    # A host's own envelope: the openspp2 Signer writes the header's normal form, then signs.
    own = {"signature": "", "header": {"message_id": "m-1", "message_ts": "2025-01-01T00:00:00Z", "action": "search",
                                       "sender_id": "openspp.example.org", "total_count": 1},
           "message": search_message()}
    s = dci.Signer(key, "openspp.example.org", "k1", dialect="openspp2")
    assert s.dialect == "openspp2"
    s.sign(own)
    assert list(own["header"]) == OPENSPP2_HEADER and own["header"]["is_msg_encrypted"] is False
    assert dci.verify(own, key.verifying_key())["profile"] == "spdci"
    with pytest.raises(dci.ValidationError) as e:
        dci.Signer(key, "x", "k", dialect="openspp3")
    assert e.value.field == "dialect"


def test_query_parse_refuses_grammars_it_cannot_evaluate():
    for qt, q in [
        ("graphql", "{ person { name } }"),
        ("ns:org:QueryType:graphql", "{ a }"),
        ("expression", {"type": "ns:org:QueryType:graphql", "value": "{ a }"}),
    ]:
        with pytest.raises(dci.ValidationError) as e:
            dci.Query.parse(qt, q)
        assert e.value.kind == "query" and "graphql" in str(e.value)
    assert dci.Query.parse("ns:org:QueryType:idtype-value", {"type": "UIN", "value": "1"}).matches(
        {"identifier": [{"identifier_type": "UIN", "identifier_value": "1"}]})
    assert dci.Query.graphql("{ a }").query["type"] == "ns:org:QueryType:graphql"  # still buildable, to send
