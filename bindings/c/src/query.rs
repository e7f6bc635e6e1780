//! Queries: builders for the `search_criteria` query types and the evaluator.
//!
//! Builders write the wire pair as JSON text, `{"query_type": "...", "query": ...}`, ready for
//! a search request's `search_criteria`.

use std::ffi::c_char;

use serde_json::Value;

use super::string::{in_json, in_str, opt_in_str};
use super::{
    boundary, dci_error, dci_result, free_handle, handle, handle_mut, handle_out, string_out,
    value_out, FfiResult,
};
use dci::error::Error;
use dci::query::{
    Condition, ExpPredicate, Expression, Filter, IdTypeValue, Operator, Predicate, PredicateList,
    Query,
};

/// A predicate query being built (the spec's `ExpPredicateWithConditionList`).
/// Free with `dci_predicate_list_free`.
pub struct dci_predicate_list(PredicateList);

/// `{"query_type", "query"}`: the start of a `search_json` (the core's `SearchSpec`).
#[derive(serde::Serialize)]
struct Wire<'a> {
    query_type: &'a str,
    query: Value,
}

fn wire((query_type, query): (&str, Value)) -> FfiResult<String> {
    Ok(serde_json::to_string(&Wire { query_type, query })?)
}

fn exp_predicate(
    name: *const c_char,
    op: *const c_char,
    value_json: *const c_char,
    which: &'static str,
) -> FfiResult<ExpPredicate> {
    let name = in_str(name, "attribute_name")?;
    let op: Operator = in_str(op, "operator")?
        .parse()
        .map_err(|e: Error| match e {
            Error::Query(m) => Error::Query(format!("{which}.operator: {m}")),
            other => other,
        })?;
    let value = in_json(value_json, "value_json")?;
    Ok(ExpPredicate::new(name, op, value))
}

/// Writes to `*out` an `idtype-value` query for the identifier `id_type` (`"UIN"`, `"BRN"`,
/// ...) with the string value `value`: `{"query_type":"idtype-value","query":{"type":...,
/// "value":...}}`.
#[no_mangle]
pub extern "C" fn dci_query_idtype_value(
    id_type: *const c_char,
    value: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        let q = IdTypeValue::new(in_str(id_type, "id_type")?, in_str(value, "value")?);
        wire(q.to_wire())
    })
}

/// Writes to `*out` an `expression` query from a Mongo-style filter given as JSON text
/// (`{"age": {"$lt": 25}, "sex": "F"}`; see the query documentation for the grammar), with
/// an optional `collection` (NULL: none). The filter is checked: an unknown `$` operator fails
/// with `DCI_RESULT_QUERY`.
#[no_mangle]
pub extern "C" fn dci_query_expression(
    filter_json: *const c_char,
    collection: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        let filter = Filter::from_json(&in_json(filter_json, "filter_json")?, "query")?;
        let mut e = Expression::filter(filter);
        if let Some(c) = opt_in_str(collection, "collection")? {
            e = e.collection(c);
        }
        wire(e.to_wire())
    })
}

/// Parses and checks a query as it would appear in `search_criteria` (`query_type` as on the
/// wire, also namespaced like `ns:org:QueryType:predicate`; `query_json` the query) and writes
/// its normal wire form to `*out`. Errors (`DCI_RESULT_QUERY`) name the field and the problem.
#[no_mangle]
pub extern "C" fn dci_query_parse(
    query_type: *const c_char,
    query_json: *const c_char,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || {
        let q = Query::parse(
            in_str(query_type, "query_type")?,
            &in_json(query_json, "query_json")?,
        )?;
        wire(q.to_wire())
    })
}

