"""Type stubs of the native module ``dci._dci`` (checked against the binary by mypy.stubtest)."""

import os
from types import TracebackType

from ._results import BeneficiaryInfo, DuplicationResult
from typing import Any, Callable, ClassVar, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union, final

__version__: str
__all__ = [
    "Admission",
    "CRVSService",
    "CallbackListener",
    "DCIClient",
    "DRService",
    "DataSource",
    "DataSources",
    "IBRService",
    "Jwks",
    "Predicate",
    "Query",
    "Registry",
    "Signer",
    "SigningKey",
    "VerifyingKey",
    "__version__",
    "callback_action",
    "canonicalize",
    "canonicalize_json",
    "envelope",
    "is_missing_signature",
    "matches",
    "new_id",
    "search_request",
    "sort_records",
    "validate",
    "validate_message",
    "verify",
]

# ------------------------------------------------------------------------------ canonical JSON

def canonicalize(value: Any, *, ensure_ascii: bool = True) -> bytes:
    """The canonical JSON of a Python value: ``json.dumps(value, sort_keys=True,
    separators=(",", ":"), ensure_ascii=ensure_ascii)`` as bytes."""

def canonicalize_json(data: Union[bytes, bytearray, str], *, ensure_ascii: bool = True) -> bytes:
    """The canonical form of a JSON document given as bytes or str, numbers kept as written."""

# ------------------------------------------------------------------------------ queries

@final
class Query:
    """A search query of any type, checked when built."""

    __hash__: ClassVar[None]  # type: ignore[assignment]
    @staticmethod
    def idtype_value(id_type: str, value: Any) -> Query:
        """An identifier lookup: ``{"type": id_type, "value": value}``."""
    @staticmethod
    def predicate(items: Union[Predicate, Dict[str, Any], Sequence[Union[Predicate, Dict[str, Any]]]]) -> Query:
        """A predicate query from Predicate objects or wire-form dicts."""
    @staticmethod
    def expression(filter: Dict[str, Any], collection: Optional[str] = None) -> Query:
        """A Mongo-style expression such as ``{"age": {"$lt": 25}}``."""
    @staticmethod
    def graphql(text: str) -> Query:
        """A GraphQL query string (sent as is, not evaluated)."""
    @staticmethod
    def parse(query_type: str, query: Any) -> Query:
        """Parses ``search_criteria.query`` given its ``query_type``."""
    @property
    def query_type(self) -> str:
        """The wire ``query_type``."""
    @property
    def query(self) -> Any:
        """The wire ``query`` value."""
    def to_dict(self) -> Dict[str, Any]:
        """``{"query_type": ..., "query": ...}``."""
    def matches(self, record: Dict[str, Any]) -> bool:
        """Whether ``record`` matches."""
    def __eq__(self, value: object, /) -> bool: ...

@final
class Predicate:
    """One predicate item: ``Predicate("age", "lt", 25).and_("poverty_score", "lt", 2.5)``."""

    def __new__(cls, attribute_name: str, operator: str, attribute_value: Any) -> Predicate: ...
    def and_(self, attribute_name: str, operator: str, attribute_value: Any) -> Predicate:
        """``expression1 AND expression2``."""
    def or_(self, attribute_name: str, operator: str, attribute_value: Any) -> Predicate:
        """``expression1 OR expression2``."""
    def and_not(self, attribute_name: str, operator: str, attribute_value: Any) -> Predicate:
        """``expression1 AND NOT expression2``."""
    def negated(self) -> Predicate:
        """``NOT expression1``."""
    def with_seq_num(self, seq_num: int) -> Predicate:
        """This item with an explicit ``seq_num``."""
    def to_dict(self) -> Dict[str, Any]:
        """The item in its wire form."""

def matches(record: Dict[str, Any], query_type: str, query: Any) -> bool:
    """Whether ``record`` matches the query given as on the wire."""

