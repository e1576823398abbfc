//! Golden reports of `tidings explain` (text and JSON) for a case of every
//! suppression reason and a push on every channel: `tests/goldens/explain/`
//! holds `NAME.case.json` and its `NAME.txt` and `NAME.json`.
//! `TIDINGS_BLESS=1 cargo test -p tidings-tests --test explain` rewrites
//! the reports after a deliberate change.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;
use tidings_core::model::Channel;
use tidings_core::Reason;
use tidings_std::explain::explain_case;
use tidings_std::report::RunConfig;

fn goldens() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("goldens/explain")
}

fn compare(path: PathBuf, got: &str, bless: bool) -> Result<(), String> {
    if bless {
        std::fs::write(&path, got).unwrap();
        return Ok(());
    }
    let want = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if want == got {
        Ok(())
    } else {
        Err(format!(
            "{} differs (TIDINGS_BLESS=1 rewrites it):\n--- got\n{got}",
            path.display()
        ))
    }
}

#[test]
fn every_reason_and_channel_has_a_golden_report() {
    let bless = std::env::var_os("TIDINGS_BLESS").is_some();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(goldens())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".case.json"))
        .collect();
    cases.sort();
    let (mut reasons, mut channels) = (BTreeSet::new(), BTreeSet::new());
    let mut failures = Vec::new();
    for case in &cases {
        let stem = case
            .to_string_lossy()
            .trim_end_matches(".case.json")
            .to_owned();
        let input = std::fs::read(case).unwrap();
        let explained = explain_case(&input, &RunConfig::default())
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let report = &explained.report;
        match report["Decision"].as_str() {
            Some("suppress") => {
                let reason = report["Reason"].as_str().unwrap().to_owned();
                // The rule table stops at the reason, which fired.
                let rules = report["Rules"].as_array().unwrap();
                let fired: Vec<_> = rules.iter().filter(|r| r["Fired"] == true).collect();
                assert_eq!(fired.len(), 1, "{stem}");
                assert_eq!(fired[0]["Check"], reason.as_str(), "{stem}");
                reasons.insert(reason);
            }
            Some("push") => {
                let rules = report["Rules"].as_array().unwrap();
                assert!(rules.iter().all(|r| r["Fired"] == false), "{stem}");
                assert!(report["Lints"].is_array() && report["Sources"].is_object());
                channels.insert(report["Channel"].as_str().unwrap().to_owned());
            }
            other => panic!("{stem}: decision {other:?}"),
        }
        let json = format!("{}\n", serde_json::to_string_pretty(report).unwrap());
        for (ext, got) in [("txt", &explained.text), ("json", &json)] {
            if let Err(why) = compare(PathBuf::from(format!("{stem}.{ext}")), got, bless) {
                failures.push(why);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for reason in Reason::ALL {
        assert!(
            reasons.contains(reason.name()),
            "no golden for {}",
            reason.name()
        );
    }
    for channel in Channel::ALL {
        assert!(
            channels.contains(channel.name()),
            "no golden for {}",
            channel.name()
        );
    }
}

/// The JSON report is the render result object plus the trace.
#[test]
fn the_json_report_extends_the_render_result() {
    let input = std::fs::read(goldens().join("push-huawei.case.json")).unwrap();
    let config = RunConfig::default();
    let explained = explain_case(&input, &config).unwrap();
    let rendered = tidings_std::report::run_case(&input, &config).unwrap();
    let Value::Object(render) = rendered.report else {
        panic!()
    };
    for (key, value) in render {
        assert_eq!(explained.report[&key], value, "{key}");
    }
}
