"""Messages: search requests and envelopes built by the core, validation naming the field."""

import re

import pytest

import dci

SEED = bytes(range(32))
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_new_id_is_uuid4():
    a, b = dci.new_id(), dci.new_id()
    assert UUID.match(a) and a != b


def test_callback_action():
    assert dci.callback_action("search") == "on-search"
    assert dci.callback_action("txn-status") == "txn-on-status"
    assert dci.callback_action("on-search") is None


def test_search_request_from_a_query():
    msg = dci.search_request(
        dci.Query.idtype_value("UIN", "847951632"),
        transaction_id="txn-1",
        reg_type="ns:org:RegistryType:Civil",
        page_size=10,
        sort=[("birth_date", "desc")],
        locale="eng",
    )
    assert msg["transaction_id"] == "txn-1"
    [item] = msg["search_request"]
    assert UUID.match(item["reference_id"])
    assert item["locale"] == "eng"
    crit = item["search_criteria"]
    assert crit["reg_type"] == "ns:org:RegistryType:Civil"
    assert crit["query_type"] == "idtype-value"
    assert crit["query"] == {"type": "UIN", "value": "847951632"}
    assert crit["pagination"] == {"page_size": 10, "page_number": 1}
    assert crit["sort"] == [{"attribute_name": "birth_date", "sort_order": "desc"}]
    dci.validate_message("SearchRequest", msg)


def test_search_request_many_query_forms():
    msg = dci.search_request(
        [
            dci.Query.idtype_value("UIN", "1"),
            ("predicate", [{"expression1": {"attribute_name": "age", "operator": "lt", "attribute_value": 5}}]),
            {"query_type": "idtype-value", "query": {"type": "BRN", "value": "2"}},
        ],
        sort=[{"attribute_name": "age", "sort_order": "asc"}],
    )
    assert [i["search_criteria"]["query_type"] for i in msg["search_request"]] == ["idtype-value", "predicate", "idtype-value"]
    assert msg["search_request"][0]["search_criteria"]["sort"] == [{"attribute_name": "age", "sort_order": "asc"}]


def test_search_request_errors_name_the_field():
    with pytest.raises(dci.ValidationError) as e:
        dci.search_request([])
    assert e.value.field == "search_request"
    with pytest.raises(dci.ValidationError) as e:
        dci.search_request(dci.Query.idtype_value("UIN", "1"), locale="english")
    assert e.value.field == "search_request[0].locale"
    with pytest.raises(dci.ValidationError) as e:
        dci.search_request(dci.Query.idtype_value("UIN", "1"), page_size=0)
    assert "page_size" in e.value.field
    with pytest.raises(dci.ValidationError) as e:
        dci.search_request({"query": {}})
    assert e.value.field == "queries[0].query_type"


def test_envelope_unsigned_and_signed():
    msg = dci.search_request(dci.Query.idtype_value("UIN", "1"), transaction_id="t")
    env = dci.envelope("search", msg, sender_id="openspp.example.org", receiver_id="crvs.example.org", message_id="m-1", message_ts="2025-01-01T00:00:00Z")
    assert list(env) == ["signature", "header", "message"]
    assert env["signature"] == ""
    assert env["header"] == {
        "version": "1.0.0",
        "message_id": "m-1",
        "message_ts": "2025-01-01T00:00:00Z",
        "action": "search",
        "sender_id": "openspp.example.org",
        "receiver_id": "crvs.example.org",
        "total_count": 1,
    }
    assert env["message"] == msg
    dci.validate(env)
    signer = dci.Signer(dci.SigningKey.from_ed25519_seed(SEED), "openspp.example.org", "k1")
    signed = dci.envelope("search", msg, sender_id="openspp.example.org", signer=signer, now=1735689600)
    assert list(signed) == ["signature", "header", "message"]
    assert dci.verify(signed, signer.verifying_key(), now=1735689600)["kid"] == signer.kid


def test_envelope_counts_items_and_requires_sender():
    msg = dci.search_request([dci.Query.idtype_value("UIN", "1"), dci.Query.idtype_value("UIN", "2")])
    assert dci.envelope("search", msg, sender_id="me")["header"]["total_count"] == 2
    assert dci.envelope("search", msg, sender_id="me", total_count=7)["header"]["total_count"] == 7
    with pytest.raises(dci.ValidationError) as e:
        dci.envelope("search", {"transaction_id": "t"}, sender_id="me")
    assert e.value.field == "search_request"
    with pytest.raises(dci.ValidationError) as e:
        dci.envelope("search", msg, sender_id="me", message_ts="yesterday")
    assert e.value.field == "header.message_ts"


def test_validate_lists_every_violation():
    env = {
        "signature": "",
        "header": {"message_id": "m", "message_ts": "yesterday", "action": "search", "total_count": 1},
        "message": {"transaction_id": "t", "search_request": [{"reference_id": "r", "search_criteria": {"query_type": "idtype-value", "query": {}}}]},
    }
    with pytest.raises(dci.ValidationError) as e:
        dci.validate(env)
    paths = [p for p, _ in e.value.violations]
    assert "header.sender_id" in paths
    assert "header.message_ts" in paths
    assert "message.search_request[0].timestamp" in paths
    assert e.value.field == paths[0]
    assert e.value.code == "err.request.bad"
    # JSON text is accepted too.
    import json

    with pytest.raises(dci.ValidationError):
        dci.validate(json.dumps(env).encode())


def test_validate_by_kind():
    ack = {"message": {"ack_status": "ACK", "timestamp": "2025-01-01T00:00:00Z", "correlation_id": "c"}}
    dci.validate(ack, kind="ack")
    with pytest.raises(dci.ValidationError) as e:
        dci.validate({"message": {"ack_status": "MAYBE", "timestamp": "2025-01-01T00:00:00Z", "correlation_id": "c"}}, kind="ack")
    assert e.value.field == "message.ack_status"
    with pytest.raises(dci.ValidationError) as e:
        dci.validate(ack, kind="no-such-kind")
    assert e.value.field == "kind"