def sort_records(records: List[Dict[str, Any]], sort: Any) -> List[Dict[str, Any]]:
    """A new list of ``records`` ordered by the spec's ``sort`` value."""

# ------------------------------------------------------------------------------ keys

@final
class SigningKey:
    """A private key that signs: Ed25519 or RSA."""

    @staticmethod
    def generate(algorithm: str = "ed25519") -> SigningKey:
        """A new random key (``"ed25519"`` or ``"rsa-sha256"``)."""
    @staticmethod
    def from_ed25519_seed(seed: bytes) -> SigningKey:
        """An Ed25519 key from its 32-byte seed."""
    @staticmethod
    def from_pem(pem: str) -> SigningKey:
        """Loads a PKCS#8 PEM private key."""
    @staticmethod
    def load(path: str) -> SigningKey:
        """Loads a PEM private key file."""
    def to_pem(self) -> str:
        """The PKCS#8 PEM of this key."""
    def save(self, path: str) -> None:
        """Writes the PKCS#8 PEM to ``path`` (owner-only on Unix)."""
    @property
    def algorithm(self) -> str:
        """``"ed25519"`` or ``"rsa-sha256"``."""
    def verifying_key(self) -> VerifyingKey:
        """The matching public key."""
    def sign(self, data: bytes) -> bytes:
        """The raw signature over ``data``."""

@final
class VerifyingKey:
    """A public key that verifies."""

    @staticmethod
    def from_pem(pem: str) -> VerifyingKey:
        """Loads an SPKI PEM public key."""
    @staticmethod
    def load(path: str) -> VerifyingKey:
        """Loads a PEM public key file."""
    @staticmethod
    def from_jwk(jwk: Dict[str, Any]) -> VerifyingKey:
        """From a JWK given as a dict."""
    def to_pem(self) -> str:
        """The SPKI PEM of this key."""
    def save(self, path: str) -> None:
        """Writes the SPKI PEM to ``path``."""
    def to_jwk(self, kid: Optional[str] = None) -> Dict[str, Any]:
        """The JWK, with ``kid`` (the RFC 7638 thumbprint when None), ``use`` and ``alg``."""
    @property
    def thumbprint(self) -> str:
        """The RFC 7638 JWK thumbprint."""
    @property
    def algorithm(self) -> str:
        """``"ed25519"`` or ``"rsa-sha256"``."""
    def verify(self, data: bytes, signature: bytes) -> None:
        """Checks a raw signature; raises SignatureError if it fails."""
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Jwks:
    """A JWK Set: public keys with their ``kid``."""

    def __new__(cls, keys: Optional[List[Union[VerifyingKey, Tuple[Optional[str], VerifyingKey]]]] = None) -> Jwks: ...
    @staticmethod
    def from_dict(jwks: Dict[str, Any]) -> Jwks:
        """Parses ``{"keys": [...]}``."""
    @staticmethod
    def fetch(url: str, timeout: float = 30.0, verify_tls: bool = True) -> Jwks:
        """The JWKS published at ``url``."""
    @staticmethod
    def from_json(text: str) -> Jwks:
        """Parses the JSON text of a JWK Set."""
    def to_dict(self) -> Dict[str, Any]:
        """``{"keys": [...]}``."""
    def find(self, kid: str) -> Optional[VerifyingKey]:
        """The key whose kid is ``kid``, or None."""
    def kids(self) -> List[Optional[str]]:
        """The kids, in order."""
    def __len__(self) -> int: ...

# ------------------------------------------------------------------------------ signatures

