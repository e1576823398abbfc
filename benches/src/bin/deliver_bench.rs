//! The delivery benchmark's Tidings side (run by `benches/delivery.sh`):
//! the APNs client sending one rendered case COUNT times, CONCURRENCY in
//! flight, to a stand-in. Prints one JSON line like the Node peer's:
//! `{"pushes", "delivered", "seconds", "p50_ms", "p99_ms", "cpu_seconds"}`.
//!
//! `deliver-bench CONFIG CASE CONCURRENCY COUNT` — CONFIG is the TOML the
//! stand-in wrote (`[apns]` with its URL, CA and key).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tidings_core::{decide, Decision};
use tidings_deliver::apns::{ApnsClient, ApnsConfig};
use tidings_deliver::{Outcome, Push};
use tidings_std::clock::SystemClock;
use tidings_std::config::{Config, ProcessEnv};
use tidings_std::ingest::{parse_case, AppDoc};
use tidings_std::report::push_report;

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [config, case, concurrency, count] = args.as_slice() else {
        return Err("usage: deliver-bench CONFIG CASE CONCURRENCY COUNT".into());
    };
    let concurrency: usize = concurrency.parse().map_err(|_| "CONCURRENCY: a number")?;
    let count: usize = count.parse().map_err(|_| "COUNT: a number")?;
    let config = Config::load(Some(Path::new(config)), &ProcessEnv).map_err(|e| e.to_string())?;
    let section = config.apns.ok_or("no [apns] in the config")?;
    let apns = ApnsConfig::from_section(&section).map_err(|e| e.to_string())?;

    let json = std::fs::read(case).map_err(|e| format!("{case}: {e}"))?;
    // Leaked once: the spawned send tasks borrow the case's headers for the
    // life of the process.
    let doc = Box::leak(Box::new(parse_case(&json).map_err(|e| e.to_string())?));
    let lent = Box::leak(Box::new(doc.lend().map_err(|e| e.to_string())?));
    let app = Box::leak(Box::new(AppDoc::default()));
    let case = Box::leak(Box::new(lent.case(0, app).map_err(|e| e.to_string())?));
    let Decision::Push(notification) = decide(case).map_err(|e| e.to_string())? else {
        return Err("the case is suppressed; the benchmark needs a push".into());
    };
    let (report, rendered) = push_report(&notification).map_err(|e| e.to_string())?;
    let body = report.payload.ok_or("no payload")?;
    let headers = rendered.headers;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let client =
            Arc::new(ApnsClient::new(apns, Arc::new(SystemClock)).map_err(|e| e.to_string())?);
        let send = move |client: Arc<ApnsClient>, body: Arc<Vec<u8>>| async move {
            let push = Push {
                body: &body,
                headers,
                id: uuid::Uuid::new_v4(),
                attempt: 0,
                action: tidings_deliver::Action::Send,
            };
            let started = Instant::now();
            let delivery = client.send(&push).await;
            (
                matches!(delivery.outcome, Outcome::Delivered { .. }),
                started.elapsed(),
            )
        };
        let body = Arc::new(body);
        // One push first: connection and token set up before the clock starts.
        send(Arc::clone(&client), Arc::clone(&body)).await;

        let next = Arc::new(AtomicUsize::new(0));
        let cpu_start = tidings_benches::own_cpu_seconds();
        let started = Instant::now();
        let mut workers = Vec::with_capacity(concurrency);
        for _ in 0..concurrency {
            let (client, body, next) = (Arc::clone(&client), Arc::clone(&body), Arc::clone(&next));
            workers.push(tokio::spawn(async move {
                let mut results = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < count {
                    results.push(send(Arc::clone(&client), Arc::clone(&body)).await);
                }
                results
            }));
        }
        let mut latencies = Vec::with_capacity(count);
        let mut delivered = 0usize;
        for worker in workers {
            for (ok, latency) in worker.await.map_err(|e| e.to_string())? {
                delivered += usize::from(ok);
                latencies.push(latency.as_secs_f64() * 1e3);
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let cpu = tidings_benches::own_cpu_seconds() - cpu_start;
        latencies.sort_by(f64::total_cmp);
        let pick = |q: f64| {
            let i = ((q * latencies.len() as f64) as usize).min(latencies.len().saturating_sub(1));
            latencies.get(i).copied().unwrap_or(0.0)
        };
        println!(
            "{}",
            serde_json::json!({
                "pushes": count,
                "delivered": delivered,
                "seconds": seconds,
                "p50_ms": pick(0.5),
                "p99_ms": pick(0.99),
                "cpu_seconds": cpu,
            })
        );
        Ok(())
    })
}
