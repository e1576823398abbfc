//! The one vocabulary of delivery: whatever a provider answers, a send ends
//! in one [`Outcome`]. Each provider module maps its status and reason codes
//! onto it in one table.
//!
//! # No answer: the transport backoff
//!
//! A send that got no answer from the provider (the connection was refused
//! or reset, TLS or DNS failed, the request's deadline passed, the answer's
//! body could not be read) ends in [`Delivery::unanswered`]:
//! [`Outcome::Retry`] not before `now + TRANSPORT_BACKOFF.delay(attempt)`
//! (1 s, 2 s, 4 s … at most 5 minutes, [`TRANSPORT_BACKOFF`]) and
//! `status: None`, so the gateway counts it as unanswered. Its reason says
//! what happened on the wire: `Unreachable` (no connection opened: the
//! request never left), `ConnectionLost` (the connection failed after the
//! request was written: the provider may have acted on it), `Unprocessed`
//! (APNs: refused on every connection, never acted on) or `Timeout` (the
//! client's request timeout passed, token fetch included). Such a failure
//! is logged at debug level only, once per send: the gateway logs the
//! channel's state changes once.
//!
//! Token endpoints (OAuth and the vendors' auth calls) have their own
//! memory and backoff: see [`crate::token`].
//!
//! # Refused credentials
//!
//! [`Outcome::CredentialsRefused`] is every answer meaning that the
//! sender's credentials, signature, clock, app identity or standing are
//! wrong: the same answer would meet every push of the channel until the
//! operator changes something, so the gateway keeps the push and pauses
//! the channel. Where a client re-fetches its token once on an auth answer,
//! only the answer to the fresh token counts. Each module's doc gives its
//! reasons where vendors.md is silent.
//!
//! | vendor | answers that are `CredentialsRefused` |
//! |---|---|
//! | APNs | 403 `InvalidProviderToken`, `MissingProviderToken`, `BadCertificate`, `BadCertificateEnvironment`, `BadEnvironmentKeyIdInToken`; 400 `TopicDisallowed`, `BadTopic`, `MissingTopic`; `ExpiredProviderToken` again after a freshly minted token; a provider token that cannot be signed (`ProviderTokenUnavailable`) |
//! | FCM | 401 `THIRD_PARTY_AUTH_ERROR`; 403 `PERMISSION_DENIED`; a 401 (`UNAUTHENTICATED`) again after a fresh access token; the token endpoint's 4xx (`OAuth2:invalid_grant`, `invalid_client`, `unauthorized_client`, `invalid_scope`, …); an assertion that cannot be signed |
//! | Huawei | 80200001 / 80200003 (or a bare 401) again after a fresh token; 80300002; a bare 403; the OAuth endpoint's 4xx (`OAuth2:<error>`) |
//! | Honor | as Huawei (80200001 / 80200003 after a fresh token, 80300002, a bare 403), and its IAM endpoint's 4xx |
//! | vivo | every non-zero `result` of `/message/auth` (`auth: <result> <desc>`: sign, timestamp, app id or key); `result` 10000 again after a fresh `authToken`; 10094; a bare 401/403 |
//! | OPPO | 14–19 (app key, signature, timestamp), 26 (IP blacklisted), 27 (access denied), 28 (app disabled), 30 (no push permission), at the auth call (`auth: <code> <message>`) or a send; 11 / 29 again after a fresh `auth_token`; a bare 401/403 |
//! | Xiaomi | 21301, 21302 (AppSecret), 10031 (app blacklisted), 10036 (operation forbidden), 22000 (illegal app), 22022 (illegal package name); a bare 401/403 |
//! | Meizu | top-level 1006 (signature), 110000 / 110001 / 110033 / 110031 (appId, appKey, appSecret, package), 110009 (app blacklisted); a bare 401/403 |
//! | HarmonyOS | 80200001, 80300002, 80300036, 80300037 at once; 80200005 (or a bare 401) again after a freshly minted JWT; a bare 403; 80300007 for `noRight` before the project took a push, `noPushTypeRight`, `appinfoError`, `disableSendHuaweiMsgBecauseOfPenalty`, `noRightToSendThisLiveNotificationEvent`; a JWT that cannot be signed (`JwtUnsigned`) |
//! | TPNS | `ret_code` 1008003 (authentication failed), 10030002 (AccessID/AccessKey mismatch), 1008030 / 1008031 / 1010001 (unpaid, destroyed, not deployed); HTTP 401/403 |
//!
//! The token-less parts of this table (Xiaomi's AppSecret header, Meizu's
//! and TPNS's signatures) are answered per send; the token endpoints'
//! refusals are remembered for the token backoff ([`crate::token`]).

