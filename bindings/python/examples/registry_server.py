"""A minimal DCI registry on the Python standard library, built on `dci.Registry`.

It serves a few demo person records (a CRVS registry) with:

- `POST /oauth2/client/token`: OAuth2 client credentials (form fields or HTTP Basic), a bearer
  token bound to the client's sender;
- `POST /registry/sync/search`: sync search, answered with the signed on-search envelope;
- `POST /registry/search`: async search: an ACK now, the signed on-search POSTed to the
  checked callback URL (the request's `sender_uri`) from a worker thread;
- `POST /registry/sync/txn/status` and `/registry/txn/status`: the stored answer of an earlier
  search, by transaction or correlation id (from an in-memory log);
- `POST /registry/subscribe` and `/registry/unsubscribe`: subscriptions kept in memory,
  answered by callback (the records here never change, so no notify is ever sent);
- `GET /.well-known/jwks.json`, `GET /healthz`.

Everything a DCI server must get right (the sender registry, signature checks over the bytes
as received, replay protection, clock skew, the spec checks, the exact rejection bodies and
HTTP statuses, signed answers, pagination, the sender's data sharing fields, where a callback
may go) is `dci.Registry`'s. What is left here is the host's part: tokens, the records and
matching them (`dci.Query.matches`), the transaction log and HTTP.

Run it:

    python registry_server.py --port 8090

It prints the client credentials, the demo sender's id and the path of its signing key, as
`dci serve --demo` does.
"""

import argparse
import base64
import datetime
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dci

PEOPLE = [
    {
        "@type": "Person",
        "identifier": [{"identifier_type": "UIN", "identifier_value": "UIN-1001"}],
        "name": {"given_name": "Amina", "surname": "Okafor"},
        "sex": "female",
        "birth_date": "1990-04-12",
        "address": {"locality": "Lagos"},
    },
    {
        "@type": "Person",
        "identifier": [{"identifier_type": "UIN", "identifier_value": "UIN-1002"}],
        "name": {"given_name": "Jonas", "surname": "Berg"},
        "sex": "male",
        "birth_date": "1985-11-03",
        "address": {"locality": "Oslo"},
    },
    {
        "@type": "Person",
        "identifier": [{"identifier_type": "UIN", "identifier_value": "UIN-1003"}],
        "name": {"given_name": "Mei", "surname": "Tanaka"},
        "sex": "female",
        "birth_date": "2001-02-28",
        "address": {"locality": "Osaka"},
    },
    {
        "@type": "Person",
        "identifier": [{"identifier_type": "UIN", "identifier_value": "UIN-1004"}],
        "name": {"given_name": "Carlos", "surname": "Mendes"},
        "sex": "male",
        "birth_date": "1972-07-19",
        "address": {"locality": "Porto"},
    },
    {
        "@type": "Person",
        "identifier": [{"identifier_type": "UIN", "identifier_value": "UIN-1005"}],
        "name": {"given_name": "Lena", "surname": "Fischer"},
        "sex": "female",
        "birth_date": "1998-09-09",
        "address": {"locality": "Bremen"},
    },
]

TOKEN_SECONDS = 3600


