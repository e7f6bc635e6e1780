"""The exception hierarchy of libdci.

The native module raises these; the mapping from the Rust error type lives in one place
(``bindings/python/src/errors.rs``). Every exception carries:

- ``kind``: the stable error kind (``"signature_invalid"``, ``"timeout"``, ...), the same names
  as the C ABI and Go error kinds;
- ``code``: the DCI error code (``"err.signature.invalid"``, ``"rjct.reference_id.invalid"``)
  when one describes the error, else ``None``;
- ``transaction_id``: the DCI transaction the error belongs to, where there is one;
- ``message``: the error text (for a ``ProtocolError``, the peer's own message).
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple


class DCIError(Exception):
    """Base class of every error libdci raises."""

    kind: str = "internal"
    code: Optional[str] = None
    transaction_id: Optional[str] = None
    message: str = ""

    def __init__(self, text: str, **attrs: Any) -> None:
        super().__init__(text)
        self.message = text
        for name, value in attrs.items():
            setattr(self, name, value)


class SignatureError(DCIError):
    """A signature is missing, malformed, invalid, expired or not yet valid, or a key or an
    algorithm cannot be used (``kind`` says which)."""

    kind = "signature_invalid"


class EncryptionError(DCIError):
    """An encrypted message cannot be made or opened (``code`` ``"err.encryption.invalid"``):
    unknown alg or enc, unknown kid, wrong key, tampered ciphertext, tag or header."""

    kind = "encryption"
    code: Optional[str] = "err.encryption.invalid"


class ValidationError(DCIError, ValueError):
    """A message, a query, a JSON document or a configuration breaks the rules.

    ``field`` is the path of the first broken field (``message.search_request[0].reference_id``,
    ``signing.key_pem``); ``violations`` lists every ``(path, rule)`` found.
    """

    kind = "validation"
    field: Optional[str] = None
    violations: List[Tuple[str, str]] = []


class AuthError(DCIError):
    """Authentication failed: the OAuth2 token request or the bearer token was refused."""

    kind = "auth"
    endpoint: Optional[str] = None


class TransportError(DCIError):
    """The network failed (``kind``: ``"timeout"``, ``"connection"``, ``"tls"``,
    ``"transport"``) or the peer answered with an unexpected HTTP status (``kind`` ``"http"``,
    with ``status``)."""

    kind = "transport"
    endpoint: Optional[str] = None
    status: Optional[int] = None

    @property
    def is_timeout(self) -> bool:
        """True when the call ran out of time."""
        return self.kind == "timeout"


class ProtocolError(DCIError):
    """The peer answered with a DCI error or rejection: ``code`` is its ``err.*`` or ``rjct.*``
    code and ``message`` its text."""

    kind = "protocol"
    endpoint: Optional[str] = None

