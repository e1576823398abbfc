//! A gate per provider, in front of its sends: it lets the provider's
//! answers, or their absence, decide how much is sent.
//!
//! - **Unproven** (after start) and **suspect** (after a send that got no
//!   answer): one send at a time, the others wait for its result — so a
//!   provider that cannot be reached costs a few connection attempts, not
//!   one per queued device.
//! - **Healthy** (the last send got an answer, whatever it said): every send
//!   goes, within the channel's concurrency.
//! - **Down** ([`DOWN_AFTER`] sends in a row without an answer: refused or
//!   reset connections, TLS or DNS failures, deadlines): one probe at a
//!   time on a growing interval ([`DOWN_PROBE`]: 1 s doubling to 60 s); the
//!   other devices are held — queued again for the next probe, their
//!   attempts unspent — until a probe gets an answer.
//! - **Paused** (the provider refused the sender's credentials, signature,
//!   clock or app identity: [`Outcome::CredentialsRefused`]): the same, on
//!   [`PAUSE_PROBE`] (5 s doubling to 5 minutes), until a probe is not
//!   refused — after the operator fixed the key, or on restart.
//!
//! One log line per change of state (down, paused, back) and one a minute
//! while down or paused, with counts — never one per send.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tidings_deliver::{Delivery, Outcome};
use tidings_std::clock::SharedClock;
use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::time::{millis, now_ms};

/// Sends in a row without an answer that take a channel down.
pub const DOWN_AFTER: u32 = 3;
/// Probes of a channel that is down: first interval and cap.
pub const DOWN_PROBE: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));
/// Probes of a channel paused on refused credentials: first and cap.
pub const PAUSE_PROBE: (Duration, Duration) = (Duration::from_secs(5), Duration::from_secs(5 * 60));
/// How often a channel that stays down or paused is logged.
const REPORT_EVERY_MS: u64 = 60_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Health {
    Unproven,
    Healthy,
    Suspect { failures: u32 },
    Down,
    Paused,
}

#[derive(Debug)]
struct State {
    health: Health,
    /// A probe (or the one send of an unproven or suspect channel) is out.
    probing: bool,
    interval: Duration,
    probe_at_ms: u64,
    since_ms: u64,
    reason: String,
    /// Sends held since the last report, and in all.
    held: u64,
    probes: u64,
    last_report_ms: u64,
}

/// What the gate says to one send.
#[derive(Debug)]
pub enum Admission {
    /// Send; report the result with [`Ticket::record`].
    Send(Ticket),
    /// Do not send: hold the device until `until_ms`, attempts unspent.
    Hold { until_ms: u64, reason: String },
}

/// A send the gate let through. A probe dropped unrecorded (its send was
/// abandoned) frees the gate for the next one.
#[derive(Debug)]
pub struct Ticket {
    gate: Arc<Gate>,
    probe: bool,
    recorded: bool,
}

impl Ticket {
    /// The send's result: the gate's next state.
    pub fn record(mut self, delivery: &Delivery, now_ms: u64) {
        self.recorded = true;
        self.gate.record(delivery, self.probe, now_ms);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.probe && !self.recorded {
            let mut state = self.gate.lock();
            state.probing = false;
            drop(state);
            self.gate.changed.notify_waiters();
        }
    }
}

/// One provider's gate.
#[derive(Debug)]
pub struct Gate {
    provider: &'static str,
    state: Mutex<State>,
    changed: Notify,
    metrics: Arc<Metrics>,
}

