//! Optional cross-checks against ../shared/spec (skipped when it is absent, e.g. on a fresh clone).

use std::collections::BTreeSet;
use std::path::PathBuf;

use dci::model::{ErrorCode, ReasonCode};

fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/spec"));
    p.is_dir().then_some(p)
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
    let Some(spec) = shared() else {
        eprintln!("../shared/spec absent: skipped");
        return;
    };
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
    let Some(spec) = shared() else {
        eprintln!("../shared/spec absent: skipped");
        return;
    };
    let ours = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/model/examples"
    ));
    let mut n = 0;
    for d in ["crvs", "social", "ibr", "dr", "fr"] {
        for f in std::fs::read_dir(ours.join(d)).unwrap().flatten() {
            let name = f.file_name();
            let upstream = spec.join("spdci-standards/examples").join(d).join(&name);
            assert_eq!(
                std::fs::read(f.path()).unwrap(),
                std::fs::read(&upstream).unwrap(),
                "{d}/{name:?}"
            );
            n += 1;
        }
    }
    assert_eq!(n, 56);
}
