//! `tidings standin PROVIDER`: a provider's stand-in on a local address,
//! for users testing their own integration (and for the benchmarks).
//!
//! It writes into its folder what a client needs (the stand-in's CA
//! `ca.pem`, its test credentials) and a `tidings.toml` that points
//! `tidings send` at it; prints one JSON line with its URL and those
//! paths; and serves until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;

use tidings_standin::cli::{ApnsCliSetup, CliSetup};

/// The APNs stand-in's defaults: a team and key id of Apple's
/// 10-character shape.
pub const DEFAULT_TEAM_ID: &str = "TEAM000001";
pub const DEFAULT_KEY_ID: &str = "KEY0000001";

pub struct Args {
    pub provider: String,
    pub listen: SocketAddr,
    pub dir: PathBuf,
    pub record: Option<PathBuf>,
    /// `TOKEN=CODE`: answer that provider code for that device token.
    pub replies: Vec<String>,
    pub apns: ApnsCliSetup,
}

pub fn run(args: Args) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(serve(args))
}

async fn serve(args: Args) -> Result<(), String> {
    std::fs::create_dir_all(&args.dir).map_err(|e| format!("--dir {}: {e}", args.dir.display()))?;
    let dir = std::fs::canonicalize(&args.dir)
        .map_err(|e| format!("--dir {}: {e}", args.dir.display()))?;
    let replies = args
        .replies
        .iter()
        .map(|spec| {
            spec.split_once('=')
                .map(|(token, code)| (token.to_owned(), code.to_owned()))
                .ok_or_else(|| format!("--reply {spec:?}: give TOKEN=CODE"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let setup = CliSetup {
        listen: args.listen,
        dir: dir.clone(),
        record: args.record,
        replies,
        apns: args.apns,
    };
    let standin = tidings_standin::cli::start(&args.provider, setup)
        .await
        .map_err(|e| e.to_string())?;
    let config_file = dir.join("tidings.toml");
    let config = format!(
        "# Written by `tidings standin {}`: sends go to the stand-in.\n{}",
        args.provider, standin.config_table
    );
    std::fs::write(&config_file, config).map_err(|e| format!("{}: {e}", config_file.display()))?;
    let mut info = standin.info;
    info["Url"] = standin.url.clone().into();
    info["Config"] = config_file.to_string_lossy().into_owned().into();
    println!("{info}");
    eprintln!(
        "{} stand-in on {}; try: tidings send --config {} CASE (Ctrl-C stops)",
        args.provider,
        standin.url,
        config_file.display()
    );
    shutdown_signal().await;
    let summary = standin.running.stop().await.map_err(|e| e.to_string())?;
    eprintln!("stopped: {summary}");
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