/// Decides whether a record (JSON text) matches a query (`query_type` and `query_json` as in a
/// search request) and writes the answer to `*out`. Fails with `DCI_RESULT_QUERY` for a
/// malformed query or one libdci does not evaluate (GraphQL).
#[no_mangle]
pub extern "C" fn dci_query_matches(
    record_json: *const c_char,
    query_type: *const c_char,
    query_json: *const c_char,
    out: *mut bool,
    err: *mut *mut dci_error,
) -> dci_result {
    value_out(out, err, || {
        let record = in_json(record_json, "record_json")?;
        let query = in_json(query_json, "query_json")?;
        let m = dci::query::matches(&record, in_str(query_type, "query_type")?, &query)?;
        Ok(m)
    })
}

/// A new, empty predicate query in `*out` (an empty list matches every record).
#[no_mangle]
pub extern "C" fn dci_predicate_list_new(
    out: *mut *mut dci_predicate_list,
    err: *mut *mut dci_error,
) -> dci_result {
    handle_out(out, err, || Ok(dci_predicate_list(PredicateList::new())))
}

/// Appends an item `attribute_name <operator> value` to the list. `operator` is one of `gt lt
/// eq ge le in`; `value_json` is the value as JSON text (`"25"`, `"\"F\""`, `"[\"F\",\"M\"]"`).
/// Items get `seq_num` 1, 2, ... in the order added; all items must hold (AND).
#[no_mangle]
pub extern "C" fn dci_predicate_list_add(
    list: *mut dci_predicate_list,
    attribute_name: *const c_char,
    op: *const c_char,
    value_json: *const c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let list = handle_mut(list, "list")?;
        let e1 = exp_predicate(attribute_name, op, value_json, "expression1")?;
        let taken = std::mem::take(&mut list.0);
        list.0 = taken.with(Predicate::new(e1));
        Ok(())
    })
}

/// Joins a second expression to the last item added: `condition` is `"and"` (`e1 AND e2`),
/// `"or"` (`e1 OR e2`) or `"not"` (`e1 AND NOT e2`; with `attribute_name` NULL it makes the
/// item `NOT e1` and `op`, `value_json` are ignored). Fails with `DCI_RESULT_QUERY` when the
/// list is empty or the last item already has a condition.
#[no_mangle]
pub extern "C" fn dci_predicate_list_join(
    list: *mut dci_predicate_list,
    condition: *const c_char,
    attribute_name: *const c_char,
    op: *const c_char,
    value_json: *const c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    boundary(err, || {
        let list = handle_mut(list, "list")?;
        let condition: Condition = in_str(condition, "condition")?.parse()?;
        let e2 = if attribute_name.is_null() {
            if condition != Condition::Not {
                return Err(Error::Query(format!(
                    "condition {condition}: needs expression2 (attribute_name is NULL)"
                ))
                .into());
            }
            None
        } else {
            Some(exp_predicate(
                attribute_name,
                op,
                value_json,
                "expression2",
            )?)
        };
        let at = list.0.items.len();
        let last = list.0.items.last_mut().ok_or_else(|| {
            Error::Query("condition: the predicate list is empty; add an item first".into())
        })?;
        if last.condition.is_some() {
            return Err(Error::Query(format!(
                "query[{}].condition: the item already has a condition",
                at - 1
            ))
            .into());
        }
        let item = last.clone();
        *last = match (condition, e2) {
            (Condition::And, Some(e2)) => item.and(e2),
            (Condition::Or, Some(e2)) => item.or(e2),
            (Condition::Not, Some(e2)) => item.and_not(e2),
            (_, None) => item.negated(),
        };
        Ok(())
    })
}

/// Writes the list as a predicate query to `*out`:
/// `{"query_type":"predicate","query":[{"seq_num":1,"expression1":{...}}, ...]}`.
#[no_mangle]
pub extern "C" fn dci_predicate_list_to_json(
    list: *const dci_predicate_list,
    out: *mut *mut c_char,
    err: *mut *mut dci_error,
) -> dci_result {
    string_out(out, err, || wire(handle(list, "list")?.0.to_wire()))
}

/// Frees a predicate list. NULL is ignored.
#[no_mangle]
pub extern "C" fn dci_predicate_list_free(list: *mut dci_predicate_list) {
    free_handle(list)
}
