"""spp.dci.data.source gains `to_libdci()`: the record as a dci.DataSource, and a `dialect`.

Only the mapping lives here; the client, its token cache and its signing key are libdci's.
The record is read by the wheel itself (`dci.DataSource.from_record`): OpenSPP's
`registry_type` values (`ns:org:RegistryType:Civil`, older `CRVS`), empty fields (`False`) and
the `spp.dci.signing.key` record behind `signing_key_id` are mapped there, not here.
"""

import threading

import dci

from odoo import api, fields, models

from ..errors import raises_user_error

# One DCIClient per data source and process: it pools connections and caches the OAuth2 token.
# Keyed by (database, record id, write_date) so an edited record gets a fresh client.
_CLIENTS = {}
_LOCK = threading.Lock()

# libdci's dialects (docs/client.md): the header normal form and quirks of the registry's side.
DIALECTS = [
    ("openspp2", "OpenSPP 2 (spp_dci_server)"),
    ("spdci", "SPDCI specification"),
    ("opencrvs", "OpenCRVS"),
    ("openg2p", "OpenG2P registry"),
]


class DciDataSource(models.Model):
    _inherit = "spp.dci.data.source"

    # Read by DataSource.from_record under this name. OpenSPP 2's server re-serialises the
    # header before verifying, so requests to it must be signed in its normal form: the
    # default, as this module is for OpenSPP 2 deployments talking to each other.
    dialect = fields.Selection(
        DIALECTS,
        default="openspp2",
        required=True,
        help="How the registry at the other end reads DCI messages (header form, search forms).",
    )
    # Where the registry publishes its keys: its responses and callbacks are verified with them.
    registry_jwks_url = fields.Char(string="Registry JWKS URL")

    @raises_user_error
    def to_libdci(self):
        """This record as a dci.DataSource (a bad field is a UserError naming it)."""
        self.ensure_one()
        return dci.DataSource.from_record(self)

    @raises_user_error
    def libdci_client(self):
        """The process-wide dci.DCIClient of this record."""
        self.ensure_one()
        cache_key = (self.env.cr.dbname, self.id, str(self.write_date))
        with _LOCK:
            client = _CLIENTS.get(cache_key)
            if client is None:
                client = dci.DCIClient(self.to_libdci())
                _CLIENTS[cache_key] = client
        return client

    @raises_user_error
    def clear_oauth2_token_cache(self):
        for record in self:
            record.libdci_client().clear_oauth2_token_cache()

    @raises_user_error
    def test_connection(self):
        self.ensure_one()
        return self.libdci_client().test_connection()

    @api.model
    def get_by_code(self, code):
        return self.search([("code", "=", code)], limit=1)
