"""The example Odoo module (bindings/python/examples/spp_dci_libdci) run against a small fake of
Odoo (python_tests/fake_odoo) and `dci serve --demo` (the `registry` fixture).

The models OpenSPP 2 itself defines (spp.dci.data.source, spp.dci.signing.key, res.partner's
reg_ids, spp.registry.id with id_type_id) are declared here with the field names OpenSPP's
documentation gives; the module's extension is imported on top. Every request the module sends
goes through a recording proxy, so the tests check the bytes on the wire: signed, and in
OpenSPP 2's header normal form.
"""

import http.server
import json
import pathlib
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

import dci

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "fake_odoo"))
sys.path.insert(0, str(HERE.parent / "bindings" / "python" / "examples"))

from odoo import fields, models  # noqa: E402
from odoo.exceptions import UserError  # noqa: E402


# ------------------------------------------------------------------ what OpenSPP 2 defines


class SigningKey(models.Model):
    _name = "spp.dci.signing.key"
    name = fields.Char()
    key_id = fields.Char()
    private_key = fields.Text()
    state = fields.Selection([("draft", "Draft"), ("active", "Active"), ("revoked", "Revoked")], default="active")


class DataSource(models.Model):
    _name = "spp.dci.data.source"
    name = fields.Char()
    code = fields.Char()
    registry_type = fields.Char()  # a Selection of RegistryType constants in OpenSPP
    base_url = fields.Char()
    auth_type = fields.Selection([("none", "None"), ("bearer", "Bearer"), ("basic", "Basic"), ("oauth2", "OAuth2")],
                                 default="none")
    bearer_token = fields.Char()
    oauth2_client_id = fields.Char()
    oauth2_client_secret = fields.Char()
    oauth2_scope = fields.Char()
    oauth2_token_url = fields.Char()
    signing_key_id = fields.Many2one("spp.dci.signing.key")
    our_sender_id = fields.Char()
    our_callback_uri = fields.Char()
    receiver_id = fields.Char()
    search_endpoint = fields.Char(default="/registry/sync/search")
    subscribe_endpoint = fields.Char(default="/registry/subscribe")
    verify_ssl = fields.Boolean(default=True)
    timeout = fields.Integer(default=30)
    active = fields.Boolean(default=True)
    state = fields.Selection([("draft", "Draft"), ("active", "Active"), ("error", "Error")], default="draft")
    last_error = fields.Text()


class VocabularyCode(models.Model):
    _name = "spp.vocabulary.code"
    name = fields.Char()
    code = fields.Char()


class RegistryId(models.Model):
    _name = "spp.registry.id"
    partner_id = fields.Many2one("res.partner")
    id_type_id = fields.Many2one("spp.vocabulary.code")
    value = fields.Char()


class ConfigParameter(models.Model):
    """Odoo's ir.config_parameter (system parameters), as far as the module reads it."""

    _name = "ir.config_parameter"
    key = fields.Char()
    value = fields.Char()

    def get_param(self, key, default=False):
        found = self.search([("key", "=", key)], limit=1)
        return found.value if found else default

    def set_param(self, key, value):
        found = self.search([("key", "=", key)], limit=1)
        if found:
            found.write({"value": value})
        else:
            self.create({"key": key, "value": value})


class Partner(models.Model):
    _name = "res.partner"
    name = fields.Char()
    reg_ids = fields.One2many("spp.registry.id", "partner_id")


# The module, as Odoo would load it (its models extend the ones above).
import spp_dci_libdci  # noqa: E402
from spp_dci_libdci.controllers.callback import DciCallbackController  # noqa: E402
from spp_dci_libdci.controllers.registry import DciRegistryController  # noqa: E402
from spp_dci_libdci.models.data_source import DciDataSource  # noqa: E402
from spp_dci_libdci.services import CRVSService, DRService, IBRService  # noqa: E402

from odoo import Environment, http as odoo_http  # noqa: E402

OPENSPP2_HEADER = ["version", "message_id", "message_ts", "action", "sender_id", "sender_uri", "receiver_id",
                   "total_count", "is_msg_encrypted", "meta"]


# ------------------------------------------------------------------ a recording proxy


