"""libdci: the Digital Convergence Initiative (SPDCI) registry API, over a Rust core.

Everything here calls the Rust library (``dci._dci``): canonical JSON, keys, signatures
(spdci, jws-detached, jws-compact), message building and validation, queries, and the client
with the CRVS, IBR and DR services. Inputs and outputs are plain dicts, lists and strings
shaped like the JSON on the wire. Errors derive from :class:`DCIError`.
"""

from ._dci import (
    Admission,
    CallbackListener,
    CRVSService,
    DataSource,
    DataSources,
    DCIClient,
    DRService,
    IBRService,
    Jwks,
    Predicate,
    Query,
    Registry,
    Signer,
    SigningKey,
    VerifyingKey,
    __version__,
    callback_action,
    envelope,
    new_id,
    search_request,
    validate,
    validate_message,
    canonicalize,
    canonicalize_json,
    is_missing_signature,
    matches,
    sort_records,
    verify,
)
from ._results import BeneficiaryInfo, DuplicationResult
from ._openspp import DCISigner, DCIVerifier, fetch_jwks, verify_signature
from ._errors import (
    AuthError,
    DCIError,
    EncryptionError,
    ProtocolError,
    SignatureError,
    TransportError,
    ValidationError,
)

__all__ = [
    "__version__",
    # errors
    "DCIError",
    "EncryptionError",
    "SignatureError",
    "ValidationError",
    "AuthError",
    "TransportError",
    "ProtocolError",
    # canonical JSON
    "canonicalize",
    "canonicalize_json",
    # keys and signatures
    "SigningKey",
    "VerifyingKey",
    "Jwks",
    "Signer",
    "verify",
    "is_missing_signature",
    "DCISigner",
    "DCIVerifier",
    "fetch_jwks",
    "verify_signature",
    # messages
    "new_id",
    "callback_action",
    "search_request",
    "envelope",
    "validate",
    "validate_message",
    # client and services
    "DataSource",
    "DataSources",
    "DCIClient",
    "CallbackListener",
    "CRVSService",
    "IBRService",
    "DRService",
    "DuplicationResult",
    "BeneficiaryInfo",
    # serving DCI (the registry kit)
    "Registry",
    "Admission",
    # queries
    "Query",
    "Predicate",
    "matches",
    "sort_records",
]
