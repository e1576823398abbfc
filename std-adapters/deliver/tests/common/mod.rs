//! What the Android providers' client tests share: a case rendered the way
//! `tidings send` renders it (case JSON → ingest → decide → push report),
//! a test bed's clock, and a port nothing listens on.

#![allow(dead_code)]

use std::time::{Duration, SystemTime};

use tidings_core::render::Headers;
use tidings_core::{decide, Decision};
use tidings_deliver::Push;
use tidings_std::ingest::{parse_case, AppDoc};
use tidings_std::report::push_report;

pub const PACKAGE: &str = "com.example.chat";

/// A rendered push: the core's body and headers, exactly.
pub struct Rendered {
    pub body: Vec<u8>,
    pub headers: Headers<'static>,
}

impl Rendered {
    pub fn push(&self, attempt: u32) -> Push<'_> {
        Push {
            body: &self.body,
            headers: self.headers,
            id: uuid::Uuid::new_v4(),
            attempt,
            action: tidings_deliver::Action::Send,
        }
    }
}

/// Renders a case the way `tidings send` does (case JSON → ingest → decide
/// → push report) at `now` (Unix seconds). The case is leaked for the
/// test's life (the headers borrow it).
pub fn render_case(json: String, now: i64) -> Rendered {
    let (outcome, rendered) = push_report(&notification(json, now)).unwrap();
    Rendered {
        body: outcome.payload.unwrap(),
        headers: rendered.headers,
    }
}

/// The core's revoke of a case's notification (`render::revoke`: Xiaomi,
/// HarmonyOS), rendered at `now`.
pub fn render_revoke(json: String, now: i64) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let rendered = tidings_core::render::revoke(&notification(json, now), &mut buf)
        .expect("a revocable channel and a message key")
        .unwrap();
    assert_eq!(rendered.headers, Headers::None);
    buf.truncate(rendered.len);
    buf
}

/// The decided notification of a case (leaked for the test's life).
fn notification(json: String, now: i64) -> tidings_core::decide::Notification<'static> {
    let doc = Box::leak(Box::new(parse_case(json.as_bytes()).unwrap()));
    let lent = Box::leak(Box::new(doc.lend().unwrap()));
    let app = Box::leak(Box::new(AppDoc::default()));
    let case = Box::leak(Box::new(lent.case(now, app).unwrap()));
    let Decision::Push(n) = decide(case).unwrap() else {
        panic!("suppressed")
    };
    n
}

/// The case `tidings send` reads for a one-to-one text from Ann to Bob's
/// device `token` on `channel` at `now` (Unix seconds), the message's
/// `OfflinePushInfo` being `offline_push_info`. Each channel's tests add
/// what else their vendor reads (a lifetime, a badge).
pub fn text_case(
    channel: &str,
    token: &str,
    text: &str,
    now: i64,
    offline_push_info: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "Message": {
            "From_Account": "ann", "To_Account": "bob",
            "MsgBody": [{ "MsgType": "TIMTextElem", "MsgContent": { "Text": text } }],
            "OfflinePushInfo": offline_push_info
        },
        "Sender": { "Nick": "Ann" },
        "Recipient": {
            "Account": "bob",
            "Device": { "Channel": channel, "Token": token, "State": "background" }
        },
        "App": { "PackageName": PACKAGE },
        "Now": now
    })
}

/// The core's body for a one-to-one text from Ann to Bob's device `token`
/// on `channel` (`huawei`, `honor`, `vivo`), with `android_info` merged
/// into `OfflinePushInfo.AndroidInfo`, living an hour, with a badge.
pub fn render(
    channel: &str,
    token: &str,
    text: &str,
    now: i64,
    android_info: serde_json::Value,
) -> Vec<u8> {
    let info = serde_json::json!({
        "Ext": "{\"entity\":{\"chatType\":1,\"sender\":\"ann\"}}",
        "AndroidInfo": android_info
    });
    let mut case = text_case(channel, token, text, now, info);
    case["Message"]["MsgLifeTime"] = 3600.into();
    case["Recipient"]["Badge"] = 2.into();
    case["App"]["BadgeClass"] = "com.example.chat.MainActivity".into();
    render_case(case.to_string(), now).body
}

pub fn push(body: &[u8], attempt: u32) -> Push<'_> {
    Push {
        body,
        headers: tidings_core::render::Headers::None,
        id: uuid::Uuid::new_v4(),
        attempt,
        action: tidings_deliver::Action::Send,
    }
}

