//! Writes the seed corpora from the conformance vectors
//! (`tests/vectors/*.json`): each vector's `Case` as one file, named after
//! the vector: compact JSON for the JSON targets, and for `job_postcard`
//! the case read by the std ingest and encoded as a job (vectors the std
//! ingest refuses have no job). Run from `fuzz/`:
//! `cargo +nightly run --example seed_corpus`.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use serde_json::Value;

/// The JSON targets: each gets every case as compact JSON.
const JSON_TARGETS: [&str; 2] = ["case_json", "case_json_nostd"];

fn main() {
    let vectors = Path::new("../tests/vectors");
    let mut files: Vec<_> = fs::read_dir(vectors)
        .expect("run from fuzz/")
        .map(|e| e.expect("readable directory").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut seen = BTreeSet::new();
    let mut written = 0;
    let mut jobs = 0;
    for file in files {
        let text = fs::read_to_string(&file).expect("readable vector file");
        let vectors: Vec<Value> = serde_json::from_str(&text).expect("a vector file is an array");
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("v");
        for vector in &vectors {
            let case = serde_json::to_vec(&vector["Case"]).expect("serialisable");
            // Identical cases (one case, several expectations) are one seed.
            if !seen.insert(case.clone()) {
                continue;
            }
            let name = format!("{stem}-{}", slug(vector["Name"].as_str().unwrap_or("case")));
            for target in JSON_TARGETS {
                write(target, &format!("{name}.json"), &case);
            }
            if let Some(job) = job(&case) {
                write("job_postcard", &format!("{name}.bin"), &job);
                jobs += 1;
            }
            written += 1;
        }
    }
    println!("{written} JSON seeds per JSON target, {jobs} jobs");
}

fn write(target: &str, file: &str, bytes: &[u8]) {
    let dir = Path::new("corpus").join(target);
    fs::create_dir_all(&dir).expect("corpus directory");
    fs::write(dir.join(file), bytes).expect("seed written");
}

/// The case as the std ingest reads it, encoded as a postcard job.
fn job(json: &[u8]) -> Option<Vec<u8>> {
    let config = tidings_fuzz::run_config();
    let doc = tidings_std::ingest::parse_case(json).ok()?;
    let lent = doc.lend().ok()?;
    let case = lent.case(config.now, &config.app).ok()?;
    let mut buf = vec![0u8; 64 * 1024];
    let len = tidings_core::wire::encode(&case, &mut buf).ok()?;
    buf.truncate(len);
    Some(buf)
}

/// A file-name-safe form of a vector name.
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').chars().take(60).collect()
}
