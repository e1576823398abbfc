//! Every conformance vector in `tests/vectors/` (the shared public vectors,
//! copied in, plus the project's own), matched by `tidings_std::conform`.

use std::path::PathBuf;

use serde_json::Value;
use tidings_std::conform::check_file;
use tidings_std::report::RunConfig;

fn vectors(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run(file: &str) {
    let vectors = vectors(file);
    let count = vectors.as_array().map_or(0, Vec::len);
    assert!(count > 0, "{file} has no vectors");
    let failures = check_file(&vectors, &RunConfig::default()).unwrap();
    for (name, why) in &failures {
        eprintln!("FAIL {file}: {name}: {why}");
    }
    assert!(
        failures.is_empty(),
        "{} of {count} vectors in {file} failed",
        failures.len()
    );
}

#[test]
fn shared_rule_vectors() {
    run("rules.json");
}

#[test]
fn shared_provider_vectors() {
    run("providers.json");
}

#[test]
fn worked_examples_e1_to_e14() {
    run("worked-examples.json");
}

#[test]
fn project_vectors_every_rule_reason_and_edge() {
    run("tidings.json");
}

#[test]
fn recall_vectors_every_channel_carries_the_message_key() {
    run("recall.json");
}

#[test]
fn lint_vectors_each_lint_fires_exactly_when_it_should() {
    run("lints.json");
}

/// Every lint code is pinned by a vector that expects it.
#[test]
fn every_lint_has_a_vector() {
    let text = vectors("lints.json").to_string();
    for lint in tidings_core::lint::Lint::ALL {
        let code = format!("{{\"Code\":\"{}\"}}", lint.name());
        assert!(text.contains(&code), "no vector expects {}", lint.name());
    }
}

/// Every suppression reason is pinned by at least one vector.
#[test]
fn every_reason_has_a_vector() {
    let mut seen = std::collections::BTreeSet::new();
    for file in ["rules.json", "worked-examples.json", "tidings.json"] {
        for v in vectors(file).as_array().unwrap() {
            if let Some(reason) = v["Expect"]["Reason"].as_str() {
                seen.insert(reason.to_owned());
            }
        }
    }
    for reason in tidings_core::Reason::ALL {
        assert!(
            seen.contains(reason.name()),
            "no vector expects {}",
            reason.name()
        );
    }
}