pub fn unix(t: SystemTime) -> i64 {
    i64::try_from(t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

pub fn millis(t: SystemTime) -> u64 {
    u64::try_from(
        t.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// Writes a stand-in's CA into a temp folder; answers the folder (keep it
/// for the test's life) and the file's path.
pub fn ca_file(pem: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, pem).unwrap();
    (dir, path)
}

/// A JSON provider's test bed: its stand-in, a client of it, the clock
/// both share, the folder with the stand-in's CA, and how the core renders
/// this channel's case.
pub struct Bed<S, C> {
    pub standin: S,
    pub client: C,
    pub clock: tidings_std::clock::ManualClock,
    pub dir: tempfile::TempDir,
    pub channel: &'static str,
    pub text: &'static str,
    pub android_info: serde_json::Value,
}

impl<V: tidings_standin::kit::shell::Vendor, C> Bed<tidings_standin::kit::shell::Standin<V>, C> {
    /// Starts `builder`'s stand-in on `clock`, writes its CA into the bed's
    /// folder and makes the client with `client(stand-in, CA file)`; the
    /// bed renders `channel`'s case with `text` and `android_info`.
    pub async fn start(
        clock: tidings_std::clock::ManualClock,
        builder: tidings_standin::kit::shell::Builder<V>,
        client: impl FnOnce(&tidings_standin::kit::shell::Standin<V>, std::path::PathBuf) -> C,
        channel: &'static str,
        text: &'static str,
        android_info: serde_json::Value,
    ) -> Self {
        let standin = builder
            .clock(std::sync::Arc::new(clock.clone()))
            .start()
            .await
            .unwrap();
        let (dir, ca) = ca_file(standin.ca_pem());
        let client = client(&standin, ca);
        Bed {
            standin,
            client,
            clock,
            dir,
            channel,
            text,
            android_info,
        }
    }
}

impl<S, C> Bed<S, C> {
    /// The core's body for a text to device `token`, rendered now.
    pub fn rendered(&self, token: &str) -> Vec<u8> {
        use tidings_std::clock::Clock as _;
        let now = unix(self.clock.now());
        render(
            self.channel,
            token,
            self.text,
            now,
            self.android_info.clone(),
        )
    }

    /// The stand-in's CA file.
    pub fn ca(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }
}

/// `https://127.0.0.1:PORT` where nothing listens.
pub fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("https://127.0.0.1:{port}")
}

pub const SECOND: Duration = Duration::from_secs(1);

/// Delivered, under the vendor's own message id (`what` names it).
pub fn assert_delivered_under_the_vendor_id(d: &Delivery, what: &str) {
    let Outcome::Delivered { id } = &d.outcome else {
        panic!("{d:?}")
    };
    assert_eq!(d.id.as_deref(), Some(id.as_str()), "the id is {what}");
}

/// A wrong secret: the token endpoint refused it with `reason`, the push is
/// `credentials_refused`, and nothing was sent. `counts` are the
/// stand-in's (token refusals, tokens issued, push requests).
pub fn assert_secret_refused(d: &Delivery, reason: &str, counts: (u64, u64, u64)) {
    assert_eq!(d.outcome, refused(reason), "{d:?}");
    assert_eq!(counts, (1, 0, 0), "refused once, no token, nothing sent");
}

/// A send to a host where nothing listens: `Retry` (`Unreachable`) on the
/// transport backoff of its attempt (1 s at the first, 8 s at the fourth),
/// without a status. `send(attempt)` sends the vendor's push.
pub async fn assert_unreachable_backs_off_by_attempt(
    now: SystemTime,
    send: impl AsyncFn(u32) -> Delivery,
) {
    for (attempt, after) in [(0, 1), (3, 8)] {
        let d = send(attempt).await;
        assert_eq!(
            d.outcome,
            retry("Unreachable", now + after * SECOND),
            "attempt {attempt}"
        );
        assert_eq!(d.status, None);
    }
}

/// A send whose token endpoint never answered within the request timeout:
/// `Retry` (`Timeout`) at the token backoff's first step, without a status.
pub fn assert_token_timeout(d: &tidings_deliver::Delivery, now: SystemTime) {
    use tidings_deliver::token::TOKEN_BACKOFF;
    assert_eq!(
        d.outcome,
        tidings_deliver::Outcome::Retry {
            reason: "Timeout".into(),
            not_before: now + TOKEN_BACKOFF.base
        }
    );
    assert_eq!(d.status, None);
}

/// What a token vendor's client (Huawei, Honor, vivo) offers a test: the
/// provider, and the access tokens it fetched.
pub trait TokenClient {
    fn provider(&self) -> &dyn tidings_deliver::Provider;
    fn token_fetches(&self) -> u64;
}

impl<V: tidings_deliver::huawei::Vendor> TokenClient for tidings_deliver::huawei::Client<V> {
    fn provider(&self) -> &dyn tidings_deliver::Provider {
        self
    }
    fn token_fetches(&self) -> u64 {
        self.token_fetches()
    }
}

impl TokenClient for tidings_deliver::vivo::VivoClient {
    fn provider(&self) -> &dyn tidings_deliver::Provider {
        self
    }
    fn token_fetches(&self) -> u64 {
        self.token_fetches()
    }
}

impl<C: TokenClient> TokenClient for std::sync::Arc<C> {
    fn provider(&self) -> &dyn tidings_deliver::Provider {
        C::provider(self)
    }
    fn token_fetches(&self) -> u64 {
        C::token_fetches(self)
    }
}

impl<V, C> Bed<tidings_standin::kit::shell::Standin<V>, C>
where
    V: tidings_standin::kit::shell::TokenVendor<Stats = tidings_standin::kit::Stats>,
    C: TokenClient,
{
    /// The access token expired at the stand-in: its refusal (`code`)
    /// fetches ONE new token and the push to `token` is resent and
    /// delivered; `refusal` scripted for the next two sends (refused again
    /// right after a fresh token) is `credentials_refused` with `code`, not
    /// a loop. Answers the refused delivery for the vendor's own checks.
    pub async fn assert_an_expired_token_is_refreshed_once(
        &self,
        token: &str,
        refusal: V::Reply,
        code: &str,
    ) -> Delivery {
        let body = self.rendered(token);
        let send = async || self.client.provider().send(&push(&body, 0)).await;
        let d = send().await;
        assert!(matches!(d.outcome, Outcome::Delivered { .. }), "{d:?}");
        self.standin.expire_tokens();
        let d = send().await;
        assert!(matches!(d.outcome, Outcome::Delivered { .. }), "{d:?}");
        assert_eq!(self.client.token_fetches(), 2);
        let stats = self.standin.stats();
        assert_eq!(stats.answered_code(code), 1);
        assert_eq!(stats.token_fetches, 2);
        assert_eq!(self.standin.accepted().len(), 2);

        self.standin.script_next(token, 2, refusal);
        let d = send().await;
        assert_eq!(d.outcome, refused(code));
        assert_eq!(
            self.standin.stats().answered_code(code),
            3,
            "one resend, no loop"
        );
        d
    }
}

// ------------------------------------------------ the outcome-table harness

use tidings_deliver::{Delivery, Outcome};

/// One row of a vendor's outcome table: what the stand-in answers, the
/// send's attempt, and the outcome the client must report.
pub struct Row<R> {
    pub reply: R,
    pub attempt: u32,
    pub outcome: Outcome,
}

pub fn row<R>(reply: R, attempt: u32, outcome: Outcome) -> Row<R> {
    Row {
        reply,
        attempt,
        outcome,
    }
}

pub fn retry(reason: &str, not_before: SystemTime) -> Outcome {
    Outcome::Retry {
        reason: reason.into(),
        not_before,
    }
}

pub fn rejected(reason: &str) -> Outcome {
    Outcome::Rejected {
        reason: reason.into(),
    }
}

pub fn token_invalid(reason: &str) -> Outcome {
    Outcome::TokenInvalid {
        reason: reason.into(),
        since: None,
    }
}

pub fn refused(reason: &str) -> Outcome {
    Outcome::CredentialsRefused {
        reason: reason.into(),
    }
}

/// Runs a vendor's outcome table against its stand-in: row `i` gets its
/// own device token `token(i)`, the stand-in is scripted with the row's
/// reply for it, and one push is sent at the row's attempt. Every outcome
/// must be its row's; the deliveries come back (with their tokens) for the
/// vendor's own checks.
pub async fn run_rows<R>(
    rows: Vec<Row<R>>,
    token: impl Fn(usize) -> String,
    script: impl Fn(&str, R),
    send: impl AsyncFn(&str, u32) -> Delivery,
) -> Vec<(String, Delivery)> {
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.into_iter().enumerate() {
        let token = token(i);
        script(&token, row.reply);
        let d = send(&token, row.attempt).await;
        assert_eq!(d.outcome, row.outcome, "row {i} ({token}): {d:?}");
        out.push((token, d));
    }
    out
}
