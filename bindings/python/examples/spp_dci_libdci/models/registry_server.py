"""The server side: this Odoo answers DCI searches over its registrants, on `dci.Registry`.

What the kit does (libdci): admission of each request (the sender, its signature over the
bytes as received, replay, clock skew, the spec checks, the exact rejection bodies and HTTP
statuses), the signed answers, pagination, the sender's data sharing fields and the checked
callback URL. What stays here, in Odoo's terms:

- `spp.dci.sender`: the senders this registry answers (their keys, allowed operations and
  registries, data sharing fields, callback URI), read by the kit through `registry_kit(env)`'s
  lookup;
- `spp.dci.seen.message`: message ids already received (replay protection shared by every
  worker, through the kit's `replay` callable);
- `spp.dci.transaction`: the answer of each search, for txn status;
- `spp.dci.outbox`: async answers waiting to be POSTed (`send_pending`, run by a cron or a
  queue job: never inside the request that was acknowledged);
- `res.partner._dci_search(item)`: the registrants matching one search item, as DCI records.

Configuration (`ir.config_parameter`): `spp_dci_libdci.server_id` (our sender id),
`spp_dci_libdci.server_key_id` (the key_id of the active `spp.dci.signing.key` we sign with),
`spp_dci_libdci.allow_private_callbacks` (`True` only for local testing) and
`spp_dci_libdci.bearer_token` (the token senders present; use Odoo's OAuth2 / API key module
in production).
"""

import json
import logging
import urllib.error
import urllib.request

import dci

from odoo import api, fields, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)

PARAM = "spp_dci_libdci."


def _csv(value):
    return [v.strip() for v in (value or "").split(",") if v.strip()]


class DciSender(models.Model):
    _name = "spp.dci.sender"
    _description = "A DCI sender this registry answers"

    name = fields.Char()
    sender_id = fields.Char(required=True)
    jwks = fields.Text(help='The sender\'s public keys: {"keys": [...]}, kid = its key id')
    allowed_ops = fields.Char(default="search,txn-status", help="Comma-separated operations, or *")
    registries = fields.Char(default="crvs", help="Comma-separated registry types, or *")
    fields_shared = fields.Char(default="*", help="Comma-separated record fields it may receive, or *")
    signature_policy = fields.Selection([("required", "Required"), ("optional", "Optional")], default="required")
    callback_uri = fields.Char(help="Where its async answers go (a request's sender_uri must lie under it)")
    active = fields.Boolean(default=True)

    def to_libdci(self):
        """The sender as dci.Registry reads it."""
        self.ensure_one()
        return {
            "sender_id": self.sender_id,
            "name": self.name or "",
            "jwks": json.loads(self.jwks or '{"keys": []}'),
            "allowed_ops": _csv(self.allowed_ops) or ["search"],
            "registries": _csv(self.registries) or ["crvs"],
            "fields": _csv(self.fields_shared) or ["*"],
            "signature_policy": self.signature_policy or "required",
            "callback_uri": self.callback_uri or None,
            "active": bool(self.active),
        }

    @api.model
    def lookup(self, sender_id):
        found = self.search([("sender_id", "=", sender_id)], limit=1)
        return found.to_libdci() if found else None


class DciSeenMessage(models.Model):
    _name = "spp.dci.seen.message"
    _description = "DCI message ids already received (replay protection)"

    sender_id = fields.Char()
    message_id = fields.Char()
    seen_ms = fields.Integer()

    @api.model
    def first_time(self, sender_id, message_id, now_ms, window_ms):
        seen = self.search([("sender_id", "=", sender_id), ("message_id", "=", message_id)], limit=1)
        if seen and now_ms - seen.seen_ms < window_ms:
            return False
        if seen:
            seen.write({"seen_ms": now_ms})
        else:
            self.create({"sender_id": sender_id, "message_id": message_id, "seen_ms": now_ms})
        return True


