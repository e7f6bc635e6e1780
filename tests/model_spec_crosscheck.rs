//! Cross-checks against the spec files committed in tests/spec/ (copies of ../shared/spec; see
//! tests/spec/README.md).

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::path::PathBuf;

use dci::model::{ErrorCode, ReasonCode};
use sha2::{Digest, Sha256};

fn spec() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/spec"))
}

/// Every `prefix.word.word` code in `text`.
fn codes(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices(prefix) {
        let code: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_' || *c == '.')
            .collect();
        let code = code.trim_end_matches('.');
        if code.matches('.').count() == 2 {
            out.insert(code.to_string());
        }
    }
    out
}

#[test]
fn enums_list_every_code_of_the_latest_specs() {
    let spec = spec();
    let mut text = String::new();
    for d in ["crvs", "social", "ibr", "dr", "fr"] {
        text += &std::fs::read_to_string(spec.join(format!("latest-bundled/{d}_api_v1.0.0.yaml")))
            .unwrap();
    }
    let rjct: BTreeSet<String> = ReasonCode::KNOWN.iter().map(|s| s.to_string()).collect();
    assert_eq!(codes(&text, "rjct."), rjct);
    let err: BTreeSet<String> = ErrorCode::KNOWN.iter().map(|s| s.to_string()).collect();
    assert_eq!(codes(&text, "err."), err);
}

#[test]
fn fixtures_are_unmodified_copies_of_the_spec_examples() {
    // `sha256sum` lines of the upstream files: "HEX  crvs/processflow1req.json".
    let sums = std::fs::read_to_string(spec().join("spdci-standards-examples.sha256")).unwrap();
    let upstream: BTreeMap<&str, &str> = sums
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(hex, name)| (name, hex))
        .collect();
    let ours = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/model/examples"
    ));
    let mut seen = BTreeSet::new();
    for d in ["crvs", "social", "ibr", "dr", "fr"] {
        for f in std::fs::read_dir(ours.join(d)).unwrap().flatten() {
            let name = format!("{d}/{}", f.file_name().to_string_lossy());
            let hex: String = Sha256::digest(std::fs::read(f.path()).unwrap())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(upstream.get(name.as_str()), Some(&hex.as_str()), "{name}");
            seen.insert(name);
        }
    }
    assert_eq!(seen.len(), 56);
    assert_eq!(seen, upstream.keys().map(|k| k.to_string()).collect());
}
