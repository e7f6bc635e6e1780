"""OpenSPP's IBR result shapes, as dicts: ``json.dumps(r)``, ``dict(r)``, ``"is_duplicate" in r``
and ``r.get(...)`` work, and the fields read as attributes too. The values come from the Rust
core (``IBRService``); these classes only give them OpenSPP's shape."""

from typing import Any, Dict, List, Optional


class DuplicationResult(Dict[str, Any]):
    """The outcome of a duplication check: ``is_duplicate``, ``matched_programs``,
    ``raw_response`` (one response envelope per identifier searched). OpenSPP's defaults:
    ``DuplicationResult()`` is not a duplicate, with no programmes and ``{}`` as raw response.
    ``bool(result)`` is ``is_duplicate``."""

    def __init__(
        self,
        is_duplicate: bool = False,
        matched_programs: Optional[List[str]] = None,
        raw_response: Any = None,
    ) -> None:
        super().__init__(
            is_duplicate=bool(is_duplicate),
            matched_programs=list(matched_programs or []),
            raw_response=raw_response if raw_response else {},
        )

    @property
    def is_duplicate(self) -> bool:
        """True when the registry holds a record for any identifier."""
        return bool(self["is_duplicate"])

    @property
    def matched_programs(self) -> List[str]:
        """Programme names (sorted, without repeats)."""
        return list(self["matched_programs"])

    @property
    def raw_response(self) -> Any:
        """One response envelope per identifier searched (``{}`` by default)."""
        return self["raw_response"]

    def to_dict(self) -> Dict[str, Any]:
        """A plain dict of the same keys."""
        return dict(self)

    def __bool__(self) -> bool:
        return self.is_duplicate

    def __repr__(self) -> str:
        return f"DuplicationResult(is_duplicate={self.is_duplicate!r}, matched_programs={self.matched_programs!r})"


class BeneficiaryInfo(Dict[str, Any]):
    """A beneficiary found in the IBR: ``identifier_type``, ``identifier_value``, ``name``,
    ``programs``, ``metadata`` (the record as received; also under ``raw_data``, the key of
    OpenSPP's search matches), ``reference_id`` and ``identifiers``."""

    def __init__(
        self,
        identifier_type: str,
        identifier_value: str,
        name: Optional[str] = None,
        programs: Optional[List[str]] = None,
        metadata: Optional[Dict[str, Any]] = None,
        *,
        reference_id: Optional[str] = None,
        identifiers: Optional[List[Dict[str, Any]]] = None,
    ) -> None:
        record = metadata if metadata else {}
        super().__init__(
            identifier_type=identifier_type,
            identifier_value=identifier_value,
            name=name,
            programs=list(programs or []),
            metadata=record,
            raw_data=record,
            reference_id=reference_id,
            identifiers=list(identifiers or []),
        )

    @property
    def identifier_type(self) -> str:
        """The identifier type looked up."""
        return str(self["identifier_type"])

    @property
    def identifier_value(self) -> str:
        """The identifier value looked up."""
        return str(self["identifier_value"])

    @property
    def name(self) -> Optional[str]:
        """The beneficiary's name, if the record carries one."""
        return self["name"]

    @property
    def programs(self) -> List[str]:
        """The programmes the beneficiary is enrolled in."""
        return list(self["programs"])

    @property
    def metadata(self) -> Dict[str, Any]:
        """The record as received."""
        return dict(self["metadata"])

    @property
    def raw_data(self) -> Dict[str, Any]:
        """The record as received (OpenSPP's key)."""
        return dict(self["raw_data"])

    @property
    def reference_id(self) -> Optional[str]:
        """The ``reference_id`` of the search item the record came in."""
        return self["reference_id"]

    @property
    def identifiers(self) -> List[Dict[str, Any]]:
        """The record's identifiers."""
        return list(self["identifiers"])

    def to_dict(self) -> Dict[str, Any]:
        """A plain dict of the same keys."""
        return dict(self)

    def __repr__(self) -> str:
        return (
            f"BeneficiaryInfo(identifier_type={self.identifier_type!r}, identifier_value={self.identifier_value!r}, "
            f"name={self.name!r}, programs={self.programs!r})"
        )