@final
class Signer:
    """Who signs and how: key, kid parts and profile."""

    def __new__(
        cls,
        key: Union[SigningKey, bytes, str],
        sender_id: str,
        key_id: str,
        algorithm: Optional[str] = None,
        *,
        profile: str = "spdci",
        digest: str = "sha256",
        validity_secs: int = 300,
        dialect: Optional[str] = None,
    ) -> Signer: ...
    @property
    def dialect(self) -> str:
        """The header normal form ``sign`` writes."""
    @property
    def algorithm(self) -> str:
        """The signing algorithm."""
    @property
    def kid(self) -> str:
        """``{sender_id}|{key_id}|{algorithm}``."""
    @property
    def profile(self) -> str:
        """``"spdci"``, ``"jws-detached"`` or ``"jws-compact"``."""
    @property
    def sender_id(self) -> str:
        """The first part of the kid."""
    @property
    def key_id(self) -> str:
        """The second part of the kid."""
    def verifying_key(self) -> VerifyingKey:
        """The public key that verifies this signer's signatures."""
    def signature_for(self, header: Dict[str, Any], message: Any, now: Optional[int] = None) -> str:
        """The ``signature`` value for ``header`` and ``message``."""
    def sign(self, envelope: Dict[str, Any], now: Optional[int] = None) -> Dict[str, Any]:
        """Sets ``envelope["signature"]`` and returns the same dict."""
    def sign_bytes(self, envelope: Union[bytes, bytearray, str], now: Optional[int] = None) -> bytes:
        """Signs an envelope given as JSON bytes; returns the signed bytes."""

def verify(
    envelope: Union[bytes, bytearray, str, Dict[str, Any]],
    keys: Union[VerifyingKey, Jwks, Dict[str, Any], str],
    message: Optional[Any] = None,
    key: Optional[Union[VerifyingKey, Jwks, Dict[str, Any], str]] = None,
    *,
    now: Optional[int] = None,
    clock_skew: int = 60,
    profile: Optional[str] = None,
    bind_sender: bool = True,
) -> Any:
    """Verifies an envelope's signature; ``{"profile", "algorithm", "kid", "created", "expires"}``."""

def is_missing_signature(signature: Optional[str]) -> bool:
    """Whether a ``signature`` value is absent in substance."""

# ------------------------------------------------------------------------------ messages

def new_id() -> str:
    """A new random id (UUID v4)."""

def callback_action(action: str) -> Optional[str]:
    """The callback action answering a request action, or None."""

def search_request(
    queries: Any,
    *,
    transaction_id: Optional[str] = None,
    reg_type: Optional[str] = None,
    reg_record_type: Optional[str] = None,
    response_entity: Optional[str] = None,
    page_size: Optional[int] = None,
    page_number: int = 1,
    sort: Optional[List[Any]] = None,
    consent: Optional[Any] = None,
    authorize: Optional[Any] = None,
    locale: Optional[str] = None,
) -> Dict[str, Any]:
    """Builds a validated ``SearchRequest`` message."""

def envelope(
    action: str,
    message: Dict[str, Any],
    *,
    sender_id: str,
    receiver_id: Optional[str] = None,
    sender_uri: Optional[str] = None,
    message_id: Optional[str] = None,
    message_ts: Optional[str] = None,
    total_count: Optional[int] = None,
    meta: Optional[Any] = None,
    signer: Optional[Signer] = None,
    now: Optional[int] = None,
    status: Optional[str] = None,
    completed_count: Optional[int] = None,
    dialect: Optional[str] = None,
) -> Dict[str, Any]:
    """Builds an envelope ``{"signature", "header", "message"}``."""

def validate(envelope: Union[Dict[str, Any], bytes, str], kind: Optional[str] = None) -> None:
    """Validates an envelope against the spec; raises ValidationError listing every violation."""

def validate_message(kind: str, message: Dict[str, Any]) -> None:
    """Validates a message body alone."""

# ------------------------------------------------------------------------------ client

