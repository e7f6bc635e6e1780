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
    # Larger than 64 bits: the bytes path keeps it as written, and a Python int is written
    # exactly as json.dumps writes it (the dict is written straight from its objects).
    doc = b'{"n": 123456789012345678901234567890, "f": 1.5}'
    assert dci.canonicalize_json(doc) == b'{"f":1.5,"n":123456789012345678901234567890}'
    big = {"n": 123456789012345678901234567890, "m": -(2**70), "f": 1.5}
    assert dci.canonicalize(big) == b'{"f":1.5,"m":-1180591620717411303424,"n":123456789012345678901234567890}'
    assert dci.canonicalize(big) == py_canonical(big)


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
    with pytest.raises(ValueError, match=r"value\.x\[0\]: inf is not a JSON number"):
        dci.canonicalize({"x": [float("inf")]})


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


def random_value(rng, depth=0):
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.randrange(-(2**63), 2**63)
    if kind == 3:
        return rng.choice([0.0, -0.0, 1e-7, 1e21, 123.456, -1.5e300, rng.uniform(-1e6, 1e6), 5e-324])
    if kind in (4, 5):
        alphabet = "az AZ09\"\\/\b\f\n\r\t\x00\x1f\x7f\u00e9\u2028\u20ac\U0001f600\ud7ff\ue000"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(12)))
    if kind in (6, 7):
        return {"".join(rng.choice("abcXYZ_é😀") for _ in range(rng.randrange(1, 6))): random_value(rng, depth + 1) for _ in range(rng.randrange(6))}
    return [random_value(rng, depth + 1) for _ in range(rng.randrange(6))]


@pytest.mark.parametrize("seed", range(300))
def test_differential_against_json_dumps(seed):
    import random

    rng = random.Random(seed)
    value = random_value(rng)
    for ensure_ascii in (True, False):
        expected = py_canonical(value, ensure_ascii)
        assert dci.canonicalize(value, ensure_ascii=ensure_ascii) == expected
        assert dci.canonicalize_json(json.dumps(value, ensure_ascii=ensure_ascii).encode(), ensure_ascii=ensure_ascii) == expected


def test_lone_surrogates_are_refused_cleanly():
    # json.dumps would escape it, but such a str cannot be UTF-8 on the wire.
    with pytest.raises(UnicodeEncodeError):
        dci.canonicalize({"x": "\ud800"})
