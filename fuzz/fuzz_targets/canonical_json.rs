//! The canonical JSON parser and writer (`dci::canonical`), the bytes every signature covers.
//! For input that both the core parser and serde_json accept:
//! - the canonical output parses again and canonicalises to the same bytes (a fixed point),
//!   in both escaping styles and both float spellings, so the signature digest over it is stable;
//! - serde_json reads the same value from the input and from the canonical output (numbers
//!   compared by value);
//! - the in-memory writer (`canonicalize_value`, what the signer hashes) gives the same bytes
//!   as the byte writer (what the verifier hashes) when every integer fits serde_json's 64 bits;
//! - `Style::Ascii` output is ASCII.
#![no_main]

use dci::canonical::{self, FloatStyle, Node, Style};
use dci::signature::spdci::digest;
use dci::signature::DigestAlgorithm;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Whether serde_json keeps every integer literal an integer: it reads those beyond 64 bits,
/// and `-0`, as floats (`-0` then writes `-0.0`, where CPython's `int("-0")` writes `0`).
fn ints_fit(node: &Node<'_>) -> bool {
    match node {
        Node::Number(t) if !t.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) => {
            *t != "-0" && (t.parse::<i64>().is_ok() || t.parse::<u64>().is_ok())
        }
        Node::Array(items) => items.iter().all(ints_fit),
        Node::Object(members) => members.iter().all(|(_, v)| ints_fit(v)),
        _ => true,
    }
}

/// JSON equality with numbers compared by value: the canonical form writes `-0` as `0`
/// (Python's `int("-0")`), which serde_json reads as -0.0 and 0.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => match (x.as_u64(), y.as_u64()) {
                (Some(i), Some(j)) => i == j,
                _ => x.as_f64() == y.as_f64(),
            },
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn canonical_floats(node: &Node<'_>, style: Style, floats: FloatStyle) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    node.write_canonical_floats(&mut out, style, floats).ok()?;
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let Ok(node) = canonical::parse(data) else {
        return;
    };
    let _ = canonical::has_float(&node);
    let serde: Option<Value> = serde_json::from_slice(data).ok();
    for style in [Style::Ascii, Style::Utf8] {
        for floats in [FloatStyle::Python, FloatStyle::Orjson] {
            let Some(first) = canonical_floats(&node, style, floats) else {
                continue;
            };
            if style == Style::Ascii {
                assert!(first.is_ascii(), "ensure_ascii output is not ASCII");
            }
            let Some(value) = &serde else { continue };
            let again = canonical::parse(&first).unwrap_or_else(|e| {
                panic!("canonical output does not parse ({style:?}, {floats:?}): {e}")
            });
            let second = canonical_floats(&again, style, floats).expect("canonical output writes");
            assert_eq!(
                String::from_utf8_lossy(&first),
                String::from_utf8_lossy(&second),
                "canonical form is not a fixed point ({style:?}, {floats:?})"
            );
            for alg in [DigestAlgorithm::Sha256, DigestAlgorithm::Blake512] {
                assert_eq!(digest(&first, alg), digest(&second, alg));
            }
            let reread: Value = serde_json::from_slice(&first).unwrap_or_else(|e| {
                panic!("serde_json refuses the canonical output ({style:?}, {floats:?}): {e}")
            });
            assert!(
                same(value, &reread),
                "canonical output is another value: {value} against {reread}"
            );
            if floats == FloatStyle::Python {
                assert_eq!(
                    canonical::canonicalize_slice(data, style).ok().as_ref(),
                    Some(&first)
                );
                if ints_fit(&node) {
                    let signed = canonical::canonicalize_value(value, style);
                    assert_eq!(
                        String::from_utf8_lossy(&signed),
                        String::from_utf8_lossy(&first),
                        "signer and verifier canonicalise differently ({style:?})"
                    );
                }
            }
        }
    }
});