impl Gate {
    fn new(provider: &'static str, metrics: Arc<Metrics>) -> Self {
        metrics.channel_state(provider, true, false);
        Self {
            provider,
            state: Mutex::new(State {
                health: Health::Unproven,
                probing: false,
                interval: DOWN_PROBE.0,
                probe_at_ms: 0,
                since_ms: 0,
                reason: String::new(),
                held: 0,
                probes: 0,
                last_report_ms: 0,
            }),
            changed: Notify::new(),
            metrics,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a send may go now; waits while an unproven or suspect
    /// channel's one send is out.
    pub async fn admit(self: &Arc<Self>, clock: &SharedClock) -> Admission {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let now = now_ms(clock);
                let mut s = self.lock();
                match s.health {
                    Health::Healthy => return self.ticket(false),
                    Health::Unproven | Health::Suspect { .. } if !s.probing => {
                        s.probing = true;
                        return self.ticket(true);
                    }
                    Health::Unproven | Health::Suspect { .. } => {}
                    Health::Down | Health::Paused if !s.probing && now >= s.probe_at_ms => {
                        s.probing = true;
                        s.probes += 1;
                        return self.ticket(true);
                    }
                    Health::Down | Health::Paused => {
                        s.held += 1;
                        self.metrics.held(self.provider);
                        self.report_if_due(&mut s, now);
                        // Held to just after the probe, so they follow it
                        // once it gets an answer.
                        return Admission::Hold {
                            until_ms: s.probe_at_ms.max(now) + 1_000,
                            reason: s.reason.clone(),
                        };
                    }
                }
            }
            changed.await;
        }
    }

    /// Until when a device is held now, if the channel is down or paused.
    pub fn held_until(&self) -> Option<u64> {
        let s = self.lock();
        matches!(s.health, Health::Down | Health::Paused).then_some(s.probe_at_ms + 1_000)
    }

    fn ticket(self: &Arc<Self>, probe: bool) -> Admission {
        Admission::Send(Ticket {
            gate: Arc::clone(self),
            probe,
            recorded: false,
        })
    }

    fn record(&self, delivery: &Delivery, probe: bool, now: u64) {
        let unanswered =
            delivery.status.is_none() && matches!(delivery.outcome, Outcome::Retry { .. });
        let mut s = self.lock();
        if probe {
            s.probing = false;
        }
        match (&delivery.outcome, unanswered, s.health) {
            (Outcome::CredentialsRefused { reason }, _, health) => {
                let reason = format!("CredentialsRefused: {reason}");
                if health == Health::Paused {
                    if probe {
                        self.next_probe(&mut s, now, PAUSE_PROBE.1);
                    }
                } else {
                    tracing::error!(
                        provider = self.provider,
                        %reason,
                        "the provider refuses our credentials: channel paused, its pushes stay queued until a probe is accepted (fix the configuration; a restart resumes at once)"
                    );
                    self.enter(&mut s, Health::Paused, now, PAUSE_PROBE.0, reason);
                }
            }
            (_, true, Health::Down | Health::Paused) => {
                if probe {
                    let cap = if s.health == Health::Down {
                        DOWN_PROBE.1
                    } else {
                        PAUSE_PROBE.1
                    };
                    self.next_probe(&mut s, now, cap);
                }
            }
            (outcome, true, health) => {
                let failures = match health {
                    Health::Suspect { failures } => failures + 1,
                    _ => 1,
                };
                if failures >= DOWN_AFTER {
                    let reason = format!("ProviderUnreachable: {}", outcome.reason());
                    tracing::warn!(
                        provider = self.provider,
                        %reason,
                        "provider unreachable: channel down, one probe at a time until it answers"
                    );
                    self.enter(&mut s, Health::Down, now, DOWN_PROBE.0, reason);
                } else {
                    s.health = Health::Suspect { failures };
                }
            }
            (_, false, health) => {
                if matches!(health, Health::Down | Health::Paused) {
                    tracing::info!(
                        provider = self.provider,
                        after_secs = now.saturating_sub(s.since_ms) / 1000,
                        held = s.held,
                        probes = s.probes,
                        "channel back: the provider answers"
                    );
                }
                if health != Health::Healthy {
                    s.health = Health::Healthy;
                    s.held = 0;
                    s.probes = 0;
                    self.metrics.channel_state(self.provider, true, false);
                }
            }
        }
        drop(s);
        self.changed.notify_waiters();
    }

