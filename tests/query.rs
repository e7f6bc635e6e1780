//! The query builders and the evaluator, checked record by record: each test lists exactly which
//! records of tests/fixtures/query/records.json a query selects.

use dci::query::{
    self, equality_constraints, field, idtype_lookup, matches, sort_records, Condition,
    EqConstraint, ExpPredicate, Expression, ExpressionBody, FieldOp, Filter, IdTypeValue, Operator,
    Predicate, PredicateList, Query, QueryType,
};
use dci::ErrorKind;
use serde_json::{json, Value};

fn records() -> Vec<Value> {
    serde_json::from_str(include_str!("fixtures/query/records.json")).expect("fixture parses")
}

/// The ids of the records the query selects, in fixture order.
fn select(query_type: &str, query: &Value) -> Vec<String> {
    records()
        .iter()
        .filter(|r| matches(r, query_type, query).expect("query evaluates"))
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn pred(name: &str, op: &str, value: Value) -> Value {
    json!([{"seq_num": 1, "expression1": {"attribute_name": name, "operator": op, "attribute_value": value}}])
}

fn sel_pred(name: &str, op: &str, value: Value) -> Vec<String> {
    select("predicate", &pred(name, op, value))
}

fn mongo(filter: Value) -> Value {
    json!({"type": "ns:org:QueryType:expression", "value": {"expression": {"query": filter}}})
}

fn sel_mongo(filter: Value) -> Vec<String> {
    select("expression", &mongo(filter))
}

fn query_err(query_type: &str, query: &Value) -> String {
    let err = matches(&json!({}), query_type, query).expect_err("query is rejected");
    assert_eq!(err.kind(), ErrorKind::Query);
    assert_eq!(err.dci_code(), Some("err.request.bad"));
    err.to_string()
}

// ---- idtype-value ----------------------------------------------------------------------------

#[test]
fn idtype_value_finds_identifier_lists_and_fields() {
    let q = |t: &str, v: Value| select("idtype-value", &json!({"type": t, "value": v}));
    assert_eq!(q("UIN", json!("847951632")), ["p1"]);
    assert_eq!(q("uin", json!("847951632")), ["p1"]);
    assert_eq!(q("BRN", json!("B-100")), ["p1"]);
    assert_eq!(q("UIN", json!("B-100")), Vec::<String>::new()); // right value, wrong type
    assert_eq!(q("UIN", json!("111222333")), ["p2"]); // record holds the number
    assert_eq!(q("UIN", json!(111222333)), ["p2"]);
    assert_eq!(q("UIN", json!("999888777")), ["p3"]); // top-level field named like the type
    assert_eq!(q("MOBILE", json!("+254700000001")), ["p4"]); // `identifiers` with {type, value}
    assert_eq!(q("NationalID", json!("G9876543210")), ["g1"]); // group_identifier
    assert_eq!(q("spdci:IdType:NationalID", json!("G9876543210")), ["g1"]);
    assert_eq!(q("UIN", json!("000")), Vec::<String>::new());
    assert_eq!(q("*", json!("B-100")), ["p1"]);
}

#[test]
fn idtype_value_builder_and_lookup() {
    let q = IdTypeValue::new("UIN", "847951632");
    let (qt, v) = q.to_wire();
    assert_eq!(qt, "idtype-value");
    assert_eq!(v, json!({"type": "UIN", "value": "847951632"}));
    assert_eq!(Query::parse(qt, &v).unwrap(), Query::IdTypeValue(q.clone()));
    assert_eq!(
        idtype_lookup(qt, &v),
        Some(("UIN".to_string(), json!("847951632")))
    );
    assert_eq!(
        idtype_lookup("predicate", &pred("age", "eq", json!(1))),
        None
    );
    assert_eq!(idtype_lookup("idtype-value", &json!({"type": "UIN"})), None);
    let parsed = Query::parse(qt, &v).unwrap();
    assert_eq!(parsed.idtype_lookup(), Some(("UIN", &json!("847951632"))));
    assert_eq!(parsed.equality_constraints(), vec![]);
}

#[test]
fn identifier_types_as_attribute_names() {
    // A one-segment name the record lacks reaches its identifiers of that type.
    assert_eq!(sel_pred("UIN", "eq", json!("847951632")), ["p1"]);
    assert_eq!(
        sel_pred("UIN", "in", json!(["847951632", "999888777", "111222333"])),
        ["p1", "p2", "p3"]
    );
    assert_eq!(sel_pred("brn", "eq", json!("B-100")), ["p1"]);
    assert_eq!(sel_mongo(json!({"UIN": "111222333"})), ["p2"]);
    assert_eq!(
        sel_mongo(json!({"MOBILE": {"$startsWith": "+254"}})),
        ["p4"]
    );
    assert_eq!(
        sel_mongo(json!({"UIN": {"$exists": true}})),
        ["p1", "p2", "p3"]
    );
    // Not for dotted paths, and not when the record has the field itself.
    assert_eq!(
        sel_pred("x.UIN", "eq", json!("847951632")),
        Vec::<String>::new()
    );
    assert_eq!(
        sorted(json!([{"attribute_name": "UIN", "sort_order": "asc"}])),
        ["p2", "p1", "p3", "p4", "g1"]
    );
}

// ---- predicate: paths, types, operators --------------------------------------------------------

#[test]
fn dotted_paths_and_arrays_along_the_path() {
    assert_eq!(sel_pred("name.given_name", "eq", json!("Alice")), ["p1"]);
    assert_eq!(sel_pred("name.surname", "eq", json!("Smith")), ["p1", "p4"]);
    // `members` is a list: any element may match.
    assert_eq!(
        sel_pred("members.name.given_name", "eq", json!("Obi")),
        ["p3"]
    );
    assert_eq!(sel_pred("members.age", "gt", json!(32)), ["p3"]);
    assert_eq!(
        sel_pred("members.age", "gt", json!(40)),
        Vec::<String>::new()
    );
    // An array at the end: each element is tested.
    assert_eq!(sel_pred("tags", "eq", json!("farmer")), ["p1"]);
    assert_eq!(
        sel_pred(
            "member_list.demographic_info.name.given_name",
            "eq",
            json!("Alice")
        ),
        ["g1"]
    );
    // The identifier list reached by a path.
    assert_eq!(
        sel_pred("identifier.identifier_value", "eq", json!("B-100")),
        ["p1"]
    );
}

#[test]
fn numbers_against_strings() {
    // p2 keeps its age as the string "42"; the query sends "25" as the spec's examples do.
    assert_eq!(sel_pred("age", "lt", json!("25")), ["p1", "p3"]);
    assert_eq!(sel_pred("age", "lt", json!(25)), ["p1", "p3"]);
    assert_eq!(sel_pred("age", "gt", json!(40)), ["p2"]);
    assert_eq!(sel_pred("age", "eq", json!(42)), ["p2"]);
    assert_eq!(sel_pred("age", "eq", json!("19")), ["p1"]);
    // p3 keeps "2.5" as a string: equal to 2.5, not less than it.
    assert_eq!(sel_pred("poverty_score", "eq", json!(2.5)), ["p3"]);
    assert_eq!(sel_pred("poverty_score", "lt", json!("2.5")), ["p1"]);
    assert_eq!(sel_pred("poverty_score", "le", json!("2.5")), ["p1", "p3"]);
    // A string that is not a number never compares with a number; p2's age is the string
    // "42", which compares with "young" as text.
    assert_eq!(sel_pred("age", "lt", json!("young")), ["p2"]);
    assert_eq!(
        sel_pred("members.age", "lt", json!("young")),
        Vec::<String>::new()
    );
    // Plain strings compare exactly and by code point.
    assert_eq!(sel_pred("sex", "eq", json!("Female")), Vec::<String>::new());
    assert_eq!(
        sel_pred("location", "lt", json!("north")),
        ["p1", "p3", "g1"]
    );
}

#[test]
fn date_ranges() {
    let range = |from: &str, to: &str| {
        select(
            "predicate",
            &json!([{"seq_num": 1,
                "expression1": {"attribute_name": "birth_date", "operator": "ge", "attribute_value": from},
                "condition": "and",
                "expression2": {"attribute_name": "birth_date", "operator": "le", "attribute_value": to}}]),
        )
    };
    assert_eq!(range("2000-01-01", "2021-11-30"), ["p1", "p3"]);
    assert_eq!(range("2000-01-01", "2021-11-29"), ["p1"]);
    assert_eq!(range("1950-08-18", "1990-01-01"), ["p2", "p4"]);
    assert_eq!(
        range("1900-01-01T00:00:00Z", "2030-01-01T00:00:00Z"),
        ["p1", "p2", "p3", "p4"]
    );
    // Date-times compare as instants whatever their offset.
    assert_eq!(
        sel_pred("registration_date", "gt", json!("2024-12-12T00:00:00Z")),
        ["p1"]
    );
    assert_eq!(
        sel_pred(
            "registration_date",
            "gt",
            json!("2024-12-12T01:00:00+02:00")
        ),
        ["p1", "p2"]
    );
    assert_eq!(
        sel_pred("registration_date", "ge", json!("2024-12-11")),
        ["p1", "p2"]
    );
    // A date-time is `eq` the date it falls on (as written).
    assert_eq!(sel_pred("birth_date", "eq", json!("2021-11-30")), ["p3"]);
    assert_eq!(
        sel_pred(
            "registration_date",
            "eq",
            json!("2024-12-20T09:30:00+01:00")
        ),
        ["p1"]
    );
}

#[test]
fn in_lists() {
    assert_eq!(
        sel_pred("location", "in", json!(["central_region", "south_region"])),
        ["p1", "p3", "p4", "g1"]
    );
    assert_eq!(sel_pred("sex", "in", json!("male, other")), ["p2", "p3"]);
    assert_eq!(sel_pred("age", "in", json!([3, 19])), ["p1", "p3"]);
    assert_eq!(sel_pred("age", "in", json!(["42"])), ["p2"]);
    assert_eq!(sel_pred("tags", "in", json!(["farmer", "fisher"])), ["p1"]);
    assert_eq!(sel_pred("age", "in", json!([])), Vec::<String>::new());
}

#[test]
fn each_operator() {
    assert_eq!(sel_pred("age", "eq", json!(19)), ["p1"]);
    assert_eq!(sel_pred("age", "gt", json!(19)), ["p2"]);
    assert_eq!(sel_pred("age", "ge", json!(19)), ["p1", "p2"]);
    assert_eq!(sel_pred("age", "lt", json!(19)), ["p3"]);
    assert_eq!(sel_pred("age", "le", json!(19)), ["p1", "p3"]);
    assert_eq!(sel_pred("age", "in", json!([19, 42])), ["p1", "p2"]);
    // Operators are read in any case.
    assert_eq!(sel_pred("age", "GE", json!(19)), ["p1", "p2"]);
}

#[test]
fn missing_attributes() {
    // p4 and g1 have no age: they fail every comparison ...
    assert_eq!(sel_pred("age", "gt", json!(0)), ["p1", "p2", "p3"]);
    assert_eq!(sel_pred("age", "le", json!(1000)), ["p1", "p2", "p3"]);
    // ... equality with null matches a missing attribute and an explicit null ...
    assert_eq!(sel_pred("age", "eq", Value::Null), ["p4", "g1"]);
    assert_eq!(sel_pred("poverty_score", "eq", Value::Null), ["p4"]);
    // ... and `not` turns a failed comparison into a match.
    let q = json!([{"expression1": {"attribute_name": "age", "operator": "lt", "attribute_value": 25}, "condition": "not"}]);
    assert_eq!(select("predicate", &q), ["p2", "p4", "g1"]);
    assert_eq!(
        sel_pred("no.such.path", "eq", json!("x")),
        Vec::<String>::new()
    );
}

// ---- predicate: conditions and seq_num ---------------------------------------------------------

fn item(e1: (&str, &str, Value), cond: Option<&str>, e2: Option<(&str, &str, Value)>) -> Value {
    let e = |(n, o, v): (&str, &str, Value)| json!({"attribute_name": n, "operator": o, "attribute_value": v});
    let mut m = json!({"expression1": e(e1)});
    if let Some(c) = cond {
        m["condition"] = json!(c);
    }
    if let Some(x) = e2 {
        m["expression2"] = e(x);
    }
    m
}

#[test]
fn each_condition() {
    #[rustfmt::skip]
    let cases = [
        (item(("sex", "eq", json!("female")), Some("and"), Some(("age", "lt", json!(25)))), vec!["p1"]),
        (item(("sex", "eq", json!("male")), Some("or"), Some(("age", "lt", json!(10)))), vec!["p2", "p3"]),
        (item(("location", "eq", json!("south_region")), Some("or"), Some(("age", "lt", json!(10)))), vec!["p3", "p4"]),
        (item(("location", "eq", json!("central_region")), Some("not"), None), vec!["p2", "p4"]),
        // `not` with expression2: expression1 AND NOT expression2 (g1 has no `sex`).
        (item(("location", "eq", json!("central_region")), Some("not"), Some(("sex", "eq", json!("male")))), vec!["p1", "g1"]),
        // Conditions are read in any case.
        (item(("sex", "eq", json!("male")), Some("OR"), Some(("age", "lt", json!(10)))), vec!["p2", "p3"]),
    ];
    for (it, want) in cases {
        assert_eq!(select("predicate", &json!([it])), want, "{it}");
    }
}

#[test]
fn items_combine_with_and_in_seq_num_order() {
    let list = json!([
        {"seq_num": 3, "expression1": {"attribute_name": "age", "operator": "lt", "attribute_value": 25}},
        {"expression1": {"attribute_name": "name.surname", "operator": "eq", "attribute_value": "Smith"}},
        {"seq_num": 1, "expression1": {"attribute_name": "sex", "operator": "eq", "attribute_value": "female"},
         "condition": "or",
         "expression2": {"attribute_name": "location", "operator": "eq", "attribute_value": "central_region"}},
        {"seq_num": "2", "expression1": {"attribute_name": "poverty_score", "operator": "lt", "attribute_value": 10}}
    ]);
    let parsed = PredicateList::from_json(&list).unwrap();
    let order: Vec<Option<i64>> = parsed.ordered().iter().map(|p| p.seq_num).collect();
    assert_eq!(order, [Some(1), Some(2), Some(3), None]);
    assert_eq!(
        parsed.ordered()[3].expression1.attribute_name,
        "name.surname"
    );
    // (female or central) and poverty < 10 and age < 25 and surname Smith: only p1.
    assert_eq!(select("predicate", &list), ["p1"]);
    // Without the surname item, p3 (male, central, 3 years, "2.5") joins.
    let three = Value::Array(
        list.as_array()
            .unwrap()
            .iter()
            .filter(|i| i["seq_num"] != Value::Null)
            .cloned()
            .collect(),
    );
    assert_eq!(select("predicate", &three), ["p1", "p3"]);
    // The order of the list does not change the result.
    let mut reversed = three.as_array().unwrap().clone();
    reversed.reverse();
    assert_eq!(select("predicate", &Value::Array(reversed)), ["p1", "p3"]);
    // An empty list matches everything.
    assert_eq!(
        select("predicate", &json!([])),
        ["p1", "p2", "p3", "p4", "g1"]
    );
}

#[test]
fn predicate_builder_wire_form_and_round_trip() {
    let list =
        PredicateList::new()
            .with(
                Predicate::when("age", Operator::Lt, "25").and(ExpPredicate::new(
                    "poverty_score",
                    Operator::Lt,
                    2.5,
                )),
            )
            .with(Predicate::when("location", Operator::Eq, "central_region").negated())
            .with(Predicate::new(ExpPredicate::is_in("sex", ["female", "male"])).seq_num(10))
            .with(
                Predicate::when("sex", Operator::Eq, "male").or(ExpPredicate::new(
                    "age",
                    Operator::Ge,
                    18,
                )),
            )
            .with(
                Predicate::when("location", Operator::Eq, "north_region")
                    .and_not(ExpPredicate::new("sex", Operator::Eq, "female")),
            );
    let (qt, v) = list.to_wire();
    assert_eq!(qt, "predicate");
    assert_eq!(
        v,
        json!([
            {"seq_num": 1,
             "expression1": {"attribute_name": "age", "operator": "lt", "attribute_value": "25"},
             "condition": "and",
             "expression2": {"attribute_name": "poverty_score", "operator": "lt", "attribute_value": 2.5}},
            {"seq_num": 2,
             "expression1": {"attribute_name": "location", "operator": "eq", "attribute_value": "central_region"},
             "condition": "not"},
            {"seq_num": 10,
             "expression1": {"attribute_name": "sex", "operator": "in", "attribute_value": ["female", "male"]}},
            {"seq_num": 11,
             "expression1": {"attribute_name": "sex", "operator": "eq", "attribute_value": "male"},
             "condition": "or",
             "expression2": {"attribute_name": "age", "operator": "ge", "attribute_value": 18}},
            {"seq_num": 12,
             "expression1": {"attribute_name": "location", "operator": "eq", "attribute_value": "north_region"},
             "condition": "not",
             "expression2": {"attribute_name": "sex", "operator": "eq", "attribute_value": "female"}}
        ])
    );
    assert_eq!(
        Query::parse(qt, &v).unwrap(),
        Query::Predicate(list.clone())
    );
    assert_eq!(list.items[1].condition, Some(Condition::Not));
    // Item 1 holds only for p1, which item 2 excludes.
    assert_eq!(select(qt, &v), Vec::<String>::new());
    // Items 2-5: not central, sex listed, male or adult, north and not female: p2 only.
    let rest = PredicateList {
        items: list.items[1..].to_vec(),
    };
    let (qt, v) = rest.to_wire();
    assert_eq!(select(qt, &v), ["p2"]);
    let typed = Query::from(rest);
    assert!(typed.matches(&records()[1]).unwrap());
    assert!(!typed.matches(&records()[3]).unwrap());
}

#[test]
fn predicate_equality_constraints() {
    let q = json!([
        {"expression1": {"attribute_name": "location", "operator": "eq", "attribute_value": "central_region"}},
        {"expression1": {"attribute_name": "sex", "operator": "eq", "attribute_value": "male"},
         "condition": "and",
         "expression2": {"attribute_name": "age", "operator": "lt", "attribute_value": 5}},
        {"expression1": {"attribute_name": "a", "operator": "eq", "attribute_value": 1},
         "condition": "or",
         "expression2": {"attribute_name": "b", "operator": "eq", "attribute_value": 2}},
        {"expression1": {"attribute_name": "c", "operator": "eq", "attribute_value": 3},
         "condition": "not"},
        {"expression1": {"attribute_name": "d", "operator": "eq", "attribute_value": 4},
         "condition": "not",
         "expression2": {"attribute_name": "e", "operator": "eq", "attribute_value": 5}},
        {"expression1": {"attribute_name": "f", "operator": "eq", "attribute_value": null}}
    ]);
    let c = equality_constraints("predicate", &q).unwrap();
    let expect = |p: &str, v: Value| EqConstraint {
        path: p.into(),
        value: v,
    };
    assert_eq!(
        c,
        vec![
            expect("location", json!("central_region")),
            expect("sex", json!("male")),
            expect("d", json!(4)),
        ]
    );
}

// ---- expression (Mongo-style) --------------------------------------------------------------------

#[test]
fn expression_operators() {
    assert_eq!(sel_mongo(json!({"age": {"$eq": 19}})), ["p1"]);
    assert_eq!(
        sel_mongo(json!({"age": {"$ne": 19}})),
        ["p2", "p3", "p4", "g1"]
    );
    assert_eq!(sel_mongo(json!({"age": {"$lt": 19}})), ["p3"]);
    assert_eq!(sel_mongo(json!({"age": {"$lte": 19}})), ["p1", "p3"]);
    assert_eq!(sel_mongo(json!({"age": {"$gt": 19}})), ["p2"]);
    assert_eq!(sel_mongo(json!({"age": {"$gte": 19}})), ["p1", "p2"]);
    assert_eq!(
        sel_mongo(json!({"age": {"$gte": 3, "$lt": 42}})),
        ["p1", "p3"]
    );
    assert_eq!(sel_mongo(json!({"age": {"$in": [3, "42"]}})), ["p2", "p3"]);
    assert_eq!(
        sel_mongo(json!({"age": {"$nin": [3, "42"]}})),
        ["p1", "p4", "g1"]
    );
    assert_eq!(
        sel_mongo(json!({"name.given_name": {"$startsWith": "Ch"}})),
        ["p3"]
    );
    assert_eq!(
        sel_mongo(json!({"name.given_name": {"$startsWith": "ch"}})),
        Vec::<String>::new()
    );
    assert_eq!(sel_mongo(json!({"age": {"$exists": false}})), ["p4", "g1"]);
    assert_eq!(
        sel_mongo(json!({"poverty_score": {"$exists": true}})),
        ["p1", "p2", "p3", "p4", "g1"]
    );
    assert_eq!(
        sel_mongo(json!({"age": {"$not": {"$lt": 25}}})),
        ["p2", "p4", "g1"]
    );
    // A plain value means equality; a plain embedded document is compared as a whole.
    assert_eq!(
        sel_mongo(json!({"location": "central_region"})),
        ["p1", "p3", "g1"]
    );
    assert_eq!(sel_mongo(json!({"name": {"given_name": "Chidi"}})), ["p3"]);
}

#[test]
fn expression_combinators() {
    assert_eq!(
        sel_mongo(
            json!({"$and": [{"sex": {"$eq": "female"}}, {"location": {"$eq": "central_region"}}]})
        ),
        ["p1"]
    );
    // Several keys in one document: AND.
    assert_eq!(
        sel_mongo(json!({"sex": "female", "location": "south_region"})),
        ["p4"]
    );
    assert_eq!(
        sel_mongo(json!({"$or": [{"age": {"$lt": 5}}, {"name.surname": "Jones"}]})),
        ["p2", "p3"]
    );
    assert_eq!(
        sel_mongo(json!({"$nor": [{"age": {"$lt": 5}}, {"name.surname": "Jones"}]})),
        ["p1", "p4", "g1"]
    );
    assert_eq!(
        sel_mongo(json!({"$not": {"location": "central_region"}})),
        ["p2", "p4"]
    );
    assert_eq!(
        sel_mongo(json!({"$and": [
            {"$or": [{"sex": "female"}, {"group_size": {"$gte": 1}}]},
            {"$not": {"name.surname": "Smith"}}
        ]})),
        ["g1"]
    );
    // Dates in an expression.
    assert_eq!(
        sel_mongo(json!({"birth_date": {"$gte": "1980-01-01", "$lt": "2010-01-01T00:00:00Z"}})),
        ["p1", "p2"]
    );
}

#[test]
fn expression_builder_wire_form_and_round_trip() {
    let f = Filter::and([
        field("poverty_score").lt(5),
        field("location").eq("central_region"),
        Filter::or([
            field("name.given_name").starts_with("A"),
            field("age").is_in([3, 42]),
        ]),
        Filter::negate(field("sex").eq("male")),
        field("age").ops(vec![FieldOp::Gte(json!(1)), FieldOp::Lt(json!(30))]),
        field("tags").nin(["fisher"]),
        field("birth_date").exists(true),
        field("name.surname").ne("Jones"),
        field("age").gt(0),
        field("age").lte(100),
        field("age").gte(0),
    ]);
    let e = Expression::filter(f.clone()).collection("Person");
    let (qt, v) = e.to_wire();
    assert_eq!(qt, "expression");
    assert_eq!(
        v,
        json!({"type": "ns:org:QueryType:expression", "value": {"expression": {
            "collection": "Person",
            "query": {"$and": [
                {"poverty_score": {"$lt": 5}},
                {"location": {"$eq": "central_region"}},
                {"$or": [{"name.given_name": {"$startsWith": "A"}}, {"age": {"$in": [3, 42]}}]},
                {"$not": {"sex": {"$eq": "male"}}},
                {"age": {"$gte": 1, "$lt": 30}},
                {"tags": {"$nin": ["fisher"]}},
                {"birth_date": {"$exists": true}},
                {"name.surname": {"$ne": "Jones"}},
                {"age": {"$gt": 0}},
                {"age": {"$lte": 100}},
                {"age": {"$gte": 0}}
            ]}
        }}})
    );
    assert_eq!(Query::parse(qt, &v).unwrap(), Query::Expression(e));
    assert_eq!(select(qt, &v), ["p1"]);
    // The same operator twice on one field is written as an $and.
    let twice = field("age").ops(vec![FieldOp::Gt(json!(1)), FieldOp::Gt(json!(2))]);
    assert_eq!(
        twice.to_value(),
        json!({"$and": [{"age": {"$gt": 1}}, {"age": {"$gt": 2}}]})
    );
    assert_eq!(
        Filter::from_json(&twice.to_value(), "query").unwrap(),
        Filter::and([field("age").gt(1), field("age").gt(2)])
    );
}

#[test]
fn expression_equality_constraints() {
    let q = mongo(json!({"$and": [
        {"location": "central_region"},
        {"sex": {"$eq": "female", "$ne": "x"}},
        {"$or": [{"a": 1}, {"b": 2}]},
        {"$not": {"c": 3}},
        {"d": null}
    ]}));
    let c = equality_constraints("expression", &q).unwrap();
    assert_eq!(
        c,
        vec![
            EqConstraint {
                path: "location".into(),
                value: json!("central_region")
            },
            EqConstraint {
                path: "sex".into(),
                value: json!("female")
            },
        ]
    );
}

#[test]
fn the_empty_filter_goes_to_the_wire_and_back() {
    // Found by the `query` fuzz target: `{}` parsed to an empty conjunction that `to_wire`
    // wrote as `{"$and": []}`, which the parser refuses ("empty list").
    let q = Query::parse("expression", &mongo(json!({}))).unwrap();
    let (qt, v) = q.to_wire();
    assert_eq!(
        v,
        json!({"type": "ns:org:QueryType:expression", "value": {"expression": {"query": {}}}})
    );
    assert_eq!(Query::parse(qt, &v).unwrap(), q);
    assert_eq!(select(qt, &v).len(), records().len());
}

#[test]
fn graphql_is_carried_not_evaluated() {
    let text = "query GetMemberByIdentifier { member(identifier: {value: \"1\", type: \"uin\"}) { name } }";
    let e = Expression::graphql(text);
    let (qt, v) = e.to_wire();
    assert_eq!(qt, "expression");
    assert_eq!(
        v,
        json!({"type": "ns:org:QueryType:graphql", "value": {"expression": text}})
    );
    let parsed = Query::parse(qt, &v).unwrap();
    assert_eq!(parsed, Query::Expression(e.clone()));
    assert!(matches!(
        &parsed,
        Query::Expression(Expression {
            body: ExpressionBody::Raw(_),
            ..
        })
    ));
    let err = parsed.matches(&json!({})).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Query);
    assert!(
        err.to_string().contains("ns:org:QueryType:graphql"),
        "{err}"
    );
    // The newest specs' query_type `graphql`.
    let (qt2, v2) = e.query_type(QueryType::Graphql).to_wire();
    assert_eq!(qt2, "graphql");
    assert!(matches!(
        Query::parse(qt2, &v2).unwrap(),
        Query::Expression(Expression {
            body: ExpressionBody::Raw(_),
            query_type: QueryType::Graphql,
            ..
        })
    ));
    // Any other grammar passes through untouched.
    let sql = Expression::raw("ns:org:QueryType:Sql", json!("SELECT 1"));
    assert_eq!(
        sql.to_value(),
        json!({"type": "ns:org:QueryType:Sql", "value": {"expression": "SELECT 1"}})
    );
    assert_eq!(
        Query::parse("expression", &sql.to_value()).unwrap(),
        Query::Expression(sql)
    );
}

