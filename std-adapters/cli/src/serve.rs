//! `tidings serve`: the gateway until Ctrl-C or SIGTERM, then a drain.

use std::path::Path;
use std::sync::Arc;

use tidings_gateway::{Gateway, StartError};
use tidings_std::clock::SystemClock;
use tidings_std::config::{Config, ProcessEnv};

pub enum Failed {
    /// The configuration is unusable: exit 64 (EX_USAGE), one line naming the key.
    Config(String),
    Runtime(String),
}

pub fn run(config_path: Option<&Path>) -> Result<(), Failed> {
    let config =
        Config::load(config_path, &ProcessEnv).map_err(|e| Failed::Config(e.to_string()))?;
    let json = match config.server.as_ref().and_then(|s| s.log_format.as_deref()) {
        None | Some("text") => false,
        Some("json") => true,
        Some(other) => {
            return Err(Failed::Config(format!(
                "server.log_format: {other:?}: use \"text\" or \"json\""
            )))
        }
    };
    crate::init_logging("info", json);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failed::Runtime(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async {
        let gateway = Gateway::start(config, Arc::new(SystemClock))
            .await
            .map_err(|e| match e {
                StartError::Config(e) => Failed::Config(e.to_string()),
                other => Failed::Runtime(other.to_string()),
            })?;
        eprintln!("tidings gateway on {}", gateway.url());
        crate::standin::shutdown_signal().await;
        eprintln!("stopping: draining sends in flight");
        gateway.shutdown().await;
        Ok(())
    })
}
