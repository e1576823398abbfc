//! A real `nats-server -js` on loopback with its store in a temporary
//! folder, for the tests of the NATS queue (Debian's `nats-server`
//! package; `.ci/run` installs it), with a user and password (so the tests
//! see the password kept out of every log). Killed when dropped;
//! restartable on the same port and store, as an operator restarts it.

#![allow(dead_code)] // each test binary uses its part

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server's password for user `tidings`.
pub const PASSWORD: &str = "nats-pa55-0123456789";

pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    max_payload: String,
}

impl NatsServer {
    /// Starts a server on a free port and waits until it takes connections.
    pub fn start() -> Self {
        // Requests of a 10,000-device fan-out are larger than the 1 MB default.
        Self::start_with_max_payload("8MB")
    }

    /// As [`NatsServer::start`], with the server's `max_payload` (`32KB`…).
    pub fn start_with_max_payload(max_payload: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Self {
            child: None,
            port,
            dir: tempfile::tempdir().unwrap(),
            max_payload: max_payload.to_owned(),
        };
        server.restart();
        server
    }

    /// Where it listens, without credentials.
    pub fn address(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// With the credentials: `nats://tidings:PASSWORD@127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://tidings:{PASSWORD}@127.0.0.1:{}", self.port)
    }

    /// `kill -9`: nothing is flushed beyond what JetStream already synced.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Its `max_payload` from the next [`NatsServer::restart`] on.
    pub fn set_max_payload(&mut self, max_payload: &str) {
        max_payload.clone_into(&mut self.max_payload);
    }

    /// Starts it again (after [`NatsServer::kill`]) on the same port and store.
    pub fn restart(&mut self) {
        self.kill();
        let config = self.dir.path().join("nats.conf");
        std::fs::write(
            &config,
            format!(
                "listen: \"127.0.0.1:{}\"\nmax_payload: {}\njetstream {{ store_dir: {:?} }}\n\
                 authorization {{ user: tidings, password: \"{PASSWORD}\" }}\n",
                self.port,
                self.max_payload,
                self.dir.path().join("js")
            ),
        )
        .unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap();
        let child = Command::new("nats-server")
            .arg("-js")
            .arg("-c")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("nats-server cannot be started ({e}): apt-get install -y nats-server")
            });
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "nats-server did not start: {}",
                std::fs::read_to_string(self.log_path()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("nats.log")
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
