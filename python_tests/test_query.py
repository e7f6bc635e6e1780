"""Queries: builders, the evaluator and sorting, all in the Rust core."""

import pytest

import dci

PERSON = {
    "identifier": [{"identifier_type": "UIN", "identifier_value": "847951632"}],
    "name": {"given_name": "Ana", "surname": "Lopez"},
    "age": 19,
    "poverty_score": 1.5,
    "birth_date": "2006-03-01",
    "sex": "female",
}


def test_idtype_value_builder_and_match():
    q = dci.Query.idtype_value("UIN", "847951632")
    assert q.query_type == "idtype-value"
    assert q.query == {"type": "UIN", "value": "847951632"}
    assert q.to_dict() == {"query_type": "idtype-value", "query": {"type": "UIN", "value": "847951632"}}
    assert q.matches(PERSON)
    assert not dci.Query.idtype_value("UIN", "000").matches(PERSON)
    assert not dci.Query.idtype_value("BRN", "847951632").matches(PERSON)


def test_predicate_builder_wire_form():
    p = dci.Predicate("age", "lt", 25).and_("poverty_score", "lt", 2.5).with_seq_num(1)
    assert p.to_dict() == {
        "seq_num": 1,
        "expression1": {"attribute_name": "age", "operator": "lt", "attribute_value": 25},
        "condition": "and",
        "expression2": {"attribute_name": "poverty_score", "operator": "lt", "attribute_value": 2.5},
    }
    q = dci.Query.predicate([p])
    assert q.query_type == "predicate"
    assert q.query == [p.to_dict()]
    assert q.matches(PERSON)
    assert not q.matches({**PERSON, "age": 30})


def test_predicate_conditions():
    assert dci.Query.predicate([dci.Predicate("age", "gt", 40).or_("sex", "eq", "female")]).matches(PERSON)
    assert not dci.Query.predicate([dci.Predicate("sex", "eq", "female").negated()]).matches(PERSON)
    assert not dci.Query.predicate([dci.Predicate("age", "lt", 25).and_not("sex", "eq", "female")]).matches(PERSON)
    assert dci.Query.predicate([dci.Predicate("sex", "in", ["male", "female"])]).matches(PERSON)


def test_predicate_from_wire_dicts():
    items = [
        {"seq_num": 1, "expression1": {"attribute_name": "birth_date", "operator": "ge", "attribute_value": "2006-01-01"}},
        {"seq_num": 2, "expression1": {"attribute_name": "birth_date", "operator": "le", "attribute_value": "2006-12-31"}},
    ]
    assert dci.matches(PERSON, "predicate", items)
    assert not dci.matches({**PERSON, "birth_date": "2007-01-01"}, "predicate", items)
    # A single item is accepted as a one-item list.
    assert dci.Query.predicate(items[0]).query == [items[0]]


def test_expression_builder():
    q = dci.Query.expression({"$and": [{"age": {"$lt": 25}}, {"name.given_name": {"$startsWith": "A"}}]}, collection="Person")
    assert q.query_type == "expression"
    assert q.query["type"] == "ns:org:QueryType:expression"
    assert q.query["value"]["expression"]["collection"] == "Person"
    assert q.matches(PERSON)
    assert not q.matches({**PERSON, "age": 26})


def test_parse_accepts_namespaced_query_types():
    q = dci.Query.parse("ns:org:QueryType:idtype-value", {"type": "UIN", "value": "847951632"})
    assert q == dci.Query.idtype_value("UIN", "847951632")
    assert dci.matches(PERSON, "IDTYPE-VALUE", {"type": "UIN", "value": "847951632"})


def test_graphql_is_built_but_not_evaluated():
    q = dci.Query.graphql("{ person { name } }")
    assert q.query["value"]["expression"] == "{ person { name } }"
    with pytest.raises(dci.ValidationError) as e:
        q.matches(PERSON)
    assert e.value.kind == "query"


def test_errors_name_the_field():
    with pytest.raises(dci.ValidationError) as e:
        dci.Predicate("age", "like", 1)
    assert e.value.kind == "query"
    assert "like" in str(e.value)
    bad = [{"expression1": {"attribute_name": "age", "operator": "lt", "attribute_value": 1}}, {"expression1": {"attribute_name": "age", "operator": "like", "attribute_value": 1}}]
    with pytest.raises(dci.ValidationError) as e:
        dci.Query.predicate(bad)
    assert e.value.field == "query[1].expression1.operator"
    assert e.value.code == "err.request.bad"
    assert e.value.violations[0][0] == "query[1].expression1.operator"
    with pytest.raises(dci.ValidationError) as e:
        dci.matches(PERSON, "sql", {})
    assert e.value.field == "query_type"


def test_sort_records():
    records = [{"n": "b", "score": 2}, {"n": "a", "score": 10}, {"n": "c"}, {"n": "d", "score": 2}]
    out = dci.sort_records(records, [{"attribute_name": "score", "sort_order": "desc"}])
    assert [r["n"] for r in out] == ["a", "b", "d", "c"]
    out = dci.sort_records(records, [{"attribute_name": "score", "sort_order": "asc"}, {"attribute_name": "n", "sort_order": "desc"}])
    assert [r["n"] for r in out] == ["d", "b", "a", "c"]
    with pytest.raises(dci.ValidationError):
        dci.sort_records(records, [{"attribute_name": "score", "sort_order": "sideways"}])