class Recorder:
    """Forwards every request to the registry and keeps (method, path, body) of each."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.requests = []
        self.deviations = []  # (path, X-DCI-Deviations of the answer): strict mode, on with --demo
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def _forward(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                recorder.requests.append((self.command, self.path, body))
                keep = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length", "connection")}
                req = urllib.request.Request(recorder.upstream + self.path, data=body, headers=keep, method=self.command)
                try:
                    with urllib.request.urlopen(req, timeout=60) as r:
                        status, headers, data = r.status, r.headers.items(), r.read()
                except urllib.error.HTTPError as e:
                    status, headers, data = e.code, e.headers.items(), e.read()
                recorder.deviations.append((self.path, {k.lower(): v for k, v in headers}.get("x-dci-deviations")))
                self.send_response(status)
                for k, v in headers:
                    if k.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _forward

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count(self, path_end):
        return sum(1 for _m, p, _b in self.requests if p.endswith(path_end))

    def bodies(self, path_end):
        return [json.loads(b) for m, p, b in self.requests if m == "POST" and p.endswith(path_end) and b]


@pytest.fixture(scope="module")
def proxy(registry):
    rec = Recorder(registry.url)
    yield rec
    rec.server.shutdown()
    rec.server.server_close()


@pytest.fixture
def env(registry, proxy):
    env = Environment("openspp")
    key = env["spp.dci.signing.key"].create({
        "name": "demo", "key_id": "demo-key-1", "private_key": pathlib.Path(registry.sender_key_path).read_text(),
    })
    common = {
        "auth_type": "oauth2",
        "oauth2_client_id": registry.client_id,
        "oauth2_client_secret": registry.client_secret,
        "oauth2_token_url": proxy.url + "/oauth2/client/token",
        "signing_key_id": key,
        "our_sender_id": registry.sender_id,
        "registry_jwks_url": registry.url + "/.well-known/jwks.json",
    }
    sources = env["spp.dci.data.source"]
    # registry_type as OpenSPP 2 stores it (the spec's namespaced value) and as older modules did.
    sources.create({"name": "CRVS", "code": "crvs_main", "registry_type": "ns:org:RegistryType:Civil",
                    "base_url": proxy.url, **common})
    sources.create({"name": "IBR", "code": "ibr_main", "registry_type": "ns:org:RegistryType:IBR",
                    "base_url": proxy.url + "/ibr", **common})
    sources.create({"name": "DR", "code": "dr_main", "registry_type": "DR", "base_url": proxy.url + "/dr", **common})
    return env


def partner(env, name, *ids):
    """A registrant with reg_ids; `ids` are (vocabulary code, its display name, value)."""
    p = env["res.partner"].create({"name": name})
    for code, label, value in ids:
        id_type = env["spp.vocabulary.code"].create({"name": label, "code": code})
        env["spp.registry.id"].create({"partner_id": p, "id_type_id": id_type, "value": value})
    return p


def records(response):
    return response["message"]["search_response"][0]["data"]["reg_records"]


def uin_of(record):
    return next(i["identifier_value"] for i in record["identifier"] if i["identifier_type"] == "UIN")


def assert_openspp2_signed(body, registry):
    """The envelope is in OpenSPP 2's header normal form and its signature verifies."""
    assert list(body["header"]) == OPENSPP2_HEADER
    assert body["header"]["is_msg_encrypted"] is False
    ts = body["header"]["message_ts"]
    assert ts.endswith("Z") and "+00:00" not in ts
    key = dci.SigningKey.load(registry.sender_key_path).verifying_key()
    checked = dci.verify(json.dumps(body).encode(), key)
    assert checked["kid"] == f"{registry.sender_id}|demo-key-1|ed25519"
    assert checked["profile"] == "spdci"


# ------------------------------------------------------------------ the data source model


def test_record_maps_to_a_data_source(env):
    crvs = env["spp.dci.data.source"].get_by_code("crvs_main")
    assert isinstance(crvs, DciDataSource) and crvs.code == "crvs_main"
    ds = crvs.to_libdci()
    assert ds.registry_type == "crvs" and ds.reg_type == "ns:org:RegistryType:Civil"
    assert ds.dialect == "openspp2"  # the module's field, defaulted for OpenSPP 2 peers
    assert ds.signing_key_id == "demo-key-1"
    assert ds.receiver_id is None and ds.our_callback_uri is None  # False on the record = unset
    assert ds.timeout == 30 and ds.verify_ssl is True
    assert ds.search_endpoint == "/registry/sync/search"
    dr = env["spp.dci.data.source"].get_by_code("dr_main").to_libdci()
    assert dr.registry_type == "dr" and dr.reg_type == "ns:org:RegistryType:DR"
    ibr = env["spp.dci.data.source"].get_by_code("ibr_main").to_libdci()
    assert ibr.registry_type == "ibr"
    assert not env["spp.dci.data.source"].get_by_code("nope")


