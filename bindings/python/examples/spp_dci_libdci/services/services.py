"""OpenSPP's service classes, same constructors and method names, over libdci.

OpenSPP code keeps calling `CRVSService(env, data_source_code="crvs_main").verify_birth(...)`;
only the import line changes. Partners are turned into identifiers here (the Odoo side);
everything on the wire is libdci's. Every call into the wheel goes through `user_errors`, so a
DCIError reaches the user as a UserError.
"""

import dci

from odoo.exceptions import UserError

from ..errors import raises_user_error

# dci.DuplicationResult and dci.BeneficiaryInfo have .to_dict() and read like dicts.
DuplicationResult = dci.DuplicationResult
BeneficiaryInfo = dci.BeneficiaryInfo


def _client(source, registry_type):
    """The record's cached client, refused when the record is of another registry type."""
    client = source.libdci_client()
    got = client.data_source.registry_type
    if got != registry_type:
        raise UserError(f"Data source {source.code!r} is a {got} registry, not {registry_type} (registry_type)")
    return client


def _source(env, code, registry_type):
    source = env["spp.dci.data.source"].get_by_code(code)
    if not source:
        raise UserError(f"No DCI data source with code {code!r}")
    return _client(source, registry_type)


def partner_identifiers(partner):
    """(identifier_type, identifier_value) pairs from an OpenSPP 2 registrant's reg_ids.

    OpenSPP 2's spp.registry.id points at its type through `id_type_id` (a vocabulary code):
    the DCI identifier type is that record's `code`.
    """
    return [(r.id_type_id.code, r.value) for r in partner.reg_ids if r.value and r.id_type_id and r.id_type_id.code]


def _first(partner):
    ids = partner_identifiers(partner)
    if not ids:
        raise UserError(f"{partner.display_name} has no identifier to look up")
    return ids[0]


class CRVSService:
    @raises_user_error
    def __init__(self, env, data_source_code="crvs_main"):
        self.env = env
        self._service = dci.CRVSService(_source(env, data_source_code, "crvs"))

    @raises_user_error
    def verify_birth(self, identifier_type, identifier_value):
        return self._service.verify_birth(identifier_type, identifier_value)

    @raises_user_error
    def is_deceased(self, identifier_type, identifier_value):
        return self._service.is_deceased(identifier_type, identifier_value)

    @raises_user_error
    def subscribe_events(self, event_types=None):
        return self._service.subscribe_events(event_types)


class IBRService:
    # OpenSPP's IBRService takes (data_source, env): kept.
    @raises_user_error
    def __init__(self, data_source, env):
        self.env = env
        self._service = dci.IBRService(_client(data_source, "ibr"))

    @raises_user_error
    def check_duplication(self, partner):
        return self._service.check_duplication(partner_identifiers(partner))

    @raises_user_error
    def search_beneficiary(self, identifier_type, identifier_value):
        return self._service.search_beneficiary(identifier_type, identifier_value)


class DRService:
    @raises_user_error
    def __init__(self, env, data_source_code="dr_main"):
        self.env = env
        self._service = dci.DRService(_source(env, data_source_code, "dr"))

    @raises_user_error
    def get_disability_status(self, partner):
        return self._service.get_disability_status(*_first(partner))

    @raises_user_error
    def get_functional_scores(self, partner):
        return self._service.get_functional_scores(*_first(partner))

    @raises_user_error
    def is_pwd(self, partner):
        return self._service.is_pwd(*_first(partner))
