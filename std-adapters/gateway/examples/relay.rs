//! An edge relay's round trip, standing in for a device that cannot afford
//! JSON: it encodes one case as a postcard job (the core's `wire`) into a
//! fixed stack buffer, POSTs it to `tidings serve`, and follows the job
//! until the device's push has an outcome.
//!
//! ```sh
//! cargo run -p tidings-gateway --example relay -- http://127.0.0.1:8080 examples/c2c-apns.json [API_TOKEN]
//! ```

use std::time::Duration;

use tidings_core::wire;
use tidings_std::ingest::{parse_case, AppDoc};

/// What a small relay can spare for one job (the example case needs ~300).
const JOB_BUFFER: usize = 2048;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, case_file) = match args.as_slice() {
        [url, case, ..] => (url.trim_end_matches('/').to_owned(), case),
        _ => return Err("usage: relay GATEWAY_URL CASE_FILE [API_TOKEN]".into()),
    };
    let token = args.get(2).cloned().unwrap_or_default();

    // The relay's side: a case in hand, encoded into a fixed buffer.
    let json = std::fs::read(case_file).map_err(|e| format!("{case_file}: {e}"))?;
    let doc = parse_case(&json).map_err(|e| e.to_string())?;
    let lent = doc.lend().map_err(|e| e.to_string())?;
    let app = AppDoc::default();
    let case = lent.case(0, &app).map_err(|e| e.to_string())?;
    let mut buffer = [0u8; JOB_BUFFER];
    let len = wire::encode(&case, &mut buffer).map_err(|e| e.to_string())?;
    let job = buffer.get(..len).ok_or("encoder overran its buffer")?;
    println!("job: {len} bytes (wire version {})", wire::VERSION);

    let http = reqwest::Client::new();
    let answer = http
        .post(format!("{url}/v1/push"))
        .bearer_auth(&token)
        .header("content-type", tidings_gateway::job::WIRE_CONTENT_TYPE)
        .body(job.to_vec())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = answer.status();
    let body: serde_json::Value = answer.json().await.map_err(|e| e.to_string())?;
    println!("POST /v1/push: {status} {body}");
    let Some(job_id) = body["JobId"].as_str() else {
        return Err("the gateway did not accept the job".into());
    };
    for _ in 0..100 {
        let state: serde_json::Value = http
            .get(format!("{url}/v1/jobs/{job_id}"))
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let device = &state["Devices"][0];
        if !matches!(device["State"].as_str(), Some("queued" | "retrying")) {
            println!("GET /v1/jobs/{job_id}: {device}");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("no outcome within 10 s".into())
}