    fn enter(&self, s: &mut State, health: Health, now: u64, first: Duration, reason: String) {
        s.health = health;
        s.interval = first;
        s.probe_at_ms = now + millis(first);
        s.since_ms = now;
        s.last_report_ms = now;
        s.reason = reason;
        s.held = 0;
        s.probes = 0;
        self.metrics
            .channel_state(self.provider, false, health == Health::Paused);
    }

    fn next_probe(&self, s: &mut State, now: u64, cap: Duration) {
        s.interval = (s.interval * 2).min(cap);
        s.probe_at_ms = now + millis(s.interval);
        self.report_if_due(s, now);
    }

    fn report_if_due(&self, s: &mut State, now: u64) {
        if now.saturating_sub(s.last_report_ms) < REPORT_EVERY_MS {
            return;
        }
        let what = if s.health == Health::Paused {
            "paused"
        } else {
            "down"
        };
        tracing::warn!(
            provider = self.provider,
            reason = %s.reason,
            for_secs = now.saturating_sub(s.since_ms) / 1000,
            held = s.held,
            probes = s.probes,
            next_probe_in_secs = s.probe_at_ms.saturating_sub(now) / 1000,
            "channel still {what}"
        );
        s.last_report_ms = now;
    }
}

/// Every provider's gate, made when first needed.
#[derive(Debug)]
pub struct Gates {
    gates: Mutex<HashMap<&'static str, Arc<Gate>>>,
    metrics: Arc<Metrics>,
}