def test_dialect_comes_from_the_record(env, registry, proxy):
    crvs = env["spp.dci.data.source"].get_by_code("crvs_main")
    crvs.write({"dialect": "spdci"})
    assert crvs.to_libdci().dialect == "spdci"
    # The spec's own form: still signed, but not the header OpenSPP 2 re-serialises.
    CRVSService(env).verify_birth("UIN", "TEST-001")
    sent = proxy.bodies("/registry/sync/search")[-1]
    assert list(sent["header"]) != OPENSPP2_HEADER
    key = dci.SigningKey.load(registry.sender_key_path).verifying_key()
    assert dci.verify(json.dumps(sent).encode(), key)["kid"].startswith(registry.sender_id + "|")
    crvs.write({"dialect": "opencrvs"})
    assert crvs.to_libdci().dialect == "opencrvs"


def test_bad_record_is_a_user_error_naming_the_field(env):
    crvs = env["spp.dci.data.source"].get_by_code("crvs_main")
    crvs.write({"registry_type": "ns:org:RegistryType:Nope"})
    with pytest.raises(UserError) as e:
        crvs.to_libdci()
    assert "registry_type" in str(e.value)
    assert isinstance(e.value.__cause__, dci.ValidationError)
    with pytest.raises(UserError) as e:
        crvs.libdci_client()
    assert "registry_type" in str(e.value)
    revoked = env["spp.dci.data.source"].get_by_code("dr_main")
    revoked.signing_key_id.write({"state": "revoked"})
    with pytest.raises(UserError) as e:
        revoked.test_connection()
    assert "signing_key_id" in str(e.value) and "not active" in str(e.value)


def test_client_cached_per_record_until_edited(env):
    crvs = env["spp.dci.data.source"].get_by_code("crvs_main")
    client = crvs.libdci_client()
    assert crvs.libdci_client() is client
    crvs.write({"timeout": 20})
    fresh = crvs.libdci_client()
    assert fresh is not client and fresh.data_source.timeout == 20


def test_test_connection_and_token_cache(env, proxy):
    crvs = env["spp.dci.data.source"].get_by_code("crvs_main")
    report = crvs.test_connection()
    assert report["reachable"] is True and report["authenticated"] is True
    CRVSService(env).verify_birth("UIN", "TEST-001")
    tokens = proxy.count("/oauth2/client/token")
    CRVSService(env).verify_birth("UIN", "TEST-001")
    assert proxy.count("/oauth2/client/token") == tokens  # the cached token is reused
    crvs.clear_oauth2_token_cache()
    CRVSService(env).verify_birth("UIN", "TEST-001")
    assert proxy.count("/oauth2/client/token") == tokens + 1  # the cleared cache fetched a new one


def test_wrong_credentials_are_a_user_error(env):
    crvs = env["spp.dci.data.source"].get_by_code("crvs_main")
    crvs.write({"oauth2_client_secret": "wrong"})
    with pytest.raises(UserError) as e:
        CRVSService(env).is_deceased("UIN", "TEST-001")
    assert isinstance(e.value.__cause__, dci.AuthError)
    with pytest.raises(UserError) as e:
        crvs.test_connection()
    assert isinstance(e.value.__cause__, dci.AuthError)


# ------------------------------------------------------------------ the services


def test_crvs_service_signs_in_the_openspp2_dialect(env, registry, proxy):
    crvs = CRVSService(env, data_source_code="crvs_main")
    before = len(proxy.bodies("/registry/sync/search"))
    birth = crvs.verify_birth("UIN", "TEST-001")
    sent = proxy.bodies("/registry/sync/search")[before:]
    assert len(sent) == 1
    assert_openspp2_signed(sent[0], registry)
    # The registry's strict mode found nothing it merely tolerated in the request.
    assert proxy.deviations[-1] == ("/registry/sync/search", "[]")
    query = sent[0]["message"]["search_request"][0]["search_criteria"]
    assert query["reg_type"] == "ns:org:RegistryType:Civil"
    assert query["query_type"] == "idtype-value" and query["query"] == {"type": "UIN", "value": "TEST-001"}
    raw = records(env["spp.dci.data.source"].get_by_code("crvs_main").libdci_client().search_by_id("UIN", "TEST-001"))[0]
    assert birth["birth_date"] == raw["birth_date"]
    assert birth["given_name"] == raw["name"]["given_name"]
    assert crvs.verify_birth("UIN", "no-such-person") is None
    assert crvs.is_deceased("UIN", "TEST-001") is ("death_date" in raw)


