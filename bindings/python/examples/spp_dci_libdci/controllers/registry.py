"""This Odoo as a DCI registry: the search and txn status endpoints, on `dci.Registry`.

`POST /dci_api/registry/sync/search` answers with the signed on-search envelope;
`POST /dci_api/registry/search` acknowledges and queues the signed on-search for the checked
callback URL (`spp.dci.outbox`, sent by `send_pending` outside this request);
`POST /dci_api/registry/sync/txn/status` answers from `spp.dci.transaction`, and
`/dci_api/registry/txn/status` the same way as a callback. Every refusal is the kit's exact
spec body and HTTP status.
"""

import hmac
import json
import logging

import dci

from odoo import http
from odoo.http import request

from ..models.registry_server import _param, registry_kit

_logger = logging.getLogger(__name__)

PREFIX = "/dci_api"


def _json(doc, status=200):
    return request.make_response(json.dumps(doc), headers=[("Content-Type", "application/json")], status=status)


def _refusal(admission):
    if admission.cause:
        _logger.error("DCI %s refused: %s", admission.operation, admission.cause)
    return _json(admission.body, admission.status)


class DciRegistryController(http.Controller):
    @http.route(
        [PREFIX + "/registry/sync/search", PREFIX + "/registry/search",
         PREFIX + "/registry/sync/txn/status", PREFIX + "/registry/txn/status"],
        type="http", auth="public", methods=["POST"], csrf=False,
    )
    def registry(self, **_kw):
        try:
            return self._serve()
        except dci.DCIError as e:
            # An answer the kit could not make (its encryption, a refused callback address):
            # the refusal it built, signed.
            if getattr(e, "body", None) is None:
                raise
            _logger.error("DCI answer failed: %s (%s)", e, getattr(e, "cause", None) or e.code)
            return _json(e.body, e.status)

    def _serve(self):
        env = request.env
        hr = request.httprequest
        path = hr.path[len(PREFIX):]
        kit = registry_kit(env)
        # The transport check is the host's: here one configured bearer token.
        token = _param(env, "bearer_token")
        given = (hr.headers.get("Authorization") or "").partition(" ")[2].strip()
        if token and not hmac.compare_digest(token, given):
            return _refusal(kit.reject(path, "err.request.unauthorized", "a valid bearer token is required"))
        admission = kit.admit(path, hr.get_data(), hr.headers)
        if not admission.ok:
            return _refusal(admission)
        op = admission.operation
        if op in ("sync/search", "search"):
            partners = env["res.partner"].sudo()
            message = kit.search_message(admission, [partners._dci_search(i) for i in admission.search_items])
            env["spp.dci.transaction"].sudo().remember(admission.sender_id, message)
        else:
            req = admission.message["txnstatus_request"]
            found = env["spp.dci.transaction"].sudo().find(
                admission.sender_id, req["attribute_type"], req["attribute_value"])
            message = kit.txn_status_message(admission, found)
        if admission.mode == "sync":
            return _json(kit.answer(admission, message))
        # Async: a refused callback address is answered now, instead of the ack.
        where = kit.callback_url(admission)
        if isinstance(where, dci.Admission):
            return _refusal(where)
        out = kit.callback(admission, message)
        if out is not None:
            url, envelope = out
            env["spp.dci.outbox"].sudo().create({"url": url, "body": json.dumps(envelope)})
        return _json(kit.ack(admission))

    @http.route(PREFIX + "/.well-known/jwks.json", type="http", auth="public", methods=["GET"])
    def jwks(self, **_kw):
        """Our public keys, for senders to verify our answers with."""
        return _json(registry_kit(request.env).jwks())
