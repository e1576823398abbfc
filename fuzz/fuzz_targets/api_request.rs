//! Arbitrary bytes → the gateway's request reader, as `POST /v1/push` hands
//! it a body: the first byte picks the form (JSON or the postcard wire job)
//! and whether it is a dry run, the rest is the body.
//!
//! Whatever the body, the reader answers an error naming what is wrong or
//! a job within `max_devices`, one record (and in a dry run one report)
//! per device — and its memory stays within what libFuzzer's
//! `-malloc_limit_mb`/`-rss_limit_mb` allow (`.ci/run` sets both), so a
//! body built to multiply itself is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_gateway::job::{prepare, prepare_wire};

const MAX_DEVICES: usize = 64;
const NOW: i64 = 1_767_225_600;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let (wire, dry_run) = (selector & 1 == 1, selector & 2 == 2);
    let app = tidings_std::ingest::AppDoc::default();
    let prepared = if wire {
        prepare_wire(body, NOW, dry_run)
    } else {
        prepare(body, NOW, &app, MAX_DEVICES, dry_run)
    };
    match prepared {
        Ok(p) => {
            assert!(!p.devices.is_empty() && p.devices.len() <= MAX_DEVICES);
            if dry_run {
                assert_eq!(p.reports.len(), p.devices.len());
            }
            for device in &p.devices {
                assert!(!device.path.is_empty(), "a device without its path");
                assert_eq!(device.attempts, 0);
            }
        }
        Err(e) => assert!(!e.reason.is_empty(), "an error that says nothing"),
    }
});
