# An example Odoo module: OpenSPP's DCI client services on libdci.
# It keeps OpenSPP's call shapes (CRVSService(env, data_source_code), IBRService(data_source, env),
# DRService(env, data_source_code)) and moves the protocol work (envelopes, signatures, OAuth2,
# verification, callbacks) into the `dci` package.
{
    "name": "OpenSPP DCI client on libdci (example)",
    "version": "19.0.1.0.0",
    "license": "Apache-2.0",
    "depends": ["spp_dci_client"],
    "external_dependencies": {"python": ["libdci"]},
    "data": [],
    "installable": True,
}