use std::time::{Duration, SystemTime};

/// How one send ended, as the caller must act on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The provider took the push; `id` is its message id (APNs: `apns-id`).
    Delivered { id: String },
    /// The device token is dead: stop sending to it. `since` is when the
    /// provider last saw it valid, where it says (APNs 410 `timestamp`).
    TokenInvalid {
        reason: String,
        since: Option<SystemTime>,
    },
    /// Try again, not before `not_before` (the provider's `Retry-After`, or
    /// the provider's retry policy for this attempt).
    Retry {
        reason: String,
        not_before: SystemTime,
    },
    /// The provider refused this push for good; sending it again cannot help.
    Rejected { reason: String },
    /// The provider refused the sender, not the push: its credentials,
    /// signature, clock or app identity are wrong (APNs
    /// `InvalidProviderToken`, OAuth `invalid_client`, a vivo sign error…).
    /// Every push on this channel would get the same answer until the
    /// operator fixes the configuration, so the push is kept and the
    /// channel paused (the gateway), never failed.
    CredentialsRefused { reason: String },
}

impl Outcome {
    /// The outcome's name in reports: `delivered`, `token_invalid`, `retry`,
    /// `rejected`, `credentials_refused`.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Delivered { .. } => "delivered",
            Outcome::TokenInvalid { .. } => "token_invalid",
            Outcome::Retry { .. } => "retry",
            Outcome::Rejected { .. } => "rejected",
            Outcome::CredentialsRefused { .. } => "credentials_refused",
        }
    }

    /// The provider's reason (empty when delivered).
    pub fn reason(&self) -> &str {
        match self {
            Outcome::Delivered { .. } => "",
            Outcome::TokenInvalid { reason, .. }
            | Outcome::Retry { reason, .. }
            | Outcome::Rejected { reason }
            | Outcome::CredentialsRefused { reason } => reason,
        }
    }
}

/// One send's result: the outcome and the HTTP status it came with (`None`
/// when no answer arrived: a deadline, a lost or refused connection).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub outcome: Outcome,
    pub status: Option<u16>,
    /// The provider's message id when it sent one, whatever the outcome.
    pub id: Option<String>,
    /// Device tokens the provider's answer named dead beside the outcome
    /// (a partial success of a multi-token send, or a per-device result
    /// list): stop sending to them. Empty where the outcome alone says it
    /// or none was named.
    pub invalid_tokens: Vec<String>,
}

/// Server trouble (a 5xx, a vendor's "system busy"): 5 s doubling to 30
/// minutes. Every provider with a server-error row uses it (FCM starts at
/// 10 s).
pub const SERVER_BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(5),
    cap: Duration::from_secs(30 * 60),
};

/// Flow control and call-rate limits: a minute doubling to an hour, so a
/// throttled app backs off harder than one that met a server error.
pub const RATE_BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(60),
    cap: Duration::from_secs(60 * 60),
};

/// How long a send that got no answer waits before its next attempt: 1 s,
/// doubling with each attempt, at most 5 minutes (see the module doc).
pub const TRANSPORT_BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(1),
    cap: Duration::from_secs(5 * 60),
};

impl Outcome {
    /// No answer arrived for attempt `attempt` (0 for the first): a retry
    /// not before `now + TRANSPORT_BACKOFF.delay(attempt)`.
    pub fn unanswered(reason: impl Into<String>, now: SystemTime, attempt: u32) -> Self {
        Outcome::Retry {
            reason: reason.into(),
            not_before: now + TRANSPORT_BACKOFF.delay(attempt),
        }
    }
}

impl Delivery {
    /// A delivery of `outcome` with no answer's status, id or tokens.
    pub fn bare(outcome: Outcome, status: Option<u16>) -> Self {
        Delivery {
            outcome,
            status,
            id: None,
            invalid_tokens: Vec::new(),
        }
    }

    /// Refused here, before anything was sent (a body that is not the
    /// provider's, a value that cannot go into a header): rejected, no
    /// status.
    pub fn local_reject(reason: &str) -> Self {
        Self::bare(
            Outcome::Rejected {
                reason: reason.to_owned(),
            },
            None,
        )
    }

    /// No answer arrived ([`Outcome::unanswered`], `status: None`). Every
    /// client's path without a provider answer ends here.
    pub fn unanswered(reason: impl Into<String>, now: SystemTime, attempt: u32) -> Self {
        Self::bare(Outcome::unanswered(reason, now, attempt), None)
    }
}

