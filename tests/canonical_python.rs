//! Differential test: dci::canonical against CPython's own json module.
//!
//! Generates random JSON documents (seeded, so failures reproduce), asks `python3` for
//! `json.dumps(json.loads(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=...)`,
//! and requires byte equality in both styles. Fails when python3 is not installed.

use std::io::Write;
use std::process::{Command, Stdio};

use dci::canonical::{canonicalize_slice, Style};

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

const CHARS: &[&str] = &[
    "a",
    "Z",
    "0",
    " ",
    "\\\"",
    "\\\\",
    "\\/",
    "\\n",
    "\\t",
    "\\b",
    "\\f",
    "\\r",
    "\\u0001",
    "\\u001f",
    "\\u007f",
    "é",
    "中",
    "文",
    "😀",
    "\\ud83d\\ude00",
    "\\u00e9",
    "~",
    "\u{7f}",
    "\u{2028}",
    "\u{feff}",
    "\\uffff",
    "ß",
    "Ω",
];

const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "1.0",
    "0.1",
    "1e21",
    "1E21",
    "1e-07",
    "1e-7",
    "1.5e16",
    "1e16",
    "1e15",
    "123456789012345678901234567890",
    "-18446744073709551617",
    "9223372036854775808",
    "3.141592653589793",
    "2.5e-5",
    "0.0001",
    "0.00001",
    "1e308",
    "-0.0",
    "100.50",
    "5e-324",
    "1.7976931348623157e308",
    "12345678.9",
    "0.30000000000000004",
    "1E+2",
    "-2.0E-3",
];

fn gen_string(rng: &mut Rng, out: &mut String) {
    out.push('"');
    for _ in 0..rng.below(8) {
        out.push_str(CHARS[rng.below(CHARS.len() as u64) as usize]);
    }
    out.push('"');
}

fn gen_value(rng: &mut Rng, depth: u32, out: &mut String) {
    let pick = if depth > 4 {
        rng.below(4)
    } else {
        rng.below(7)
    };
    match pick {
        0 => out.push_str(["null", "true", "false"][rng.below(3) as usize]),
        1 => out.push_str(NUMBERS[rng.below(NUMBERS.len() as u64) as usize]),
        2 | 3 => gen_string(rng, out),
        4 => {
            out.push('[');
            for i in 0..rng.below(5) {
                if i > 0 {
                    out.push_str(if rng.below(2) == 0 { "," } else { " ,\n " });
                }
                gen_value(rng, depth + 1, out);
            }
            out.push(']');
        }
        _ => {
            out.push('{');
            let n = rng.below(6);
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                }
                // Unique keys: a numbered prefix keeps them distinct, the tail varies the order.
                out.push('"');
                out.push_str(CHARS[rng.below(CHARS.len() as u64) as usize]);
                out.push_str(&format!("k{i}"));
                out.push('"');
                out.push_str(if rng.below(2) == 0 { ":" } else { " : " });
                gen_value(rng, depth + 1, out);
            }
            out.push('}');
        }
    }
}

const PY: &str = r#"
import json, sys
for line in sys.stdin:
    doc = json.loads(line)
    a = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    u = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    sys.stdout.write(json.dumps([a, u]) + "\n")
"#;

#[test]
fn canonical_form_equals_cpython_json_dumps() {
    let mut rng = Rng(0x05ee_ddc1);
    let docs: Vec<String> = (0..3000)
        .map(|_| {
            let mut s = String::new();
            gen_value(&mut rng, 0, &mut s);
            s.replace('\n', " ")
        })
        .collect();
    let child = Command::new("python3")
        .args(["-c", PY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    // Not skipped without python3: the README's test command needs Python anyway.
    let mut child = child.expect("python3 runs the reference json.dumps of this test");
    let input = docs.join("\n") + "\n";
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("python3 output");
    writer.join().expect("writer").expect("write to python3");
    assert!(output.status.success(), "python3 failed: {:?}", output);
    let lines: Vec<&str> = std::str::from_utf8(&output.stdout)
        .expect("utf8")
        .lines()
        .collect();
    assert_eq!(lines.len(), docs.len());
    for (doc, line) in docs.iter().zip(lines) {
        let [ascii, utf8]: [String; 2] = serde_json::from_str(line).expect("python line");
        let ours = canonicalize_slice(doc.as_bytes(), Style::Ascii).expect("canonical");
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            ascii,
            "ensure_ascii=True for {doc}"
        );
        let ours = canonicalize_slice(doc.as_bytes(), Style::Utf8).expect("canonical");
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            utf8,
            "ensure_ascii=False for {doc}"
        );
    }
}
