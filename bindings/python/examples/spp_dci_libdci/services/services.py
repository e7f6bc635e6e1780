"""OpenSPP's service classes, same constructors and method names, over libdci.

OpenSPP code keeps calling `CRVSService(env, data_source_code="crvs_main").verify_birth(...)`;
only the import line changes. Partners are turned into identifiers here (the Odoo side);
everything on the wire is libdci's.
"""

import dci

from odoo.exceptions import UserError

# dci.DuplicationResult and dci.BeneficiaryInfo have .to_dict() and read like dicts.
DuplicationResult = dci.DuplicationResult
BeneficiaryInfo = dci.BeneficiaryInfo


def _source(env, code):
    source = env["spp.dci.data.source"].get_by_code(code)
    if not source:
        raise UserError(f"No DCI data source with code {code!r}")
    return source


def partner_identifiers(partner):
    """(identifier_type, identifier_value) pairs from an OpenSPP registrant's reg_ids."""
    return [(r.id_type.name, r.value) for r in partner.reg_ids if r.value and r.id_type]


def _first(partner):
    ids = partner_identifiers(partner)
    if not ids:
        raise UserError(f"{partner.display_name} has no identifier to look up")
    return ids[0]


def _user_error(e):
    # DCIError carries the DCI code and transaction for the log; the user sees the message.
    return UserError(f"{e.message} ({e.code or e.kind})")


class CRVSService:
    def __init__(self, env, data_source_code="crvs_main"):
        self.env = env
        self._service = dci.CRVSService(_source(env, data_source_code).libdci_client())

    def verify_birth(self, identifier_type, identifier_value):
        try:
            return self._service.verify_birth(identifier_type, identifier_value)
        except dci.DCIError as e:
            raise _user_error(e) from e

    def is_deceased(self, identifier_type, identifier_value):
        return self._service.is_deceased(identifier_type, identifier_value)

    def subscribe_events(self, event_types=None):
        return self._service.subscribe_events(event_types)


class IBRService:
    # OpenSPP's IBRService takes (data_source, env): kept.
    def __init__(self, data_source, env):
        self.env = env
        self._service = dci.IBRService(data_source.libdci_client())

    def check_duplication(self, partner):
        return self._service.check_duplication(partner_identifiers(partner))

    def search_beneficiary(self, identifier_type, identifier_value):
        return self._service.search_beneficiary(identifier_type, identifier_value)


class DRService:
    def __init__(self, env, data_source_code="dr_main"):
        self.env = env
        self._service = dci.DRService(_source(env, data_source_code).libdci_client())

    def get_disability_status(self, partner):
        return self._service.get_disability_status(*_first(partner))

    def get_functional_scores(self, partner):
        return self._service.get_functional_scores(*_first(partner))

    def is_pwd(self, partner):
        return self._service.is_pwd(*_first(partner))
