//! Arbitrary bytes → one client connection to the gateway's HTTP API, as
//! the listener serves it: hyper's HTTP/1.1 parser (or HTTP/2 after its
//! preface) under the listener's deadlines, then the API's middleware
//! (request id, body deadline, bearer tokens with their rate limits) and
//! its routes, over a real local store.
//!
//! Time is tokio's paused clock: a request the bytes leave unfinished runs
//! into its deadline at once rather than after seconds. Whatever the
//! bytes, nothing panics, the connection ends, and on HTTP/1.x what the
//! gateway writes back starts with a status line.
#![no_main]

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tidings_gateway::api::{router, AppState, Queue};
use tidings_gateway::limits::{ApiLimits, Rate};
use tidings_gateway::listen::{serve_stream, Limits};
use tidings_gateway::metrics::Metrics;
use tidings_gateway::store::Store;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const LIMITS: Limits = Limits {
    header_timeout: Duration::from_secs(10),
    idle_timeout: Duration::from_secs(60),
    max_connections: 1,
};

struct World {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    metrics: Arc<Metrics>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("a runtime");
        let dir =
            std::env::temp_dir().join(format!("tidings-fuzz-api-http-{}", std::process::id()));
        let store = Store::open(&dir).expect("a store");
        // The writer's receiver is gone: an accepted push is a 500 and
        // nothing grows between runs.
        let (writer, _) = tokio::sync::mpsc::channel(1);
        let metrics = Arc::new(Metrics::default());
        let one = NonZeroU32::MIN;
        let state = Arc::new(AppState {
            queue: Queue::Local {
                store,
                writer,
                wake: Arc::new(tokio::sync::Notify::new()),
                leases: Arc::default(),
            },
            metrics: Arc::clone(&metrics),
            clock: Arc::new(tidings_std::clock::ManualClock::at(
                std::time::UNIX_EPOCH + Duration::from_secs(1_767_225_600),
            )),
            tokens: vec!["fuzz-token-a".into(), "fuzz-token-b".into()],
            app: tidings_std::ingest::AppDoc::default(),
            recall: Default::default(),
            max_devices: 64,
            high_water: 1_000_000,
            limits: ApiLimits::new(
                Duration::from_secs(30),
                Some(Rate {
                    per_second: one,
                    burst: one,
                }),
                one,
            ),
        });
        let app = router(state, 65_536);
        World {
            runtime,
            app,
            metrics,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let world = world();
    let peer = SocketAddr::from(([192, 0, 2, data.first().copied().unwrap_or(0)], 40_000));
    let answer = world.runtime.block_on(async {
        let (client, server) = tokio::io::duplex(1 << 16);
        let (mut from_gateway, mut to_gateway) = tokio::io::split(client);
        let serving = serve_stream(
            server,
            peer,
            world.app.clone(),
            LIMITS,
            Arc::clone(&world.metrics),
        );
        let sending = async {
            // The gateway may close first (a parse error): not a finding.
            let _ = to_gateway.write_all(data).await;
            let _ = to_gateway.shutdown().await;
        };
        let reading = async {
            let mut answer = Vec::new();
            let _ = from_gateway.read_to_end(&mut answer).await;
            answer
        };
        let ((), (), answer) = tokio::join!(serving, sending, reading);
        answer
    });
    if answer.is_empty() || data.starts_with(H2_PREFACE) {
        return;
    }
    assert!(
        (answer.starts_with(b"HTTP/1.1 ") || answer.starts_with(b"HTTP/1.0 "))
            && answer
                .get(9..12)
                .is_some_and(|code| code.iter().all(u8::is_ascii_digit)),
        "not an answer: {:?}",
        String::from_utf8_lossy(&answer[..answer.len().min(64)])
    );
});