/// Exponential backoff without jitter: `base · 2^attempt`, at most `cap`.
/// The client reports the earliest time; spreading retries (jitter) is the
/// scheduler's business, which knows how many are due at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// When attempt `attempt` may go again, asked at `now`: after the
    /// provider's `Retry-After` when it sent one (it knows its load), else
    /// after this backoff's delay.
    pub fn not_before(
        &self,
        now: SystemTime,
        attempt: u32,
        retry_after: Option<Duration>,
    ) -> SystemTime {
        now + retry_after.unwrap_or(self.delay(attempt))
    }

    /// The retry of an answer that asked for this backoff: `reason`, not
    /// before [`Backoff::not_before`].
    pub fn retry(
        &self,
        reason: String,
        now: SystemTime,
        attempt: u32,
        retry_after: Option<Duration>,
    ) -> Outcome {
        Outcome::Retry {
            reason,
            not_before: self.not_before(now, attempt, retry_after),
        }
    }

    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// China Standard Time, seconds east of UTC: where the Chinese vendors'
/// daily quotas reset.
pub const CHINA_UTC_OFFSET_SECS: i64 = 8 * 3600;

/// The first midnight after `now` in a zone `utc_offset_secs` east of UTC
/// (a vendor's daily quota resets then: vivo's at midnight China time).
pub fn next_midnight(now: SystemTime, utc_offset_secs: i64) -> SystemTime {
    const DAY: i64 = 86_400;
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2));
    let local = secs.saturating_add(utc_offset_secs);
    let next_local = (local.div_euclid(DAY) + 1).saturating_mul(DAY);
    let next = next_local.saturating_sub(utc_offset_secs).max(0);
    SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(next).unwrap_or(0))
}

/// Reads an HTTP `Retry-After` value (RFC 9110 §10.2.3) at `now` (the
/// client's clock): delay-seconds, or an HTTP-date, which is a wait until
/// that time (none once it has passed). Anything else reads as absent, so
/// the policy applies.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_base_and_stops_at_cap() {
        let policy = Backoff {
            base: Duration::from_secs(5),
            cap: Duration::from_secs(60),
        };
        let delays: Vec<u64> = (0..6).map(|a| policy.delay(a).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 60, 60]);
        assert_eq!(policy.delay(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn unanswered_backs_off_from_one_second_to_five_minutes() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let at = |attempt| match Delivery::unanswered("Unreachable", now, attempt) {
            Delivery {
                outcome: Outcome::Retry { reason, not_before },
                status: None,
                ..
            } if reason == "Unreachable" => not_before.duration_since(now).unwrap().as_secs(),
            other => panic!("{other:?}"),
        };
        let delays: Vec<u64> = [0, 1, 3, 8, 9, 40].into_iter().map(at).collect();
        assert_eq!(delays, [1, 2, 8, 256, 300, 300]);
    }

    #[test]
    fn next_midnight_in_china_time() {
        let at = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        // 2026-01-01T15:59:59Z is 23:59:59 in UTC+8: midnight is 1 s away.
        let before = 1_767_283_199;
        assert_eq!(next_midnight(at(before), 8 * 3600), at(before + 1));
        // …and at 16:00:00Z it is a whole day away.
        assert_eq!(
            next_midnight(at(before + 1), 8 * 3600),
            at(before + 1 + 86_400)
        );
        assert_eq!(next_midnight(at(10), 0), at(86_400));
    }

    #[test]
    fn retry_after_takes_seconds_or_an_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_400); // 07:26:40
        assert_eq!(retry_after(" 120 ", now), Some(Duration::from_secs(120)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(80))
        );
        // The obsolete forms RFC 9110 still asks a recipient to read.
        assert_eq!(
            retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", now),
            Some(Duration::from_secs(80))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date passed is no wait"
        );
        assert_eq!(retry_after("-1", now), None);
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn names_are_the_report_vocabulary() {
        let now = SystemTime::UNIX_EPOCH;
        let all = [
            Outcome::Delivered { id: "x".into() },
            Outcome::TokenInvalid {
                reason: "Unregistered".into(),
                since: None,
            },
            Outcome::Retry {
                reason: "Shutdown".into(),
                not_before: now,
            },
            Outcome::Rejected {
                reason: "PayloadTooLarge".into(),
            },
            Outcome::CredentialsRefused {
                reason: "InvalidProviderToken".into(),
            },
        ];
        let names: Vec<&str> = all.iter().map(Outcome::name).collect();
        assert_eq!(
            names,
            [
                "delivered",
                "token_invalid",
                "retry",
                "rejected",
                "credentials_refused"
            ]
        );
        assert_eq!(all[3].reason(), "PayloadTooLarge");
        assert_eq!(all[4].reason(), "InvalidProviderToken");
    }
}