def test_crvs_subscribe_events(env, registry, proxy):
    ack = CRVSService(env).subscribe_events(["spdci-common:RegistryEventType:LiveBirth"])
    assert ack["ack_status"] == "ACK" and ack["transaction_id"]
    [sent] = proxy.bodies("/registry/subscribe")[-1:]
    assert sent["header"]["action"] == "subscribe"
    assert_openspp2_signed(sent, registry)


def test_ibr_service_reads_id_type_id_code(env, registry, proxy):
    source = env["spp.dci.data.source"].get_by_code("ibr_main")
    client = source.libdci_client()
    ben = records(client.search_by_expression(dci.Query.expression({"enrollment_status": {"$eq": "active"}}), page_size=1))[0]
    uin = ben["person_identifier"]["identifier_value"]
    # The vocabulary's display name differs from its code: the code is what DCI sends.
    enrolled = partner(env, "Ana", ("UIN", "Unique Identification Number", uin))
    ibr = IBRService(source, env)
    before = len(proxy.bodies("/ibr/registry/sync/search"))
    result = ibr.check_duplication(enrolled)
    assert result["is_duplicate"] is True
    assert ben["programme"]["programme_name"] in result["matched_programs"]
    sent = proxy.bodies("/ibr/registry/sync/search")[before:]
    assert sent and uin in json.dumps(sent[0]["message"]) and "Unique Identification Number" not in json.dumps(sent)
    assert_openspp2_signed(sent[0], registry)
    stranger = partner(env, "Bo", ("UIN", "Unique Identification Number", "no-such-person"))
    assert ibr.check_duplication(stranger)["is_duplicate"] is False
    [info] = ibr.search_beneficiary("UIN", uin)
    assert info.identifier_value == uin and ben["programme"]["programme_name"] in info["programs"]


def test_dr_service(env, registry, proxy):
    client = env["spp.dci.data.source"].get_by_code("dr_main").libdci_client()
    person = records(client.search_by_expression(dci.Query.expression({"disability_status": {"$eq": "Approved"}}), page_size=1))[0]
    p = partner(env, "Cy", ("UIN", "Unique Identification Number", uin_of(person)))
    dr = DRService(env, "dr_main")
    status = dr.get_disability_status(p)
    assert status["has_disability"] is True and status["disability_level"] == person["disability_level"]
    assert dr.is_pwd(p) is True
    scores = dr.get_functional_scores(p)
    assert scores and set(scores.values()) == set(person["washington_group"].values())
    assert_openspp2_signed(proxy.bodies("/dr/registry/sync/search")[-1], registry)
    nobody = partner(env, "Di", ("UIN", "Unique Identification Number", "no-such-person"))
    assert dr.get_disability_status(nobody) is None and dr.is_pwd(nobody) is False


def test_service_errors_are_user_errors(env):
    with pytest.raises(UserError) as e:
        CRVSService(env, data_source_code="crvs_ph")
    assert "crvs_ph" in str(e.value)
    # A service over a source of another registry type is refused, naming both.
    with pytest.raises(UserError) as e:
        CRVSService(env, data_source_code="dr_main")
    assert str(e.value) == "Data source 'dr_main' is a dr registry, not crvs (registry_type)"
    with pytest.raises(UserError) as e:
        IBRService(env["spp.dci.data.source"].get_by_code("crvs_main"), env)
    assert "is a crvs registry, not ibr" in str(e.value)
    with pytest.raises(UserError) as e:
        DRService(env).is_pwd(partner(env, "Ed"))
    assert "Ed has no identifier" in str(e.value)


# ------------------------------------------------------------------ the callback controller


