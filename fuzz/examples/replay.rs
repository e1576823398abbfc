//! Replays a corpus directory through the shared checker without libFuzzer
//! and counts what the cases came to: a quick look at whether a corpus
//! reaches the renderers. `cargo +nightly run --example replay -- TARGET DIR`.

use std::collections::BTreeMap;
use std::fs;

use arbitrary::{Arbitrary, Unstructured};
use tidings_fuzz::structured::FuzzCase;
use tidings_fuzz::{check_case, run_config, Summary};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(target), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: replay case_json|render_structured DIR");
        std::process::exit(2);
    };
    let config = run_config();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for entry in fs::read_dir(&dir).expect("corpus directory") {
        let data = fs::read(entry.expect("entry").path()).expect("readable file");
        let what = match target.as_str() {
            "case_json" => tidings_std::ingest::parse_case(&data)
                .and_then(|doc| {
                    let lent = doc.lend()?;
                    let case = lent.case(config.now, &config.app)?;
                    Ok(label(check_case(&case, tidings_fuzz::BIG_BUFFER)))
                })
                .unwrap_or_else(|_| "ingest refused".into()),
            "render_structured" => match FuzzCase::arbitrary_take_rest(Unstructured::new(&data)) {
                Ok(input) => {
                    let elems = input.elems();
                    let mentions = input.mentions();
                    label(check_case(&input.case(&elems, &mentions), input.buffer()))
                }
                Err(_) => "not enough bytes".into(),
            },
            other => panic!("unknown target {other}"),
        };
        *counts.entry(what).or_default() += 1;
    }
    for (what, n) in counts {
        println!("{n:8}  {what}");
    }
}

fn label(summary: Summary) -> String {
    match summary {
        Summary::Refused(e) => format!("refused: {e}"),
        Summary::Suppressed(r) => format!("suppressed: {}", r.name()),
        Summary::Pushed(_) => "pushed".into(),
    }
}