def now_ts():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DemoRegistry:
    """The host: a `dci.Registry`, OAuth2 clients, records and a transaction log."""

    def __init__(self, key, *, server_id="registry.example.org", key_id="registry-key-1",
                 senders=(), clients=None, records=None, allow_private_callbacks=False):
        self.kit = dci.Registry(
            key=key,
            server_id=server_id,
            key_id=key_id,
            senders=list(senders),
            allow_private_callbacks=allow_private_callbacks,
        )
        # client_id -> (secret, the sender_id its tokens are bound to)
        self.clients = dict(clients or {})
        self.tokens = {}  # token -> (client_id, sender_id, expires)
        self.records = list(PEOPLE if records is None else records)
        # (sender_id, "transaction_id" | "correlation_id", value) -> the stored answer message
        self.log = {}
        self.subscriptions = {}  # code -> (sender_id, subscribe_criteria)
        self.callbacks = []  # (url, HTTP status or the error) of each callback sent
        self.lock = threading.Lock()
        self.workers = []

    # -------------------------------------------------------------- the host's own parts

    def issue_token(self, form, authorization):
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        known = self.clients.get(client_id)
        if known is None or not secrets.compare_digest(known[0], secret or ""):
            return 401, {"error": "invalid_client"}
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = (client_id, known[1], time.time() + TOKEN_SECONDS)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS}

    def token_sender(self, authorization):
        """The sender a valid bearer token is bound to, else None."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        with self.lock:
            found = self.tokens.get(authorization[7:].strip())
        if found is None or found[2] < time.time():
            return None
        return found[1]

    def find(self, item):
        """Every record matching one search item, or (reason_code, message)."""
        query = item["parsed"]
        if query is None:
            return ("rjct.query.invalid", item["parse_error"])
        wanted = item["reg_record_type"]
        if wanted and wanted.rsplit(":", 1)[-1].lower() != "person":
            return []
        found = [r for r in self.records if query.matches(r)]
        return dci.sort_records(found, item["sort"]) if item["sort"] else found

    def remember(self, admission, message):
        with self.lock:
            for attr in ("transaction_id", "correlation_id"):
                self.log[(admission.sender_id, attr, message[attr])] = message

    # -------------------------------------------------------------- requests

    def handle(self, path, headers, body):
        """(status, JSON body) for a request to a registry path."""
        try:
            return self.serve(path, headers, body)
        except dci.DCIError as e:
            # An answer the kit could not make: the refusal it built (status and signed body).
            if getattr(e, "body", None) is None:
                raise
            return e.status, e.body

    def serve(self, path, headers, body):
        token_sender = self.token_sender(headers.get("Authorization"))
        if token_sender is None:
            refused = self.kit.reject(path, "err.request.unauthorized", "a valid bearer token is required")
            return refused.status, refused.body
        admission = self.kit.admit(path, body, headers)
        if not admission.ok:
            return admission.status, admission.body
        if admission.sender_id != token_sender:
            refused = self.kit.reject(admission, "err.request.forbidden",
                                      f"the token is not for sender {admission.sender_id}")
            return refused.status, refused.body
        op = admission.operation
        if op == "sync/search":
            message = self.kit.search_message(admission, [self.find(i) for i in admission.search_items])
            self.remember(admission, message)
            return 200, self.kit.answer(admission, message)
        if op == "sync/txn/status":
            return 200, self.kit.answer(admission, self.txn_status(admission))
        if op in ("search", "txn/status", "subscribe", "unsubscribe"):
            # Refuse a callback address that may not be used before acknowledging.
            where = self.kit.callback_url(admission)
            if isinstance(where, dci.Admission):
                return where.status, where.body
            worker = threading.Thread(target=self.answer_later, args=(admission,), daemon=True)
            with self.lock:
                self.workers.append(worker)
            worker.start()
            return 200, self.kit.ack(admission)
        refused = self.kit.reject(admission, "err.request.not_found",
                                  f"this registry does not serve {op}", 404)
        return refused.status, refused.body

    def txn_status(self, admission):
        req = admission.message["txnstatus_request"]
        attr, value = req["attribute_type"], req["attribute_value"]
        with self.lock:
            found = self.log.get((admission.sender_id, attr, value))
        return self.kit.txn_status_message(admission, found)

    def subscribe(self, admission):
        items = []
        for it in admission.message["subscribe_request"]:
            c = it["subscribe_criteria"]
            code = "sub-" + secrets.token_hex(8)
            with self.lock:
                self.subscriptions[code] = (admission.sender_id, c)
            info = {"code": code, "status": "subscribe", "timestamp": now_ts(),
                    "reg_type": c.get("reg_type") or "ns:org:RegistryType:Civil"}
            info.update({k: c[k] for k in ("reg_event_type", "filter_type", "filter", "notify_record_type") if c.get(k)})
            items.append({"reference_id": it["reference_id"], "timestamp": now_ts(), "status": "succ",
                          "subscriptions": [info]})
        return {"transaction_id": admission.transaction_id, "correlation_id": admission.correlation_id,
                "subscribe_response": items}

    def unsubscribe(self, admission):
        done, bad = [], []
        with self.lock:
            for code in admission.message["subscription_codes"]:
                if self.subscriptions.get(code, (None,))[0] == admission.sender_id:
                    del self.subscriptions[code]
                    done.append({"code": code, "status": "unsubscribe"})
                else:
                    bad.append(code)
        message = {"transaction_id": admission.transaction_id, "correlation_id": admission.correlation_id,
                   "timestamp": now_ts(), "status": "rjct" if bad else "succ", "subscription_status": done}
        if bad:
            message["status_reason_code"] = "rjct.subscription_code.invalid"
            message["status_reason_message"] = "unknown subscription codes for this sender: " + ", ".join(bad)
        return message

    def answer_later(self, admission):
        op = admission.operation
        if op == "search":
            message = self.kit.search_message(admission, [self.find(i) for i in admission.search_items])
            self.remember(admission, message)
        elif op == "subscribe":
            message = self.subscribe(admission)
        elif op == "unsubscribe":
            message = self.unsubscribe(admission)
        else:
            message = self.txn_status(admission)
        out = self.kit.callback(admission, message)
        if out is None:
            return  # no address: the result waits for txn status
        url, envelope = out
        req = urllib.request.Request(url, data=json.dumps(envelope).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            # The kit checked the URL; the addresses its name resolves to are checked now.
            self.kit.check_destination(url)
            with urllib.request.urlopen(req, timeout=30) as r:
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        except (OSError, dci.DCIError) as e:
            status = str(e)
        with self.lock:
            self.callbacks.append((url, status))

    # -------------------------------------------------------------- HTTP

    def http_server(self, host="127.0.0.1", port=0):
        registry = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def reply(self, status, doc):
                data = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/.well-known/jwks.json":
                    return self.reply(200, registry.kit.jwks())
                if self.path == "/healthz":
                    return self.reply(200, {"status": "ok"})
                return self.reply(404, {"error": "not found"})

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/oauth2/client/token":
                    form = dict(urllib.parse.parse_qsl(body.decode(errors="replace")))
                    return self.reply(*registry.issue_token(form, self.headers.get("Authorization")))
                self.reply(*registry.handle(self.path, self.headers, body))

        return ThreadingHTTPServer((host, port), Handler)


def demo(allow_private_callbacks=True):
    """A registry with one demo client and sender (keys made now): (registry, sender key, info)."""
    server_key = dci.SigningKey.generate()
    sender_key = dci.SigningKey.generate()
    sender = {
        "sender_id": "demo-sender",
        "jwks": {"keys": [sender_key.verifying_key().to_jwk("demo-key-1")]},
        "allowed_ops": ["search", "txn-status", "subscribe", "unsubscribe"],
        "registries": ["crvs"],
        # The data sharing agreement: only these fields of each record reach this sender.
        "fields": ["identifier", "name", "sex", "birth_date"],
    }
    secret = secrets.token_urlsafe(16)
    registry = DemoRegistry(server_key, senders=[sender], clients={"demo-client": (secret, "demo-sender")},
                            allow_private_callbacks=allow_private_callbacks)
    info = {"client_id": "demo-client", "client_secret": secret, "sender_id": "demo-sender",
            "key_id": "demo-key-1"}
    return registry, sender_key, info


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8090)
    p.add_argument("--sender-key", default="demo-sender.pem", help="where to write the demo sender's key")
    p.add_argument("--allow-private-callbacks", action="store_true",
                   help="let callbacks go to loopback and private addresses (local testing)")
    a = p.parse_args()
    registry, sender_key, info = demo(a.allow_private_callbacks)
    sender_key.save(a.sender_key)
    server = registry.http_server(a.host, a.port)
    host, port = server.server_address[:2]
    print(f"DCI registry (libdci {dci.__version__}) on http://{host}:{port}", flush=True)
    print(f"  client_id:     {info['client_id']}")
    print(f"  client_secret: {info['client_secret']}")
    print(f"  sender_id:     {info['sender_id']}")
    print(f"  sender key:    {a.sender_key} (key id {info['key_id']})")
    print(f"  JWKS:          http://{host}:{port}/.well-known/jwks.json", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
