//! `tidings`: run push cases from the command line.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};

mod send;
mod serve;
mod standin;
use tidings_std::conform::check_file;
use tidings_std::explain::explain_case;
use tidings_std::ingest::AppDoc;
use tidings_std::report::{run_case, RunConfig};

#[derive(Parser)]
#[command(
    name = "tidings",
    version,
    about = "Offline-push rules and payload engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// A case to decide, and what the case format leaves to the runner.
#[derive(Args)]
struct CaseArgs {
    /// The case file, or `-` for standard input.
    case: PathBuf,
    /// Unix seconds for cases without `Now` (default: the clock).
    #[arg(long)]
    now: Option<i64>,
    /// APNs topic for cases without `App.BundleId`.
    #[arg(long, env = "TIDINGS_BUNDLE_ID")]
    bundle_id: Option<String>,
    /// Android package for cases without `App.PackageName`.
    #[arg(long, env = "TIDINGS_PACKAGE_NAME")]
    package_name: Option<String>,
    /// Android launcher class (Huawei/Honor badge) for cases without `App.BadgeClass`.
    #[arg(long, env = "TIDINGS_BADGE_CLASS")]
    badge_class: Option<String>,
    /// HarmonyOS category for cases without `App.HarmonyCategory` (default `IM`).
    #[arg(long, env = "TIDINGS_HARMONY_CATEGORY")]
    harmony_category: Option<String>,
}

