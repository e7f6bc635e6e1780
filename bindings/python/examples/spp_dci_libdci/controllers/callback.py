"""The registry's callbacks (on-search, on-subscribe, notify, ...) on an Odoo route.

libdci verifies the signature, parses the message and matches it to the waiting
transaction; the controller only moves bytes and stores what arrived.
"""

import json
import logging

from odoo import http
from odoo.http import request

from ..errors import user_errors

_logger = logging.getLogger(__name__)


class DciCallbackController(http.Controller):
    @http.route(
        ["/dci/<string:code>/on-search", "/dci/<string:code>/on-subscribe", "/dci/<string:code>/notify",
         "/dci/<string:code>/on-unsubscribe", "/dci/<string:code>/txn/on-status"],
        type="http", auth="public", methods=["POST"], csrf=False,
    )
    def callback(self, code, **_kw):
        source = request.env["spp.dci.data.source"].sudo().get_by_code(code)
        if not source:
            return request.make_response("unknown data source", status=404)
        with user_errors():
            client = source.libdci_client()
            out = client.handle_callback(request.httprequest.get_data(), dict(request.httprequest.headers))
        if out["error"] is not None:
            _logger.warning("DCI callback %s: %s (transaction %s)", out["action"], out["error"], out["transaction_id"])
        elif out["action"] == "notify":
            # Hand the event to a queue job, e.g. to update registrants.
            _logger.info("DCI notify %s with %d items", out["transaction_id"], len(out["result"]["result"]["items"]))
        return request.make_response(
            json.dumps(out["ack"]),
            headers=[("Content-Type", "application/json")],
            status=out["http_status"],
        )