@final
class DataSource:
    """One external DCI registry's configuration."""

    def __new__(cls, base_url: Optional[str] = None, our_sender_id: Optional[str] = None, **fields: Any) -> DataSource: ...
    @staticmethod
    def from_dict(config: Dict[str, Any]) -> DataSource:
        """From a dict of the same fields as the keyword arguments."""
    @staticmethod
    def from_file(path: str) -> DataSource:
        """From a ``.toml`` or ``.json`` file."""
    @staticmethod
    def from_json(text: str) -> DataSource:
        """From JSON text."""
    @staticmethod
    def from_toml(text: str) -> DataSource:
        """From TOML text."""
    @staticmethod
    def from_record(record: Any) -> DataSource:
        """From an object with ``spp.dci.data.source``'s fields as attributes (an Odoo record)."""
    def to_dict(self, include_secrets: bool = False) -> Dict[str, Any]:
        """The configuration as a dict (secrets masked unless ``include_secrets``)."""
    def replace(self, **fields: Any) -> DataSource:
        """A copy with some fields changed."""
    def test_connection(self) -> Dict[str, Any]:
        """Exercises the configured auth and a trivial request."""
    @property
    def name(self) -> str: ...
    @property
    def code(self) -> str: ...
    @property
    def registry_type(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    @property
    def our_sender_id(self) -> str: ...
    @property
    def receiver_id(self) -> Optional[str]: ...
    @property
    def our_callback_uri(self) -> Optional[str]: ...
    @property
    def timeout_secs(self) -> float: ...
    @property
    def reg_type(self) -> str: ...
    @property
    def auth_type(self) -> str: ...
    @property
    def oauth2_client_id(self) -> Optional[str]: ...
    @property
    def oauth2_token_url(self) -> Optional[str]: ...
    @property
    def oauth2_scope(self) -> Optional[str]: ...
    @property
    def oauth2_credential_location(self) -> str: ...
    @property
    def signing_key_id(self) -> Optional[str]: ...
    @property
    def verify_ssl(self) -> bool: ...
    @property
    def verify_tls(self) -> bool: ...
    @property
    def timeout(self) -> float: ...
    @property
    def dialect(self) -> str: ...
    @property
    def search_endpoint(self) -> str: ...
    @property
    def async_search_endpoint(self) -> str: ...
    @property
    def subscribe_endpoint(self) -> str: ...
    @property
    def unsubscribe_endpoint(self) -> str: ...
    @property
    def txn_status_endpoint(self) -> str: ...
    @property
    def auth_endpoint(self) -> str: ...
    @property
    def endpoints(self) -> Dict[str, Any]: ...
    @property
    def state(self) -> str:
        """``"draft"``, then ``"active"`` or ``"error"`` after a connection test."""
    @property
    def last_error(self) -> Optional[str]: ...
    @property
    def last_test_date(self) -> Optional[str]: ...

@final
class DataSources:
    """Several data sources, looked up by code or registry type."""

    def __new__(cls, sources: Optional[Iterable[Union[DataSource, Dict[str, Any]]]] = None) -> DataSources: ...
    @staticmethod
    def from_file(path: str) -> DataSources:
        """From a ``.toml`` or ``.json`` file of ``data_source`` entries."""
    def get_by_code(self, code: str) -> DataSource:
        """The source with this code (ValidationError when none)."""
    def get_by_registry_type(self, registry_type: str) -> List[DataSource]:
        """Every source of a registry type."""
    def codes(self) -> List[str]:
        """Every code, in order."""
    def __len__(self) -> int: ...
    def __getitem__(self, code: str, /) -> DataSource: ...

@final
class DCIClient:
    """A client for one external DCI registry, with OpenSPP's method names."""

    def __new__(
        cls,
        data_source: Any,
        env: Optional[Any] = None,
        *,
        signer: Optional[Signer] = None,
        **unknown: Any,
    ) -> DCIClient: ...
    @property
    def data_source(self) -> DataSource:
        """The data source this client was built from."""
    def search(
        self,
        query_type: Union[str, Query],
        query_value: Optional[Any] = None,
        record_type: Optional[str] = None,
        page: int = 1,
        page_size: int = 10,
        registry_type: Optional[str] = None,
        registry_event_type: Optional[str] = None,
        *,
        sort: Optional[Any] = None,
        consent: Optional[Any] = None,
        authorize: Optional[Any] = None,
        locale: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Sync search; returns the response envelope."""
    # The same method as ``search`` (the name OpenSPP's documentation uses).
    search_sync = search
    def search_async(
        self,
        query_type: Union[str, Query],
        query_value: Optional[Any] = None,
        record_type: Optional[str] = None,
        page: int = 1,
        page_size: int = 10,
        registry_type: Optional[str] = None,
        registry_event_type: Optional[str] = None,
        callback_url: Optional[str] = None,
        *,
        sort: Optional[Any] = None,
        consent: Optional[Any] = None,
        authorize: Optional[Any] = None,
        locale: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Async search; returns the ack with the ``transaction_id`` to wait for."""
    def search_by_id(
        self,
        identifier_type: str,
        identifier_value: str,
        record_type: Optional[str] = None,
        page: int = 1,
        page_size: int = 10,
        async_mode: bool = False,
    ) -> Dict[str, Any]:
        """Identifier lookup."""
    def search_by_identifier(
        self,
        identifier_type: str,
        identifier_value: str,
        record_type: Optional[str] = None,
        page: int = 1,
        page_size: int = 10,
        async_mode: bool = False,
    ) -> Dict[str, Any]:
        """Identifier lookup (OpenSPP's documented name for ``search_by_id``)."""
    def search_by_predicate(
        self,
        predicate: Any,
        record_type: Optional[str] = None,
        page: int = 1,
        page_size: int = 10,
        async_mode: bool = False,
    ) -> Dict[str, Any]:
        """Predicate search."""
    def search_by_expression(
        self,
        expression: Optional[Any] = None,
        record_type: Optional[str] = None,
        page: int = 1,
        page_size: int = 10,
        registry_type: Optional[str] = None,
        registry_event_type: Optional[str] = None,
        async_mode: bool = False,
        *,
        conditions: Optional[List[Dict[str, Any]]] = None,
    ) -> Dict[str, Any]:
        """Expression search."""
    def search_by_date_range(
        self,
        start_date: str,
        end_date: str,
        attribute_name: str = "dateOfEvent",
        event_type: Optional[str] = None,
        record_type: Optional[str] = None,
        page: int = 1,
        page_size: int = 10,
        async_mode: bool = False,
        use_opencrvs_format: bool = False,
    ) -> Dict[str, Any]:
        """``attribute_name`` between the two dates, inclusive."""
    def search_all(
        self,
        query_type: Union[str, Query],
        query_value: Optional[Any] = None,
        record_type: Optional[str] = None,
        page_size: int = 100,
        registry_type: Optional[str] = None,
        registry_event_type: Optional[str] = None,
    ) -> List[Dict[str, Any]]:
        """Every record of every page."""
    def subscribe(
        self,
        event_type: Union[str, Sequence[str]],
        filter_query: Optional[Any] = None,
        notify_record_type: str = "Person",
        filter_type: Optional[str] = None,
        frequency: Optional[Mapping[str, str]] = None,
    ) -> Dict[str, Any]:
        """Subscribes to registry events; returns the ack."""
    def upload(
        self,
        action: str,
        data: Union[bytes, bytearray, str, "os.PathLike[str]"],
        file_format: str = "json",
        file_name: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Uploads a file of envelopes (FileInfo form); returns the per-row report."""
    def upload_searches(self, specs: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
        """Async searches in one JSON file upload; returns the report and transaction ids."""
    def unsubscribe(self, subscription_codes: Sequence[str]) -> Dict[str, Any]:
        """Ends subscriptions; returns the ack."""
    def txn_status(self, attribute_value: Any, attribute_type: str = "transaction_id", txn_type: str = "search") -> Dict[str, Any]:
        """Sync transaction status; returns the response envelope."""
    def test_connection(self) -> Dict[str, Any]:
        """Checks auth and reachability."""
    def get_oauth2_token(self, force_refresh: bool = False) -> str:
        """The OAuth2 access token (cached, or fetched)."""
    def get_headers(self, force_refresh_token: bool = False) -> Dict[str, str]:
        """The HTTP headers a request carries, ``Authorization`` included."""
    def clear_oauth2_token_cache(self) -> None:
        """Forgets the cached OAuth2 token."""
    def handle_callback(
        self,
        body: Union[bytes, bytearray, str, Dict[str, Any]],
        headers: Optional[Union[Mapping[str, str], Iterable[Tuple[str, str]]]] = None,
    ) -> Dict[str, Any]:
        """Handles a callback the registry posted; returns the outcome with the ack to answer."""
    def wait_for(self, transaction_id: str, timeout: float = 30.0) -> Dict[str, Any]:
        """Waits for the callback of an async call."""
    def on_notify(self, handler: Callable[[Dict[str, Any]], Any]) -> None:
        """Registers a handler for notify events."""

@final
class CallbackListener:
    """An embeddable HTTP listener for the registry's callbacks."""

    def __new__(cls, client: Optional[DCIClient] = None, host: str = "127.0.0.1", port: int = 0) -> CallbackListener: ...
    def start(self, client: DCIClient) -> None:
        """Starts serving callbacks for ``client``."""
    @property
    def port(self) -> int:
        """The bound port."""
    @property
    def host(self) -> str:
        """The bound host address."""
    @property
    def url(self) -> str:
        """``http://host:port``."""
    def wait_for(self, transaction_id: str, timeout: float = 30.0) -> Dict[str, Any]:
        """See ``DCIClient.wait_for``."""
    def on_notify(self, handler: Callable[[Dict[str, Any]], Any]) -> None:
        """See ``DCIClient.on_notify``."""
    def shutdown(self) -> None:
        """Stops accepting callbacks (idempotent)."""
    def __enter__(self) -> CallbackListener: ...
    def __exit__(
        self,
        *_exc: Union[Optional[type], Optional[BaseException], Optional[TracebackType]],
    ) -> bool: ...

# ------------------------------------------------------------------------------ services

@final
class CRVSService:
    """Civil registration: birth verification, death check, vital-event subscriptions."""

    def __new__(cls, source: Any, env_or_code: Optional[Any] = None, *, data_source_code: Optional[str] = None, **unknown: Any) -> CRVSService: ...
    @property
    def data_source(self) -> DataSource: ...
    @property
    def env(self) -> Optional[Any]: ...
    @property
    def client(self) -> DCIClient:
        """The client the service calls through."""
    def verify_birth(self, identifier_type: str, identifier_value: str) -> Optional[Dict[str, Any]]:
        """The birth record, or None."""
    def is_deceased(self, identifier_type: str, identifier_value: str) -> bool:
        """True when the registry records the person's death."""
    def check_death(self, identifier_type: str, identifier_value: str) -> bool:
        """``is_deceased`` under OpenSPP's name."""
    def unsubscribe_events(self, subscription_codes: List[str]) -> Dict[str, Any]:
        """Ends vital-event subscriptions; returns the ack."""
    def process_notification(self, notification_data: Dict[str, Any]) -> List[Dict[str, Any]]:
        """The vital events of a notification."""
    def subscribe_events(self, event_types: Optional[List[str]] = None) -> Dict[str, Any]:
        """Subscribes to vital events; returns the ack."""
    def search_births(self, date_from: str, date_to: str) -> List[Dict[str, Any]]:
        """Every birth registered between the two dates."""

@final
class IBRService:
    """Integrated beneficiary registry: duplicate checks and beneficiary lookup."""

    def __new__(cls, source: Any, env_or_code: Optional[Any] = None, *, data_source_code: Optional[str] = None, **unknown: Any) -> IBRService: ...
    @property
    def data_source(self) -> DataSource: ...
    @property
    def env(self) -> Optional[Any]: ...
    @property
    def client(self) -> DCIClient: ...
    def check_duplication(self, partner: Any) -> DuplicationResult:
        """A record for any of the partner's identifiers is a duplicate."""
    def search_beneficiary(self, identifier_type: str, identifier_value: str) -> List[BeneficiaryInfo]:
        """The beneficiaries held under this identifier."""
    def get_enrollment_status(self, identifier_type: str, identifier_value: str) -> Dict[str, Any]:
        """``{"enrolled", "programs", "beneficiary_info"}``."""
    def enrolled(self, identifier_type: str, identifier_value: str) -> bool:
        """Whether the person is enrolled."""

@final
class DRService:
    """Disability registry: disability status, Washington Group scores, PWD check."""

    def __new__(cls, source: Any, env_or_code: Optional[Any] = None, *, data_source_code: Optional[str] = None, **unknown: Any) -> DRService: ...
    @property
    def data_source(self) -> DataSource: ...
    @property
    def env(self) -> Optional[Any]: ...
    @property
    def client(self) -> DCIClient: ...
    def get_disability_status(self, partner_or_type: Any, identifier_value: Optional[str] = None) -> Optional[Dict[str, Any]]:
        """The person's disability record, or None."""
    def get_functional_scores(self, identifier_type: str, identifier_value: str) -> Dict[str, int]:
        """Washington Group scores by domain."""
    def get_functional_assessment(self, identifier_type: str, identifier_value: str) -> Optional[Dict[str, Any]]:
        """Washington Group scores with ``assessment_date``, or None."""
    def is_pwd(self, partner_or_type: Any, identifier_value: Optional[str] = None) -> bool:
        """True when the person is a person with disability."""
    def sync_disability_data(self, partner_or_type: Any, identifier_value: Optional[str] = None) -> Dict[str, Any]:
        """What to store locally for the person."""

# ------------------------------------------------------------------------------ registry kit

@final
class Admission:
    """The outcome of ``Registry.admit``: admitted (``ok``), or refused with the HTTP
    ``status`` and the exact spec ``body`` to send."""

    @property
    def ok(self) -> bool:
        """Whether the request was admitted."""
    @property
    def status(self) -> Optional[int]:
        """The HTTP status of a refusal (None when admitted)."""
    @property
    def body(self) -> Optional[Dict[str, Any]]:
        """The body to send with ``status`` (None when admitted)."""
    @property
    def retry_after(self) -> Optional[int]:
        """``Retry-After`` seconds of a refusal, when it has one."""
    @property
    def code(self) -> Optional[str]:
        """The refusal's code (``err.sender_id.invalid``, ``rjct.message_id.duplicate``)."""
    @property
    def reason(self) -> Optional[str]:
        """The refusal's message (what the peer is told)."""
    @property
    def cause(self) -> Optional[str]:
        """What went wrong inside, for the host's log (internal refusals only)."""
    @property
    def operation(self) -> Optional[str]:
        """The path after ``/registry/``: ``sync/search``, ``search``, ``txn/status``, ..."""
    @property
    def mode(self) -> Optional[str]:
        """``"sync"``, ``"async"`` or ``"receive"``."""
    @property
    def action(self) -> Optional[str]:
        """The ``header.action`` the endpoint takes."""
    @property
    def registry(self) -> Optional[str]:
        """The registry type of the path (``crvs``, ``social``, ``ibr``, ``dr``, ``fr``)."""
    @property
    def sender_id(self) -> Optional[str]:
        """``header.sender_id`` (also of a refusal that got that far)."""
    @property
    def sender(self) -> Optional[Dict[str, Any]]:
        """The registered sender as a dict."""
    @property
    def message_id(self) -> Optional[str]:
        """``header.message_id`` of the request."""
    @property
    def correlation_id(self) -> Optional[str]:
        """The correlation id this registry gave the request."""
    @property
    def sender_uri(self) -> Optional[str]:
        """``header.sender_uri`` of the request."""
    @property
    def transaction_id(self) -> Optional[str]:
        """``message.transaction_id``."""
    @property
    def message(self) -> Optional[Dict[str, Any]]:
        """The request's message (decrypted and parsed)."""
    @property
    def signed(self) -> Optional[bool]:
        """Whether the request carried a signature."""
    @property
    def deviations(self) -> List[Tuple[str, str]]:
        """The spec deviations strict mode found, as ``(path, rule)``."""
    @property
    def search_items(self) -> List[Dict[str, Any]]:
        """One dict per search item, with ``parsed`` (a Query or None) and ``parse_error``."""
    def __bool__(self) -> bool: ...

_SearchResult = Union[List[Dict[str, Any]], Tuple[str, str], Dict[str, Any]]

@final
class Registry:
    """A DCI registry's admission and answers (the kit ``dci serve`` runs on)."""

    def __new__(
        cls,
        *,
        key: Optional[Union[SigningKey, bytes, str]] = None,
        server_id: Optional[str] = None,
        key_id: Optional[str] = None,
        algorithm: Optional[str] = None,
        profile: str = "spdci",
        digest: str = "sha256",
        validity_secs: int = 300,
        signer: Optional[Signer] = None,
        senders: Optional[Union[List[Dict[str, Any]], Callable[[str], Optional[Dict[str, Any]]]]] = None,
        replay: Optional[Callable[[str, str, int, int], bool]] = None,
        clock_skew_secs: int = 300,
        max_search_items: int = 100,
        max_page_size: int = 1000,
        default_registry: str = "crvs",
        allow_private_callbacks: bool = False,
        decryption_keys: Optional[List[Union[Tuple[str, str], Dict[str, str], str]]] = None,
        strict: bool = False,
        **unknown: Any,
    ) -> Registry: ...
    @property
    def server_id(self) -> str:
        """The id this registry answers as."""
    def verifying_key(self) -> VerifyingKey:
        """The public key that verifies this registry's answers."""
    def jwks(self) -> Dict[str, Any]:
        """The JWKS to publish at ``/.well-known/jwks.json``."""
    def routes(self) -> List[Tuple[str, str]]:
        """Every path this registry answers, with its operation name."""
    def admit(self, path: str, body: Union[bytes, bytearray, str], headers: Optional[Any] = None) -> Admission:
        """Admits a request received on ``path``; never raises for a bad request."""
    def reject(self, to: Union[Admission, str], code: str, message: str, status: Optional[int] = None) -> Admission:
        """A refusal the host decides (a refused Admission)."""
    def ack(self, admission: Admission) -> Dict[str, Any]:
        """The spec's Ack of an admitted async request."""
    def answer(self, admission: Admission, message: Union[Dict[str, Any], List[_SearchResult]]) -> Dict[str, Any]:
        """The signed answer envelope of the admitted request."""
    def search_message(self, admission: Admission, results: List[_SearchResult]) -> Dict[str, Any]:
        """The unsigned SearchResponse message of an admitted search."""
    def on_search(self, admission: Admission, results: List[_SearchResult]) -> Dict[str, Any]:
        """The signed on-search envelope of an admitted search."""
    def txn_status_message(self, admission: Admission, found: Optional[Dict[str, Any]], reason: Optional[str] = None) -> Dict[str, Any]:
        """The TxnStatusResponse message of an admitted txn status request."""
    def callback(self, admission: Admission, message_or_results: Union[Dict[str, Any], List[_SearchResult]]) -> Optional[Tuple[str, Dict[str, Any]]]:
        """``(url, envelope)`` of the async answer, or None without an address."""
    def callback_url(self, admission: Admission) -> Union[str, None, Admission]:
        """Where the async answer goes, or the refusal of its address."""
    def check_destination(self, url: str) -> List[str]:
        """The allowed addresses (``ip:port``) a callback URL resolves to, checked now."""
    def add_sender(self, sender: Dict[str, Any]) -> None:
        """Adds or replaces an in-memory sender."""
    def remove_sender(self, sender_id: str) -> bool:
        """Removes an in-memory sender; whether it was there."""
    def sender_ids(self) -> List[str]:
        """The ids of the in-memory senders."""
