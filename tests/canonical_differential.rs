//! The one-pass canonical writer (`write_canonical_slice`, `envelope_pair`: what verification
//! hashes) against the tree writer (`parse` + `Node::write_canonical_floats`, the reference):
//! same bytes for every document both accept, and the same documents refused, over the fuzz
//! seeds and over random JSON (a fixed-seed generator, so a failure reproduces).

use std::path::Path;

use dci::canonical::{self, FloatStyle, Node, Style};

const STYLES: [Style; 2] = [Style::Ascii, Style::Utf8];
const FLOATS: [FloatStyle; 2] = [FloatStyle::Python, FloatStyle::Orjson];

fn tree(data: &[u8], style: Style, floats: FloatStyle) -> Result<Vec<u8>, String> {
    let node = canonical::parse(data).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    node.write_canonical_floats(&mut out, style, floats)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

fn one_pass(data: &[u8], style: Style, floats: FloatStyle) -> Result<Vec<u8>, String> {
    let mut out = b"prefix".to_vec();
    canonical::write_canonical_slice(&mut out, data, style, floats).map_err(|e| e.to_string())?;
    assert!(out.starts_with(b"prefix"), "the writer appends");
    Ok(out.split_off(6))
}

/// The canonical pair as the tree path writes it, if the envelope has both parts.
fn tree_pair(data: &[u8], style: Style) -> Option<Vec<u8>> {
    let root = canonical::parse(data).ok()?;
    let (Some(h), Some(m)) = (root.get("header"), root.get("message")) else {
        return None;
    };
    let mut out = b"{\"header\":".to_vec();
    h.write_canonical(&mut out, style).ok()?;
    out.extend_from_slice(b",\"message\":");
    m.write_canonical(&mut out, style).ok()?;
    out.push(b'}');
    Some(out)
}

/// Checks both writers on `data`; whether the tree writer accepted it.
fn check(data: &[u8]) -> bool {
    for style in STYLES {
        for floats in FLOATS {
            let (a, b) = (tree(data, style, floats), one_pass(data, style, floats));
            match (&a, &b) {
                (Ok(x), Ok(y)) => assert_eq!(
                    String::from_utf8_lossy(x),
                    String::from_utf8_lossy(y),
                    "{style:?} {floats:?} differ on {:?}",
                    String::from_utf8_lossy(data)
                ),
                (Err(_), Err(_)) => {}
                _ => panic!(
                    "{style:?} {floats:?}: tree {a:?}, one pass {b:?} on {:?}",
                    String::from_utf8_lossy(data)
                ),
            }
        }
        assert_eq!(
            canonical::canonicalize_slice(data, style).ok(),
            tree(data, style, FloatStyle::Python).ok()
        );
    }
    // The envelope pass: with the style given, and chosen from the signature member.
    for style in STYLES {
        let expected = tree_pair(data, style);
        let mut out = Vec::new();
        let got = canonical::envelope_pair(data, &mut out, Some(style), |_| Style::Ascii);
        match (&expected, got) {
            (Some(e), Ok(parts)) => {
                assert!(parts.header.is_some() && parts.message);
                assert_eq!(String::from_utf8_lossy(e), String::from_utf8_lossy(&out));
            }
            (Some(_), Err(e)) => panic!("envelope refused: {e}"),
            (None, Ok(parts)) => assert!(
                parts.header.is_none() || !parts.message,
                "a pair without both parts"
            ),
            (None, Err(_)) => {}
        }
        let mut out = Vec::new();
        if let (Some(e), Ok(parts)) = (
            &expected,
            canonical::envelope_pair(data, &mut out, None, |_| style),
        ) {
            if parts.signature.is_some() {
                assert_eq!(parts.style, style);
                assert_eq!(String::from_utf8_lossy(e), String::from_utf8_lossy(&out));
            }
        }
    }
    canonical::parse(data).is_ok()
}

#[test]
fn fuzz_seeds_agree() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut n = 0;
    let mut accepted = 0;
    for dir in [
        "canonical_json",
        "envelope",
        "jws",
        "signature_value",
        "query",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let data = std::fs::read(entry.unwrap().path()).unwrap();
            accepted += check(&data) as u32;
            n += 1;
        }
    }
    assert!(n >= 50, "only {n} seeds found");
    assert!(accepted >= 20, "only {accepted} of {n} seeds are JSON");
}

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

fn ws(r: &mut Rng, out: &mut String) {
    if r.below(4) == 0 {
        out.push_str(r.pick(&[" ", "\n", "\t ", "\r\n  "]));
    }
}

fn string(r: &mut Rng, out: &mut String) {
    out.push('"');
    let long = r.below(8) == 0;
    let len = r.below(if long { 40 } else { 8 });
    for _ in 0..len {
        out.push_str(r.pick(&[
            "a",
            "b",
            "k",
            "Z",
            "0",
            " ",
            "é",
            "中",
            "😀",
            "\u{7f}",
            "\\\"",
            "\\\\",
            "\\/",
            "\\n",
            "\\t",
            "\\u0001",
            "\\u00e9",
            "\\ud83d\\ude00",
            "\\u4e2d",
            "\\b",
            "\\f",
            "\\r",
            "abcdefghij",
            "_",
            "@",
            "~",
        ]));
    }
    out.push('"');
}