// ---- spec example shapes ------------------------------------------------------------------------

#[test]
fn spec_example_queries() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/query/spec_examples.json")).unwrap();
    for case in fixture["cases"].as_array().unwrap() {
        let got = select(case["query_type"].as_str().unwrap(), &case["query"]);
        let want: Vec<String> = serde_json::from_value(case["expect"].clone()).unwrap();
        assert_eq!(got, want, "{}", case["name"]);
    }
}

// ---- errors ---------------------------------------------------------------------------------------

#[test]
fn bad_operators_are_named() {
    assert_eq!(
        query_err("predicate", &pred("age", "like", json!(1))),
        "query error: query[0].expression1.operator: unknown operator \"like\" \
         (expected one of gt, lt, eq, ge, le, in)"
    );
    let q = json!([
        {"expression1": {"attribute_name": "age", "operator": "eq", "attribute_value": 1}},
        {"expression1": {"attribute_name": "age", "operator": "eq", "attribute_value": 1},
         "condition": "and",
         "expression2": {"attribute_name": "x", "operator": "ne", "attribute_value": 1}}
    ]);
    assert_eq!(
        query_err("predicate", &q),
        "query error: query[1].expression2.operator: unknown operator \"ne\" \
         (expected one of gt, lt, eq, ge, le, in)"
    );
    assert_eq!(
        query_err(
            "expression",
            &mongo(json!({"name.given_name": {"$regex": "^A"}}))
        ),
        "query error: query.value.expression.query.name.given_name: unknown operator \"$regex\" \
         (expected one of $eq, $ne, $lt, $lte, $gt, $gte, $in, $nin, $startsWith, $exists, $not)"
    );
    assert_eq!(
        query_err(
            "expression",
            &mongo(json!({"$and": [{"a": 1}, {"$where": "x"}]}))
        ),
        "query error: query.value.expression.query.$and[1]: unknown operator \"$where\" \
         (expected $and, $or, $nor, $not or a field)"
    );
    assert_eq!(
        query_err("expression", &json!({"age": {"$eq": 1, "eq": 2}})),
        "query error: query.age: mixes operators and plain fields"
    );
}

