"""Canonical JSON: byte-for-byte what Python's json.dumps(sort_keys=True) writes."""

import json

import pytest

import dci


def py_canonical(value, ensure_ascii=True):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=ensure_ascii).encode()


SAMPLES = [
    {"b": 1, "a": [True, False, None], "c": {"z": "é", "y": "😀"}},
    {"float": 1.0, "small": 1e-07, "big": 1e21, "neg": -0.5, "pi": 3.141592653589793},
    {"ctrl": "tab\there\nnl \u0001 \"q\" \\ /", "empty": {}, "list": []},
    {"nested": [{"k2": 2, "k1": 1}, [1, [2, [3]]]], "int": -9007199254740993},
    ["top", "level", 12345678901234567],
    "just a string ☃",
]


@pytest.mark.parametrize("value", SAMPLES)
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_canonicalize_matches_python(value, ensure_ascii):
    assert dci.canonicalize(value, ensure_ascii=ensure_ascii) == py_canonical(value, ensure_ascii)


@pytest.mark.parametrize("value", SAMPLES)
def test_canonicalize_json_matches_python(value):
    text = json.dumps(value, indent=2)
    assert dci.canonicalize_json(text) == py_canonical(value)
    assert dci.canonicalize_json(text.encode()) == py_canonical(value)


def test_exact_text():
    assert dci.canonicalize({"b": 1, "a": "é"}) == b'{"a":"\\u00e9","b":1}'
    assert dci.canonicalize({"b": 1, "a": "é"}, ensure_ascii=False) == '{"a":"é","b":1}'.encode()


def test_numbers_from_bytes_are_kept_exactly():
    # Larger than 64 bits: only the bytes path can keep it, and it keeps it as written.
    doc = b'{"n": 123456789012345678901234567890, "f": 1.5}'
    assert dci.canonicalize_json(doc) == b'{"f":1.5,"n":123456789012345678901234567890}'


def test_large_document_matches_python():
    value = {"records": [{"id": i, "name": f"person-{i}", "score": i / 7} for i in range(20000)]}
    assert dci.canonicalize(value) == py_canonical(value)
    assert dci.canonicalize_json(json.dumps(value)) == py_canonical(value)


def test_malformed_json_is_a_validation_error():
    with pytest.raises(dci.ValidationError) as e:
        dci.canonicalize_json(b'{"a": 1,}')
    assert e.value.kind == "json"
    assert e.value.code == "err.request.bad"


def test_duplicate_keys_are_refused():
    with pytest.raises(dci.ValidationError) as e:
        dci.canonicalize_json(b'{"a": 1, "a": 2}')
    assert e.value.kind == "json"
    assert "duplicate" in str(e.value)


def test_non_json_values_are_refused_with_their_path():
    with pytest.raises(TypeError, match=r"value\.a\[1\]: set is not JSON"):
        dci.canonicalize({"a": [1, {2}]})
    with pytest.raises(TypeError, match="keys must be str"):
        dci.canonicalize({1: "x"})
    with pytest.raises(ValueError, match="not a JSON number"):
        dci.canonicalize({"x": float("nan")})
    with pytest.raises(ValueError, match="64 bits"):
        dci.canonicalize({"x": 2**70})


def test_cycles_fail_cleanly():
    a: list = []
    a.append(a)
    with pytest.raises(ValueError, match="nested deeper"):
        dci.canonicalize(a)


def test_tuples_and_to_dict_objects():
    class Obj:
        def to_dict(self):
            return {"y": (1, 2)}

    assert dci.canonicalize({"x": Obj()}) == b'{"x":{"y":[1,2]}}'
