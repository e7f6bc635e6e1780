"""The public surface: every name has a docstring; the errors' hierarchy; thread safety of
shared objects."""

import concurrent.futures
import inspect

import pytest

import dci


def public_members(obj):
    for name, member in inspect.getmembers(obj):
        if not name.startswith("_"):
            yield name, member


@pytest.mark.parametrize("name", [n for n in dci.__all__ if n != "__version__"])
def test_every_public_name_has_a_docstring(name):
    obj = getattr(dci, name)
    assert (obj.__doc__ or "").strip(), f"dci.{name} has no docstring"
    if inspect.isclass(obj) and not issubclass(obj, BaseException):
        for attr, member in public_members(obj):
            assert (member.__doc__ or "").strip(), f"dci.{name}.{attr} has no docstring"


def test_error_hierarchy():
    for cls in (dci.SignatureError, dci.ValidationError, dci.AuthError, dci.TransportError, dci.ProtocolError):
        assert issubclass(cls, dci.DCIError)
    assert issubclass(dci.ValidationError, ValueError)
    e = dci.ProtocolError("rjct.reference_id.invalid from x: bad", code="rjct.reference_id.invalid", message="bad", transaction_id="t")
    assert (e.code, e.message, e.transaction_id, str(e)) == ("rjct.reference_id.invalid", "bad", "t", "rjct.reference_id.invalid from x: bad")
    assert dci.DCIError("x").transaction_id is None


def test_version():
    assert dci.__version__.count(".") == 2


def test_shared_signer_from_many_threads():
    signer = dci.Signer(dci.SigningKey.from_ed25519_seed(bytes(32)), "me", "k")
    vk = signer.verifying_key()
    big = {"records": [{"id": i, "name": f"n{i}"} for i in range(5000)]}

    def work(i):
        env = signer.sign({"signature": "", "header": {"n": i}, "message": big}, now=1735689600)
        return dci.verify(env, vk, now=1735689600)["created"]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        assert list(pool.map(work, range(16))) == [1735689600] * 16