#[test]
fn malformed_queries_are_named() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("fuzzy", json!({}), "query_type: unknown query type \"fuzzy\" (expected one of idtype-value, expression, predicate, graphql)"),
        ("predicate",
         json!([{"expression1": {"attribute_name": "a", "operator": "eq", "attribute_value": 1}, "condition": "xor",
                 "expression2": {"attribute_name": "b", "operator": "eq", "attribute_value": 1}}]),
         "query[0].condition: unknown condition \"xor\" (expected one of and, or, not)"),
        ("predicate",
         json!([{"expression1": {"attribute_name": "a", "operator": "eq", "attribute_value": 1}, "condition": "and"}]),
         "query[0].condition: \"and\" needs expression2"),
        ("predicate",
         json!([{"expression1": {"attribute_name": "a", "operator": "eq", "attribute_value": 1},
                 "expression2": {"attribute_name": "b", "operator": "eq", "attribute_value": 1}}]),
         "query[0].expression2: given without a condition (and, or or not)"),
        ("predicate",
         json!([{"seq_num": 1, "expression1": {"attribute_name": "a", "operator": "eq", "attribute_value": 1},
                 "condition": "and", "expression2": {"attribute_name": "b", "operator": "eq", "attribute_value": 1},
                 "expression3": {"attribute_name": "c", "operator": "eq", "attribute_value": 1}}]),
         "query[0].expression3: unknown field (an item holds seq_num, expression1, condition and expression2; put further comparisons in another item)"),
        ("predicate", json!([{"seq_num": 1}]), "query[0].expression1: required"),
        ("predicate", json!([{"expression1": {"operator": "eq", "attribute_value": 1}}]), "query[0].expression1.attribute_name: required"),
        ("predicate", json!([{"expression1": {"attribute_name": "a", "operator": "eq"}}]), "query[0].expression1.attribute_value: required"),
        ("predicate", json!([{"seq_num": 1.5, "expression1": {"attribute_name": "a", "operator": "eq", "attribute_value": 1}}]), "query[0].seq_num: expected an integer, got 1.5"),
        ("predicate", pred("a", "in", json!(5)), "query[0].expression1.attribute_value: operator in needs an array (or a comma-separated string), got a number"),
        ("predicate", json!("age < 25"), "query: expected a list of predicates, got a string"),
        ("idtype-value", json!({"type": "UIN", "value": "1", "extra": 1}), "query.extra: unknown field (expected type and value)"),
        ("idtype-value", json!(["UIN", "1"]), "query: expected an object {type, value}, got an array"),
        ("expression", mongo(json!({"age": {"$in": 5}})), "query.value.expression.query.age.$in: expected a list, got a number"),
        ("expression", mongo(json!({"$or": []})), "query.value.expression.query.$or: empty list"),
        ("expression", mongo(json!({"name": {"$startsWith": 1}})), "query.value.expression.query.name.$startsWith: expected a string, got a number"),
        ("expression", json!({"type": "ns:org:QueryType:expression", "value": {"expression": {"query": {}, "limit": 5}}}),
         "query.value.expression.limit: unknown field (expected collection and query)"),
    ];
    for (qt, q, want) in cases {
        assert_eq!(query_err(qt, &q), format!("query error: {want}"), "{q}");
    }
}