class DciTransaction(models.Model):
    _name = "spp.dci.transaction"
    _description = "The answer of a DCI search, for txn status"

    sender_id = fields.Char()
    transaction_id = fields.Char()
    correlation_id = fields.Char()
    response = fields.Text()

    @api.model
    def remember(self, sender_id, message):
        self.create({"sender_id": sender_id, "transaction_id": message["transaction_id"],
                     "correlation_id": message["correlation_id"], "response": json.dumps(message)})

    @api.model
    def find(self, sender_id, attribute_type, value):
        if attribute_type not in ("transaction_id", "correlation_id"):
            return None
        found = self.search([("sender_id", "=", sender_id), (attribute_type, "=", value)], limit=1)
        return json.loads(found.response) if found else None


class DciOutbox(models.Model):
    _name = "spp.dci.outbox"
    _description = "DCI async answers waiting to be sent"

    url = fields.Char()
    body = fields.Text()
    state = fields.Selection([("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed")], default="pending")
    attempts = fields.Integer(default=0)
    last_error = fields.Text()

    @api.model
    def send_pending(self, timeout=30, max_attempts=5):
        """POSTs every pending answer (a cron); returns how many were delivered."""
        sent = 0
        kit = registry_kit(self.env)
        for job in self.search([("state", "=", "pending")]):
            req = urllib.request.Request(job.url, data=job.body.encode(), headers={"Content-Type": "application/json"})
            try:
                # The URL was checked when queued; the addresses its name resolves to, now.
                kit.check_destination(job.url)
                with urllib.request.urlopen(req, timeout=timeout):
                    pass
                job.write({"state": "sent", "attempts": job.attempts + 1, "last_error": False})
                sent += 1
            except (urllib.error.URLError, OSError, dci.DCIError) as e:
                attempts = job.attempts + 1
                job.write({"attempts": attempts, "last_error": str(e),
                           "state": "failed" if attempts >= max_attempts else "pending"})
                _logger.warning("DCI callback to %s failed (attempt %d): %s", job.url, attempts, e)
        return sent


class Partner(models.Model):
    _inherit = "res.partner"

    def _dci_record(self):
        """The registrant as a DCI Person record."""
        self.ensure_one()
        ids = [{"identifier_type": r.id_type_id.code, "identifier_value": r.value}
               for r in self.reg_ids if r.value and r.id_type_id and r.id_type_id.code]
        return {"@type": "Person", "identifier": ids, "name": {"full_name": self.name or ""}}

    @api.model
    def _dci_search(self, item):
        """Every registrant matching one search item (a `dci.Admission.search_items` entry), as
        DCI records, or `(reason_code, message)` when the item cannot be answered."""
        query = item["parsed"]
        if query is None:
            return ("rjct.query.invalid", item["parse_error"])
        wanted = item["reg_record_type"]
        if wanted and wanted.rsplit(":", 1)[-1].lower() != "person":
            return []
        if item["query_type"] == "idtype-value":
            # An identifier lookup goes through the index, not through every registrant.
            codes = self.env["spp.vocabulary.code"].search([("code", "=", item["query"]["type"])])
            ids = self.env["spp.registry.id"].search([("id_type_id", "in", codes.ids),
                                                      ("value", "=", str(item["query"]["value"]))])
            candidates = [r.partner_id for r in ids]
        else:
            candidates = list(self.search([]))
        out = []
        for partner in candidates:
            record = partner._dci_record()
            if query.matches(record):
                out.append(record)
        return out


def _param(env, name, default=False):
    return env["ir.config_parameter"].sudo().get_param(PARAM + name, default)


def registry_kit(env):
    """The dci.Registry of this database for the current request: our signing key, senders
    from `spp.dci.sender`, replay protection in `spp.dci.seen.message`."""
    server_id = _param(env, "server_id")
    key_id = _param(env, "server_key_id")
    if not server_id or not key_id:
        raise UserError("Set spp_dci_libdci.server_id and spp_dci_libdci.server_key_id to serve DCI")
    key = env["spp.dci.signing.key"].sudo().search([("key_id", "=", key_id), ("state", "=", "active")], limit=1)
    if not key:
        raise UserError(f"No active spp.dci.signing.key with key_id {key_id!r}")
    senders = env["spp.dci.sender"].sudo()
    seen = env["spp.dci.seen.message"].sudo()
    return dci.Registry(
        key=key.private_key,
        server_id=server_id,
        key_id=key_id,
        senders=senders.lookup,
        replay=seen.first_time,
        allow_private_callbacks=str(_param(env, "allow_private_callbacks")) == "True",
    )