class OdooRoutes:
    """Serves /dci/<code>/<action> the way Odoo would: sets `request`, calls the controller."""

    def __init__(self, env):
        self.answers = []
        lock = threading.Lock()
        routes = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                _, prefix, code, *_action = self.path.split("/")
                with lock:
                    odoo_http.request.env = env
                    odoo_http.request.httprequest = type("HttpRequest", (), {
                        "get_data": staticmethod(lambda: body), "headers": dict(self.headers.items())})()
                    answer = DciCallbackController().callback(code)
                routes.answers.append((self.path, answer.status, json.loads(answer.data) if answer.status == 200 else answer.data))
                self.send_response(answer.status)
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                data = answer.data.encode()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/dci"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, path, timeout=60):
        """(status, answer) of every call to `path`, once there is one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [(s, a) for p, s, a in self.answers if p == path]
            if got:
                return got
            time.sleep(0.05)
        return []

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def routes(env):
    r = OdooRoutes(env)
    env["spp.dci.data.source"].get_by_code("crvs_main").write({"our_callback_uri": r.url + "/crvs_main"})
    yield r
    r.close()


def test_callback_controller_answers_an_async_search(env, registry, routes):
    client = env["spp.dci.data.source"].get_by_code("crvs_main").libdci_client()
    ack = client.search_by_id("UIN", "TEST-001", async_mode=True)
    assert ack["ack_status"] == "ACK"
    # The registry posts on-search to the route; the controller hands it to the same client.
    result = client.wait_for(ack["transaction_id"], timeout=60)
    [item] = result["result"]["items"]
    assert [uin_of(r) for r in item["records"]] == ["TEST-001"]
    assert result["result"]["signature"]["verified"] is True
    # wait_for wakes inside the controller's call: its answer is recorded just after.
    [(status, answer)] = routes.wait("/dci/crvs_main/on-search")
    assert status == 200 and answer["message"]["ack_status"] == "ACK"


def test_callback_controller_logs_a_notify(env, registry, routes, caplog):
    caplog.set_level("INFO", logger="spp_dci_libdci.controllers.callback")
    ack = CRVSService(env).subscribe_events(["spdci-common:RegistryEventType:LiveBirth"])
    client = env["spp.dci.data.source"].get_by_code("crvs_main").libdci_client()
    client.wait_for(ack["transaction_id"], timeout=60)
    newborn = {"@type": "Person", "identifier": [{"identifier_type": "UIN", "identifier_value": "ODOO-NEWBORN-1"}],
               "name": {"given_name": "Ola", "surname": "Test"}, "sex": "female", "birth_date": "2025-11-02"}
    registry.post_records({"registry": "crvs", "record_type": "Person", "event_type": "LiveBirth", "records": [newborn]})
    notified = routes.wait("/dci/crvs_main/notify")
    assert notified and notified[0][0] == 200
    assert any("DCI notify" in r.getMessage() and "with 1 items" in r.getMessage() for r in caplog.records)


def test_callback_controller_unknown_source(env, routes):
    req = urllib.request.Request(routes.url + "/nope/on-search", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 404 and e.value.read() == b"unknown data source"


# ------------------------------------------------------------------ the module as a DCI registry


class OdooServer:
    """Serves DciRegistryController's routes over HTTP, one request at a time, as Odoo would."""

    def __init__(self, env):
        self.env = env
        lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    odoo_http.request.env = server.env
                    odoo_http.request.httprequest = type("HttpRequest", (), {
                        "get_data": staticmethod(lambda: body), "headers": self.headers, "path": self.path})()
                    answer = DciRegistryController().registry()
                data = answer.data.encode()
                self.send_response(answer.status)
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/dci_api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def post(self, path, body, token="odoo-token"):
        req = urllib.request.Request(self.url + path, data=body, headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as e:
            return e.code, json.load(e)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def served():
    """An Odoo database serving DCI: our key and parameters, one sender, three registrants."""
    env = Environment("registry")
    server_key, sender_key = dci.SigningKey.generate(), dci.SigningKey.generate()
    env["spp.dci.signing.key"].create({"name": "server", "key_id": "odoo-key-1", "private_key": server_key.to_pem()})
    params = env["ir.config_parameter"]
    for k, v in [("server_id", "openspp.example.org"), ("server_key_id", "odoo-key-1"),
                 ("allow_private_callbacks", "True"), ("bearer_token", "odoo-token")]:
        params.set_param("spp_dci_libdci." + k, v)
    env["spp.dci.sender"].create({
        "name": "Social registry", "sender_id": "social.example.org",
        "jwks": json.dumps({"keys": [sender_key.verifying_key().to_jwk("sr-key-1")]}),
        "fields_shared": "identifier,name",
    })
    partner(env, "Ada Lovelace", ("UIN", "National ID", "ODOO-1"))
    partner(env, "Alan Turing", ("UIN", "National ID", "ODOO-2"), ("BRN", "Birth registration", "B-77"))
    partner(env, "Grace Hopper", ("UIN", "National ID", "ODOO-3"))
    server = OdooServer(env)
    # The registry's keys as it publishes them (DciRegistryController.jwks).
    jwks = {"keys": [server_key.verifying_key().to_jwk("openspp.example.org|odoo-key-1|ed25519")]}
    source = dci.DataSource(server.url, "social.example.org", code="odoo", registry_type="crvs", auth_type="bearer",
                            bearer_token="odoo-token", signing_key=sender_key, signing_key_id="sr-key-1",
                            registry_jwks=jwks)
    yield env, server, source, server_key, sender_key
    server.close()


def test_registry_controller_sync_search_and_txn_status(served):
    env, server, source, server_key, _ = served
    client = dci.DCIClient(source)
    response = client.search_by_id("BRN", "B-77")
    [rec] = records(response)
    assert rec == {"@type": "Person", "name": {"full_name": "Alan Turing"},
                   "identifier": [{"identifier_type": "UIN", "identifier_value": "ODOO-2"},
                                  {"identifier_type": "BRN", "identifier_value": "B-77"}]}
    v = dci.verify(response, server_key.verifying_key())
    assert v["kid"] == "openspp.example.org|odoo-key-1|ed25519"
    assert response["header"]["receiver_id"] == "social.example.org"
    odoo_http.request.env = env
    assert json.loads(DciRegistryController().jwks().data) == source.to_dict()["registry_key"]["jwks"]
    # A predicate goes over every registrant (Query.matches).
    pred = client.search_by_expression(dci.Query.expression({"name.full_name": {"$eq": "Grace Hopper"}}))
    assert [uin_of(r) for r in records(pred)] == ["ODOO-3"]
    # The answer is kept for txn status.
    status = client.txn_status(response["message"]["transaction_id"])
    dci.verify(status, server_key.verifying_key())
    txn = status["message"]["txnstatus_response"]["txn_status"]
    assert [uin_of(r) for r in txn["search_response"][0]["data"]["reg_records"]] == ["ODOO-2"]
    # Every message id received is in spp.dci.seen.message (the kit's replay callable).
    seen = env["spp.dci.seen.message"].search([("sender_id", "=", "social.example.org")])
    assert len(seen) == 3


def test_registry_controller_async_search_queues_the_callback(served):
    env, _server, source, _, _ = served
    with dci.CallbackListener(port=0) as listener:
        client = dci.DCIClient(source.replace(our_callback_uri=listener.url))
        listener.start(client)
        ack = client.search_by_id("UIN", "ODOO-1", async_mode=True)
        assert ack["ack_status"] == "ACK"
        [job] = env["spp.dci.outbox"].search([("state", "=", "pending")])
        assert job.url == listener.url + "/on-search"
        # The cron delivers it; the listener verifies it and wakes the waiting caller.
        assert env["spp.dci.outbox"].send_pending() == 1
        assert job.state == "sent"
        result = listener.wait_for(ack["transaction_id"], timeout=30)
        [item] = result["result"]["items"]
        assert [uin_of(r) for r in item["records"]] == ["ODOO-1"]
        assert result["result"]["signature"]["verified"] is True


def test_registry_controller_refusals(served):
    env, server, source, _, sender_key = served
    signer = dci.Signer(sender_key, "social.example.org", "sr-key-1")

    def search(sender_uri=None):
        msg = dci.search_request([dci.Query.idtype_value("UIN", "ODOO-1")])
        env_ = dci.envelope("search", msg, sender_id="social.example.org", sender_uri=sender_uri, signer=signer)
        return json.dumps(env_).encode()

    status, body = server.post("/registry/sync/search", search(), token="wrong")
    assert status == 401 and body["errors"][0]["code"] == "err.request.unauthorized"
    once = search()
    assert server.post("/registry/sync/search", once)[0] == 200
    status, body = server.post("/registry/sync/search", once)
    assert status == 409 and body["header"]["status_reason_code"] == "rjct.message_id.duplicate"
    # A callback address on a private network, once private callbacks are off: refused now.
    env["ir.config_parameter"].set_param("spp_dci_libdci.allow_private_callbacks", "False")
    status, body = server.post("/registry/search", search("http://10.1.2.3/dci"))
    assert status == 400 and body["errors"][0]["code"] == "err.sender_uri.invalid"
    assert not env["spp.dci.outbox"].search([])
    env["spp.dci.sender"].search([]).write({"active": False})
    status, body = server.post("/registry/sync/search", search())
    assert status == 403 and body["errors"][0]["code"] == "err.sender_id.invalid"
