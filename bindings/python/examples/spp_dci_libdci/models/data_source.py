"""spp.dci.data.source gains `to_libdci()`: the record's fields as a dci.DataSource.

Only the mapping lives here; the client, its token cache and its signing key are libdci's.
"""

import threading

import dci

from odoo import api, models

# One DCIClient per data source and process: it pools connections and caches the OAuth2 token.
# Keyed by (database, record id, write_date) so an edited record gets a fresh client.
_CLIENTS = {}
_LOCK = threading.Lock()


class DciDataSource(models.Model):
    _inherit = "spp.dci.data.source"

    def to_libdci(self):
        """This record as a dci.DataSource (raises dci.ValidationError naming a bad field)."""
        self.ensure_one()
        fields = {
            "name": self.name,
            "code": self.code,
            "registry_type": self.registry_type,
            "receiver_id": self.receiver_id or None,
            "our_callback_uri": self.our_callback_uri or None,
            "timeout": float(self.timeout or 30),
            "verify_ssl": bool(self.verify_ssl),
            "search_endpoint": self.search_endpoint or None,
            "subscribe_endpoint": self.subscribe_endpoint or None,
        }
        if self.auth_type == "oauth2":
            fields.update(
                auth_type="oauth2",
                oauth2_client_id=self.oauth2_client_id,
                oauth2_client_secret=self.oauth2_client_secret,
                oauth2_token_url=self.oauth2_token_url or None,
            )
        elif self.auth_type == "bearer":
            fields.update(auth_type="bearer", bearer_token=self.bearer_token)
        if self.signing_key_id:
            key = self.signing_key_id
            fields.update(signing_key_pem=key.private_key, signing_key_id=key.key_id)
        if getattr(self, "registry_jwks_url", False):
            fields["registry_jwks_url"] = self.registry_jwks_url
        return dci.DataSource(self.base_url, self.our_sender_id, **fields)

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

    def clear_oauth2_token_cache(self):
        for record in self:
            record.libdci_client().clear_oauth2_token_cache()

    def test_connection(self):
        self.ensure_one()
        return self.libdci_client().test_connection()

    @api.model
    def get_by_code(self, code):
        return self.search([("code", "=", code)], limit=1)
