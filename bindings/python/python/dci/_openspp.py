"""OpenSPP's signing classes (``spp_dci.services.signing``) by their names and call shapes,
over the native ``Signer`` and ``verify``: a host switching from OpenSPP keeps its calls."""

from typing import Any, Dict, Optional, Union

from ._dci import Jwks, Signer, SigningKey, VerifyingKey, verify


class DCISigner:
    """``DCISigner(private_key, sender_id, key_id, algorithm="ed25519")``: ``private_key`` is
    PEM (bytes or str), a raw 32-byte Ed25519 seed, or a ``SigningKey``; ``algorithm`` must be
    the key's. ``sign(header, message)`` returns the ``signature`` value. ``dialect`` (ours)
    is the header normal form of ``Signer``."""

    def __init__(
        self,
        private_key: Union[bytes, str, SigningKey],
        sender_id: str,
        key_id: str,
        algorithm: str = "ed25519",
        *,
        dialect: Optional[str] = None,
    ) -> None:
        self.signer = Signer(private_key, sender_id, key_id, algorithm, dialect=dialect)

    @property
    def sender_id(self) -> str:
        """The first part of the kid."""
        return self.signer.sender_id

    @property
    def key_id(self) -> str:
        """The second part of the kid."""
        return self.signer.key_id

    @property
    def algorithm(self) -> str:
        """The signing algorithm (the third part of the kid)."""
        return self.signer.algorithm

    @property
    def kid(self) -> str:
        """``{sender_id}|{key_id}|{algorithm}``."""
        return self.signer.kid

    def sign(self, header: Dict[str, Any], message: Any) -> str:
        """The ``signature`` value over ``header`` and ``message``."""
        return self.signer.signature_for(header, message)


class DCIVerifier:
    """``DCIVerifier(public_key, algorithm="ed25519")``: ``public_key`` is PEM (bytes or
    str) or a ``VerifyingKey``. ``verify(signature, header, message)`` is True or False, as
    OpenSPP's; the kid's sender must be ``header.sender_id``."""

    def __init__(self, public_key: Union[bytes, str, VerifyingKey], algorithm: str = "ed25519") -> None:
        if isinstance(public_key, bytes):
            public_key = public_key.decode()
        self.public_key = public_key if isinstance(public_key, VerifyingKey) else VerifyingKey.from_pem(public_key)
        if self.public_key.algorithm != algorithm and algorithm.lower() not in ("eddsa", "rs256"):
            raise ValueError(f"algorithm {algorithm!r} is not the key's ({self.public_key.algorithm})")
        self.algorithm = self.public_key.algorithm

    def verify(self, signature: str, header: Dict[str, Any], message: Any) -> bool:
        """Whether ``signature`` is valid over ``header`` and ``message``."""
        return bool(verify(signature, header, message, self.public_key))


def fetch_jwks(url: str, timeout: float = 30.0, verify_tls: bool = True) -> Jwks:
    """The JWKS published at ``url`` (``Jwks.fetch``)."""
    return Jwks.fetch(url, timeout=timeout, verify_tls=verify_tls)


def verify_signature(signature: str, header: Dict[str, Any], message: Any, public_key: Any) -> bool:
    """OpenSPP's overview name: ``verify(signature, header, message, key)``, True or False."""
    return bool(verify(signature, header, message, public_key))
