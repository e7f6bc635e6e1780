//! Dotted attribute paths (`name.given_name`) resolved against a JSON record.
//!
//! Rules:
//! - each segment selects an object member; a record key that itself contains dots
//!   (`"member.member_identifier"`) is also found when it spells the rest of the path;
//! - an array met along the path fans out: the rest of the path is resolved in every element
//!   (so `identifier.identifier_value` reaches every identifier's value), except that a numeric
//!   segment (`identifier.0`) indexes into the array;
//! - the values found at the end are returned in document order; an array found at the end is
//!   returned as itself, and the operators test both the array and each of its elements
//!   (see [`candidates`]).
//!
//! A path that reaches nothing yields no values: the attribute is missing. (The evaluator and the
//! sort add one fallback: a one-segment name the record lacks, such as `UIN`, reaches the values
//! of the record's identifiers of that type; see [`super::idtype`].)

use serde_json::Value;

/// Every value `path` reaches in `record` (empty when the attribute is missing).
pub fn resolve<'a>(record: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    if path.is_empty() {
        return out;
    }
    // Each segment with the byte offset where it starts, so a remainder is a slice of `path`.
    let mut segs = Vec::new();
    let mut start = 0;
    for seg in path.split('.') {
        segs.push((start, seg));
        start += seg.len() + 1;
    }
    walk(record, path, &segs, &mut out);
    out
}

fn walk<'a>(v: &'a Value, path: &str, segs: &[(usize, &str)], out: &mut Vec<&'a Value>) {
    let Some((&(offset, first), rest)) = segs.split_first() else {
        out.push(v);
        return;
    };
    match v {
        Value::Object(map) => {
            if let Some(child) = map.get(first) {
                walk(child, path, rest, out);
            }
            // A literal dotted key spelling the remainder of the path.
            if !rest.is_empty() {
                if let Some(child) = path.get(offset..).and_then(|r| map.get(r)) {
                    out.push(child);
                }
            }
        }
        Value::Array(items) => {
            if let Ok(i) = first.parse::<usize>() {
                if let Some(child) = items.get(i) {
                    walk(child, path, rest, out);
                }
            } else {
                for item in items {
                    walk(item, path, segs, out);
                }
            }
        }
        _ => {}
    }
}

/// The values an operator tests for one resolved value: the value itself and, when it is an
/// array, each element.
pub fn candidates(v: &Value) -> impl Iterator<Item = &Value> {
    let elems: &[Value] = match v {
        Value::Array(items) => items,
        _ => &[],
    };
    std::iter::once(v).chain(elems.iter())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dotted_and_arrays() {
        let r = json!({
            "name": {"given_name": "Alice"},
            "identifier": [
                {"identifier_type": "UIN", "identifier_value": "1"},
                {"identifier_type": "BRN", "identifier_value": "2"}
            ],
            "member.member_identifier": "M1"
        });
        assert_eq!(resolve(&r, "name.given_name"), vec![&json!("Alice")]);
        assert_eq!(
            resolve(&r, "identifier.identifier_value"),
            vec![&json!("1"), &json!("2")]
        );
        assert_eq!(
            resolve(&r, "identifier.1.identifier_type"),
            vec![&json!("BRN")]
        );
        assert_eq!(resolve(&r, "member.member_identifier"), vec![&json!("M1")]);
        assert!(resolve(&r, "name.surname").is_empty());
        assert!(resolve(&r, "").is_empty());
    }
}
