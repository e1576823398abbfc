//! Conformance vectors (case-format.md §Vectors): `{Name, Case, Expect}`,
//! with `Expect` matched as a subset of the result, `Absent` payload paths,
//! and `"Error": true` for cases that must be refused.

use serde_json::{Map, Value};

use crate::report::{is_form_channel, run_case, RunConfig};
use tidings_core::model::Channel;

/// Form fields whose values are JSON documents, decoded before matching.
pub const JSON_FORM_FIELDS: [&str; 2] = ["message", "messageJson"];

/// Runs one vector; `Err` says what did not match.
pub fn check_vector(vector: &Value, config: &RunConfig) -> Result<(), String> {
    let case = vector.get("Case").ok_or("vector has no Case")?;
    let expect = vector
        .get("Expect")
        .and_then(Value::as_object)
        .ok_or("vector has no Expect object")?;
    let input = serde_json::to_vec(case).map_err(|e| e.to_string())?;
    let outcome = run_case(&input, config);
    if expect.get("Error") == Some(&Value::Bool(true)) {
        return match outcome {
            Err(_) => Ok(()),
            Ok(o) => Err(format!("expected an error, got {}", o.report)),
        };
    }
    let outcome = outcome.map_err(|e| format!("refused: {e}"))?;
    let report = &outcome.report;
    let payload = decoded_payload(report)?;
    for (key, want) in expect {
        match key.as_str() {
            "Absent" => {}
            "Payload" => {
                let got = payload.as_ref().ok_or("no payload to match")?;
                subset(want, got, "Payload")?;
            }
            _ => {
                let got = report.get(key).unwrap_or(&Value::Null);
                subset(want, got, key)?;
            }
        }
    }
    let absent = expect
        .get("Absent")
        .or_else(|| vector.get("Absent"))
        .and_then(Value::as_array);
    for path in absent.into_iter().flatten() {
        let path = path.as_str().ok_or("Absent entries are strings")?;
        let got = payload.as_ref().ok_or("no payload for Absent")?;
        if lookup(got, path).is_some() {
            return Err(format!("payload has {path}, which must be absent"));
        }
    }
    if let (Some(bytes), Some(p)) = (report.get("PayloadBytes"), &outcome.payload) {
        if bytes.as_u64() != u64::try_from(p.len()).ok() {
            return Err(format!(
                "PayloadBytes {bytes} but the payload has {} bytes",
                p.len()
            ));
        }
    }
    Ok(())
}

/// The payload as JSON; a form body decoded into an object, its
/// JSON-valued fields decoded too.
pub fn decoded_payload(report: &Value) -> Result<Option<Value>, String> {
    let Some(payload) = report.get("Payload") else {
        return Ok(None);
    };
    let channel = report
        .get("Channel")
        .and_then(Value::as_str)
        .and_then(Channel::from_name);
    match (payload, channel) {
        (Value::String(form), Some(c)) if is_form_channel(c) => {
            let mut fields = Map::new();
            for (name, value) in form_urlencoded::parse(form.as_bytes()) {
                let value = if JSON_FORM_FIELDS.contains(&name.as_ref()) {
                    serde_json::from_str(&value)
                        .map_err(|e| format!("form field {name} is not JSON: {e}"))?
                } else {
                    Value::String(value.into_owned())
                };
                if fields.insert(name.into_owned(), value).is_some() {
                    return Err("form body repeats a field".into());
                }
            }
            Ok(Some(Value::Object(fields)))
        }
        _ => Ok(Some(payload.clone())),
    }
}

/// `want` is contained in `got`: objects by key, everything else equal.
fn subset(want: &Value, got: &Value, path: &str) -> Result<(), String> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (key, value) in w {
                let inner = format!("{path}.{key}");
                let got = g.get(key).ok_or_else(|| format!("{inner} is missing"))?;
                subset(value, got, &inner)?;
            }
            Ok(())
        }
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => w
            .iter()
            .zip(g)
            .enumerate()
            .try_for_each(|(i, (w, g))| subset(w, g, &format!("{path}[{i}]"))),
        _ if want == got => Ok(()),
        _ => Err(format!("{path}: expected {want}, got {got}")),
    }
}

/// The value at a dotted path (`aps.sound`).
fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// Runs every vector of a file; returns the failures as (name, why).
pub fn check_file(vectors: &Value, config: &RunConfig) -> Result<Vec<(String, String)>, String> {
    let vectors = vectors.as_array().ok_or("a vector file is a JSON array")?;
    Ok(vectors
        .iter()
        .filter_map(|v| {
            let name = v
                .get("Name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned();
            check_vector(v, config).err().map(|why| (name, why))
        })
        .collect())
}