impl Gates {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            gates: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    /// The gate of the provider behind `provider` (a provider name: APNs
    /// VoIP shares APNs's).
    pub fn get(&self, provider: &'static str) -> Arc<Gate> {
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            gates
                .entry(provider)
                .or_insert_with(|| Arc::new(Gate::new(provider, Arc::clone(&self.metrics)))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;
    use tidings_std::clock::ManualClock;

    fn answered(outcome: Outcome) -> Delivery {
        Delivery {
            outcome,
            status: Some(200),
            id: None,
            invalid_tokens: Vec::new(),
        }
    }

    fn unanswered() -> Delivery {
        Delivery {
            outcome: Outcome::Retry {
                reason: "Unreachable".into(),
                not_before: SystemTime::UNIX_EPOCH,
            },
            status: None,
            id: None,
            invalid_tokens: Vec::new(),
        }
    }

    fn refused() -> Delivery {
        Delivery {
            status: Some(403),
            ..answered(Outcome::CredentialsRefused {
                reason: "InvalidProviderToken".into(),
            })
        }
    }

    async fn admit(gate: &Arc<Gate>, clock: &SharedClock) -> Result<Ticket, u64> {
        match gate.admit(clock).await {
            Admission::Send(t) => Ok(t),
            Admission::Hold { until_ms, .. } => Err(until_ms),
        }
    }

    fn now(clock: &SharedClock) -> u64 {
        now_ms(clock)
    }

    #[tokio::test]
    async fn an_unreachable_provider_gets_probes_on_a_growing_interval() {
        let manual = ManualClock::starting_now();
        let clock: SharedClock = Arc::new(manual.clone());
        let metrics = Arc::new(Metrics::default());
        let gate = Gates::new(Arc::clone(&metrics)).get("apns");
        // Unproven: one send at a time; a second waits for the first.
        let first = admit(&gate, &clock).await.unwrap();
        let waiting = {
            let (gate, clock) = (Arc::clone(&gate), Arc::clone(&clock));
            tokio::spawn(async move { admit(&gate, &clock).await.map(|t| t.probe) })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        first.record(&unanswered(), now(&clock));
        assert_eq!(waiting.await.unwrap(), Ok(true), "the next one probes");
        // DOWN_AFTER failures in a row take the channel down.
        admit(&gate, &clock)
            .await
            .unwrap()
            .record(&unanswered(), now(&clock));
        admit(&gate, &clock)
            .await
            .unwrap()
            .record(&unanswered(), now(&clock));
        let t0 = now(&clock);
        let held_until = admit(&gate, &clock).await.unwrap_err();
        assert_eq!(held_until, t0 + 1_000 + 1_000);
        assert!(metrics
            .render()
            .contains("tidings_channel_up{channel=\"apns\"} 0"));
        // Probes at 1, 2, 4 … 60 s; everything else is held meanwhile.
        let mut intervals = Vec::new();
        let mut interval = 1_000;
        for _ in 0..8 {
            manual.advance(Duration::from_millis(interval));
            let probe = admit(&gate, &clock).await.unwrap();
            assert!(admit(&gate, &clock).await.is_err(), "one probe at a time");
            probe.record(&unanswered(), now(&clock));
            let until = admit(&gate, &clock).await.unwrap_err();
            interval = until - 1_000 - now(&clock);
            intervals.push(interval / 1000);
        }
        assert_eq!(intervals, [2, 4, 8, 16, 32, 60, 60, 60]);
        // A probe that gets an answer (any answer) brings it back.
        manual.advance(Duration::from_secs(60));
        admit(&gate, &clock).await.unwrap().record(
            &answered(Outcome::Rejected {
                reason: "BadDeviceToken".into(),
            }),
            now(&clock),
        );
        let a = admit(&gate, &clock).await.unwrap();
        let b = admit(&gate, &clock).await.unwrap();
        assert!(!a.probe && !b.probe, "healthy: no longer one at a time");
        assert!(metrics
            .render()
            .contains("tidings_channel_up{channel=\"apns\"} 1"));
        assert!(metrics
            .render()
            .contains("tidings_sends_held_total{channel=\"apns\"}"));
    }

    #[tokio::test]
    async fn refused_credentials_pause_until_a_probe_is_accepted() {
        let manual = ManualClock::starting_now();
        let clock: SharedClock = Arc::new(manual.clone());
        let metrics = Arc::new(Metrics::default());
        let gate = Gates::new(Arc::clone(&metrics)).get("fcm");
        admit(&gate, &clock).await.unwrap().record(
            &answered(Outcome::Delivered { id: "1".into() }),
            now(&clock),
        );
        // Healthy sends in flight; one comes back refused: paused.
        let a = admit(&gate, &clock).await.unwrap();
        let b = admit(&gate, &clock).await.unwrap();
        a.record(&refused(), now(&clock));
        b.record(&refused(), now(&clock));
        assert!(metrics
            .render()
            .contains("tidings_channel_paused{channel=\"fcm\"} 1"));
        let t0 = now(&clock);
        assert_eq!(admit(&gate, &clock).await.unwrap_err(), t0 + 5_000 + 1_000);
        // Refused again: 10 s, 20 s … 300 s.
        let mut interval = 5_000;
        let mut seen = Vec::new();
        for _ in 0..7 {
            manual.advance(Duration::from_millis(interval));
            admit(&gate, &clock)
                .await
                .unwrap()
                .record(&refused(), now(&clock));
            interval = admit(&gate, &clock).await.unwrap_err() - 1_000 - now(&clock);
            seen.push(interval / 1000);
        }
        assert_eq!(seen, [10, 20, 40, 80, 160, 300, 300]);
        // A probe abandoned unrecorded frees the gate for the next one.
        manual.advance(Duration::from_millis(interval));
        drop(admit(&gate, &clock).await.unwrap());
        let probe = admit(&gate, &clock).await.unwrap();
        assert!(probe.probe);
        probe.record(
            &answered(Outcome::Delivered { id: "2".into() }),
            now(&clock),
        );
        assert!(metrics
            .render()
            .contains("tidings_channel_paused{channel=\"fcm\"} 0"));
        assert!(admit(&gate, &clock).await.is_ok());
    }
}
