//! Arbitrary bytes → the std ingest (serde_json) → decide → render on every
//! channel, through the shared checker; and `run_case`, the CLI's path,
//! must agree with ingest + decide + render done directly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_core::{decide, render, Decision};
use tidings_fuzz::{check_every_channel, BIG_BUFFER};
use tidings_std::ingest::parse_case;
use tidings_std::report::run_case;

fuzz_target!(|data: &[u8]| {
    let config = tidings_fuzz::run_config();
    let outcome = run_case(data, &config);
    // Where the std ingest refuses, nothing is decided or rendered.
    let Ok(doc) = parse_case(data) else {
        assert!(outcome.is_err());
        return;
    };
    let Ok(lent) = doc.lend() else {
        assert!(outcome.is_err());
        return;
    };
    let Ok(case) = lent.case(config.now, &config.app) else {
        assert!(outcome.is_err());
        return;
    };
    check_every_channel(&case, BIG_BUFFER);

    let direct = decide(&case).and_then(|d| match d {
        Decision::Suppress(_) => Ok(None),
        Decision::Push(n) => {
            let mut buf = vec![0u8; BIG_BUFFER];
            let r = render(&n, &mut buf)?;
            buf.truncate(r.len);
            Ok(Some(buf))
        }
    });
    match (outcome, direct) {
        (Ok(o), Ok(payload)) => assert_eq!(o.payload, payload, "run_case payload differs"),
        (Err(e), Err(_)) => assert!(!e.reason.starts_with("internal error"), "{e}"),
        (o, d) => panic!(
            "run_case {:?} but directly {:?}",
            o.map(|o| o.report),
            d.map(|_| ())
        ),
    }
});