impl CaseArgs {
    /// The case's bytes and the run's defaults; a read error is the exit.
    fn read(self) -> Result<(Vec<u8>, RunConfig), ExitCode> {
        let input =
            read_input(&self.case).map_err(|e| fail(&format!("{}: {e}", self.case.display())))?;
        let config = RunConfig {
            now: self.now.unwrap_or_else(clock_now),
            app: AppDoc {
                bundle_id: self.bundle_id,
                package_name: self.package_name,
                badge_class: self.badge_class,
                harmony_category: self.harmony_category,
            },
        };
        Ok((input, config))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Decide and render one case (case-format.md) and print the result.
    Render {
        #[command(flatten)]
        case: CaseArgs,
        /// Print the rendered provider body alone (nothing when suppressed).
        #[arg(long)]
        raw: bool,
    },
    /// Explain one case: every suppression check of push-rules §2.1 with
    /// what it read and whether it fired, where each setting came from,
    /// the cut and the vendor lints with their advice. Exit codes as `render`.
    Explain {
        #[command(flatten)]
        case: CaseArgs,
        /// Print the JSON report (the render result object with `Rules`,
        /// `Sources` and `Cut`) instead of the readable one.
        #[arg(long)]
        json: bool,
    },
    /// Decide, render and deliver one case; print the result with its Delivery.
    ///
    /// Exit 0 when delivered or suppressed, 3 when the provider did not take
    /// it (see Delivery.Outcome), 2 when the case or configuration is unusable.
    Send {
        /// The case file, or `-` for standard input.
        case: PathBuf,
        /// The TOML configuration (one table per provider).
        #[arg(long, env = "TIDINGS_CONFIG")]
        config: Option<PathBuf>,
        /// Unix seconds for cases without `Now` (default: the clock).
        #[arg(long)]
        now: Option<i64>,
    },
    /// Start a provider's stand-in on a local address: it validates what the
    /// provider validates and answers its documented codes. Writes its CA,
    /// test credentials and a tidings.toml for `tidings send` into --dir;
    /// prints one JSON line with their paths and its URL; serves until Ctrl-C.
    Standin {
        /// apns, fcm, huawei, honor, vivo, xiaomi, oppo, meizu, tpns or harmony.
        provider: String,
        /// Address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
        /// Folder for ca.pem, credentials and tidings.toml (default:
        /// tidings-standin-PROVIDER).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Append one JSON line per accepted push to this file.
        #[arg(long)]
        record: Option<PathBuf>,
        /// TOKEN=CODE: answer the provider's documented error CODE for that
        /// device token, e.g. `--reply 00ff=Unregistered` (repeatable).
        #[arg(long = "reply")]
        replies: Vec<String>,
        /// APNs: a bundle id pushes may go to (repeatable; default com.example.chat).
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// APNs: the team id tokens must carry.
        #[arg(long, default_value = standin::DEFAULT_TEAM_ID)]
        team_id: String,
        /// APNs: the key id tokens must carry.
        #[arg(long, default_value = standin::DEFAULT_KEY_ID)]
        key_id: String,
        /// APNs: accept tokens signed by this .p8 key (default: generate one).
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// APNs: answer every push this many milliseconds late (a slow provider).
        #[arg(long)]
        delay_ms: Option<u64>,
    },
    /// Run the gateway: HTTP API, durable local queue, workers, feedback,
    /// metrics (config tables [server], [queue], [feedback], [app] and one
    /// per provider). Stops on Ctrl-C or SIGTERM, draining sends in flight.
    Serve {
        /// The TOML configuration.
        #[arg(long, env = "TIDINGS_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Run conformance vector files (case-format.md §Vectors) and report.
    Conform {
        /// Vector files (JSON arrays of {Name, Case, Expect}).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// jemalloc: per-thread caches, no global lock (see Cargo.toml; the
/// `jemalloc` feature, on in the shipped build).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Serve { .. }) {
        init_logging("warn", false);
    }
    match cli.command {
        Command::Standin {
            provider,
            listen,
            dir,
            record,
            replies,
            topics,
            team_id,
            key_id,
            key_file,
            delay_ms,
        } => {
            let args = standin::Args {
                dir: dir.unwrap_or_else(|| PathBuf::from(format!("tidings-standin-{provider}"))),
                provider,
                listen,
                record,
                replies,
                apns: tidings_standin::cli::ApnsCliSetup {
                    topics,
                    team_id,
                    key_id,
                    key_file,
                    delay_ms,
                },
            };
            match standin::run(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
        Command::Serve { config } => match serve::run(config.as_deref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(serve::Failed::Config(why)) => {
                eprintln!("error: {why}");
                ExitCode::from(64)
            }
            Err(serve::Failed::Runtime(why)) => fail(&why),
        },
        Command::Send { case, config, now } => {
            let input = match read_input(&case) {
                Ok(input) => input,
                Err(e) => return fail(&format!("{}: {e}", case.display())),
            };
            match send::run(config.as_deref(), &input, now) {
                Err(send::Unusable(why)) => fail(&why),
                Ok(send::Sent::Done(report)) => print_report(&report, ExitCode::SUCCESS),
                Ok(send::Sent::NotDelivered(report)) => print_report(&report, ExitCode::from(3)),
            }
        }
        Command::Conform { files } => conform(&files),
        Command::Explain { case, json } => {
            let (input, config) = match case.read() {
                Ok(read) => read,
                Err(code) => return code,
            };
            match explain_case(&input, &config) {
                Err(e) => fail(&e.to_string()),
                Ok(explained) if json => print_report(&explained.report, ExitCode::SUCCESS),
                Ok(explained) => {
                    let mut out = std::io::stdout().lock();
                    match out
                        .write_all(explained.text.as_bytes())
                        .and_then(|()| out.flush())
                    {
                        Ok(()) => ExitCode::SUCCESS,
                        Err(e) => fail(&format!("writing output: {e}")),
                    }
                }
            }
        }
        Command::Render { case, raw } => {
            let (input, config) = match case.read() {
                Ok(read) => read,
                Err(code) => return code,
            };
            match run_case(&input, &config) {
                Err(e) => fail(&e.to_string()),
                Ok(outcome) => {
                    let mut out = std::io::stdout().lock();
                    let written = if raw {
                        match &outcome.payload {
                            Some(payload) => out.write_all(payload),
                            None => {
                                eprintln!(
                                    "suppressed: {}",
                                    outcome.report["Reason"].as_str().unwrap_or("?")
                                );
                                Ok(())
                            }
                        }
                    } else {
                        serde_json::to_writer_pretty(&mut out, &outcome.report)
                            .map_err(std::io::Error::from)
                            .and_then(|()| writeln!(out))
                    };
                    match written.and_then(|()| out.flush()) {
                        Ok(()) => ExitCode::SUCCESS,
                        Err(e) => fail(&format!("writing output: {e}")),
                    }
                }
            }
        }
    }
}

fn print_report(report: &serde_json::Value, code: ExitCode) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let written = serde_json::to_writer_pretty(&mut out, report)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => code,
        Err(e) => fail(&format!("writing output: {e}")),
    }
}

/// Logs go to stderr; `TIDINGS_LOG` (an `EnvFilter`, e.g. `debug`) sets
/// the level, `default` otherwise; `json` writes one JSON object a line.
/// No secret is ever logged.
pub(crate) fn init_logging(default: &str, json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TIDINGS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    use std::io::IsTerminal as _;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn conform(files: &[PathBuf]) -> ExitCode {
    let config = RunConfig::default();
    let (mut passed, mut failed) = (0usize, 0usize);
    for file in files {
        let vectors: serde_json::Value = match std::fs::read(file)
            .map_err(|e| e.to_string())
            .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
        {
            Ok(vectors) => vectors,
            Err(e) => return fail(&format!("{}: {e}", file.display())),
        };
        let total = vectors.as_array().map_or(0, Vec::len);
        match check_file(&vectors, &config) {
            Err(e) => return fail(&format!("{}: {e}", file.display())),
            Ok(failures) => {
                for (name, why) in &failures {
                    println!("FAIL {}: {name}: {why}", file.display());
                }
                failed += failures.len();
                passed += total - failures.len();
            }
        }
    }
    println!("conform: {passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn read_input(path: &PathBuf) -> std::io::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut input = Vec::new();
        std::io::stdin().read_to_end(&mut input)?;
        Ok(input)
    } else {
        std::fs::read(path)
    }
}

fn clock_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}