// ---- sort -----------------------------------------------------------------------------------------

fn sorted(sort: Value) -> Vec<String> {
    let mut rs = records();
    sort_records(&mut rs, &sort).expect("sort applies");
    rs.iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn sort_is_type_aware_stable_and_puts_missing_last() {
    let one = |attr: &str, order: &str| json!([{"attribute_name": attr, "sort_order": order}]);
    let cases = [
        // Ages 19, "42", 3; p4 and g1 have none and keep their order at the end.
        (one("age", "asc"), ["p3", "p1", "p2", "p4", "g1"]),
        (one("age", "desc"), ["p2", "p1", "p3", "p4", "g1"]),
        // Dates and date-times together; g1 has none.
        (one("birth_date", "asc"), ["p4", "p2", "p1", "p3", "g1"]),
        // Ties keep the input order; the second key breaks them.
        (one("location", "asc"), ["p1", "p3", "g1", "p2", "p4"]),
        (
            json!([
                {"attribute_name": "location", "sort_order": "asc"},
                {"attribute_name": "name.given_name", "sort_order": "desc"}
            ]),
            ["p3", "p1", "g1", "p2", "p4"],
        ),
        // poverty_score: 1.5, 4.2, "2.5", null, 45.2 (null sorts first of the present values).
        (
            json!([{"attribute_name": "poverty_score"}]),
            ["p4", "p1", "p3", "p2", "g1"],
        ),
        // No sort leaves the order alone.
        (json!([]), ["p1", "p2", "p3", "p4", "g1"]),
        (Value::Null, ["p1", "p2", "p3", "p4", "g1"]),
    ];
    for (sort, want) in cases {
        assert_eq!(sorted(sort.clone()), want, "{sort}");
    }
}

#[test]
fn sort_errors_name_the_field() {
    let mut rs = records();
    let err = sort_records(
        &mut rs,
        &json!([{"attribute_name": "age", "sort_order": "up"}]),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Query);
    assert_eq!(
        err.to_string(),
        "query error: sort[0].sort_order: expected asc or desc, got \"up\""
    );
    let err = sort_records(&mut rs, &json!([{"sort_order": "asc"}])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "query error: sort[0].attribute_name: required"
    );
    assert_eq!(
        query::parse_sort(
            &json!([{"attribute_name": "a"}, {"attribute_name": "b", "sort_order": "desc"}])
        )
        .unwrap(),
        vec![query::SortKey::asc("a"), query::SortKey::desc("b")]
    );
}

// ---- odd inputs -----------------------------------------------------------------------------------

#[test]
fn odd_records_and_hand_built_items_do_not_panic() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/query/spec_examples.json")).unwrap();
    let odd = [
        Value::Null,
        json!(5),
        json!("x"),
        json!([]),
        json!({}),
        json!({"identifier": "UIN"}),
        json!({"identifier": [null, 1, {"identifier_type": 5}]}),
        json!({"age": {"nested": [1, 2]}, "birth_date": 20200101, "poverty_score": [[1.0]]}),
    ];
    for case in fixture["cases"].as_array().unwrap() {
        for r in &odd {
            let got = matches(r, case["query_type"].as_str().unwrap(), &case["query"]).unwrap();
            // Only the match-everything filter selects a record without attributes.
            assert_eq!(
                got,
                case["expect"].as_array().unwrap().len() == 5,
                "{} on {r}",
                case["name"]
            );
        }
    }
    // A hand-built item whose condition lacks expression2 is reported, not guessed.
    let bad = Predicate {
        seq_num: None,
        expression1: ExpPredicate::new("age", Operator::Eq, 1),
        condition: Some(Condition::Or),
        expression2: None,
    };
    assert_eq!(
        bad.matches(&json!({"age": 1})).unwrap_err().to_string(),
        "query error: predicate.condition: \"or\" needs expression2"
    );
}

#[test]
fn query_type_spellings() {
    for (s, want) in [
        ("idtype-value", QueryType::IdTypeValue),
        ("IDTYPE-VALUE", QueryType::IdTypeValue),
        ("ns:org:QueryType:idtype-value", QueryType::IdTypeValue),
        ("predicate", QueryType::Predicate),
        ("Expression", QueryType::Expression),
        ("ns:org:QueryType:graphql", QueryType::Graphql),
    ] {
        assert_eq!(s.parse::<QueryType>().unwrap(), want, "{s}");
        assert_eq!(want.to_string(), want.as_str());
    }
    assert!("ns:org:QueryType:sql".parse::<QueryType>().is_err());
}