fn key(r: &mut Rng, out: &mut String) {
    // Few distinct keys, so that prefixes collide, orders vary and duplicates occur.
    if r.below(3) == 0 {
        string(r, out);
    } else {
        out.push_str(r.pick(&[
            "\"a\"",
            "\"b\"",
            "\"ab\"",
            "\"abcdefgh\"",
            "\"abcdefghi\"",
            "\"abcdefgha\"",
            "\"\\u0061\"",
            "\"é\"",
            "\"\\u00e9\"",
            "\"\"",
            "\"Z\"",
            "\"reg_records\"",
            "\"reg_record_type\"",
        ]));
    }
}

fn number(r: &mut Rng, out: &mut String) {
    out.push_str(r.pick(&[
        "0",
        "-0",
        "1",
        "-17",
        "123456789012345678901234567890",
        "1.0",
        "0.1",
        "1e21",
        "1E400",
        "-0.0",
        "1e-07",
        "1.5e16",
        "2.5e-5",
        "678901234567891121.0",
        "3.14159",
        "1234.5",
        "5e-324",
    ]));
}

fn value(r: &mut Rng, out: &mut String, depth: u32) {
    let kind = if depth > 4 { r.below(4) } else { r.below(7) };
    match kind {
        0 => string(r, out),
        1 => number(r, out),
        2 => out.push_str(r.pick(&["true", "false", "null"])),
        3 => string(r, out),
        4 | 5 => {
            out.push('{');
            let big = r.below(6) == 0;
            let n = r.below(if big { 30 } else { 5 });
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                ws(r, out);
                key(r, out);
                ws(r, out);
                out.push(':');
                ws(r, out);
                value(r, out, depth + 1);
                ws(r, out);
            }
            out.push('}');
        }
        _ => {
            out.push('[');
            let n = r.below(5);
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                ws(r, out);
                value(r, out, depth + 1);
                ws(r, out);
            }
            out.push(']');
        }
    }
}

/// An envelope with its members in a random order, sometimes missing or repeating one.
fn envelope(r: &mut Rng) -> String {
    let mut members = vec![
        "\"signature\":\"namespace=\\\"dci\\\"\"".to_string(),
        "\"signature\":\"eyJhbGciOiJFZERTQSJ9..c2ln\"".to_string(),
    ];
    members.truncate(1 + r.below(2) as usize);
    members.remove(r.below(members.len() as u64) as usize);
    for name in ["header", "message", "extra"] {
        if r.below(10) != 0 || name == "extra" {
            let mut m = format!("\"{name}\":");
            value(r, &mut m, 1);
            members.push(m);
        }
    }
    if r.below(10) == 0 {
        members.push("\"header\":{}".into());
    }
    for i in (1..members.len()).rev() {
        members.swap(i, r.below(i as u64 + 1) as usize);
    }
    format!("{{{}}}", members.join(","))
}

#[test]
fn random_json_agrees() {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut accepted, mut pairs) = (0, 0);
    for round in 0..4000 {
        let mut text = String::new();
        if round % 2 == 0 {
            ws(&mut r, &mut text);
            value(&mut r, &mut text, 0);
            ws(&mut r, &mut text);
        } else {
            text = envelope(&mut r);
        }
        accepted += check(text.as_bytes()) as u32;
        pairs += tree_pair(text.as_bytes(), Style::Ascii).is_some() as u32;
        // A damaged copy: both writers must refuse it, or agree on it.
        let mut bytes = text.into_bytes();
        if !bytes.is_empty() {
            let at = r.below(bytes.len() as u64) as usize;
            match r.below(3) {
                0 => bytes.truncate(at),
                1 => {
                    bytes[at] = *b"\"\\{}[],:0e.-\x01"
                        .get(r.below(13) as usize)
                        .unwrap_or(&b'x')
                }
                _ => bytes.insert(at, b'"'),
            }
            check(&bytes);
        }
    }
    // The generator makes mostly valid documents (some repeat a key), and envelopes with a pair.
    assert!(accepted > 2500, "only {accepted} of 4000 documents valid");
    assert!(
        pairs > 800,
        "only {pairs} envelopes with header and message"
    );
}

#[test]
fn deferred_style_escapes_after() {
    // The signature comes last: the pair is written raw UTF-8, then escaped for spdci.
    let text = "{\"message\":{\"b\":\"é\u{7f}\",\"a\":[\"😀\\\\\\\"\"]},\"header\":{\"z\":1,\"k\":\"中\"},\"signature\":\"x\"}";
    let mut out = Vec::new();
    let parts = canonical::envelope_pair(text.as_bytes(), &mut out, None, |sig| match sig {
        Node::String(_) => Style::Ascii,
        _ => Style::Utf8,
    })
    .unwrap();
    assert_eq!(parts.style, Style::Ascii);
    assert!(matches!(parts.signature, Some(Node::String(_))));
    assert_eq!(parts.header, Some(&b"{\"z\":1,\"k\":\"\xe4\xb8\xad\"}"[..]));
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"header":{"k":"\u4e2d","z":1},"message":{"a":["\ud83d\ude00\\\""],"b":"\u00e9\u007f"}}"#
    );
    // Duplicate members at the top are refused like anywhere else.
    let dup = br#"{"header":{},"message":{},"header":{}}"#;
    assert!(
        canonical::envelope_pair(dup, &mut Vec::new(), Some(Style::Ascii), |_| Style::Ascii)
            .unwrap_err()
            .to_string()
            .contains("duplicate object key \"header\"")
    );
}
