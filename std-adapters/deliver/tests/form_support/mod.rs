//! What the Xiaomi, OPPO and Meizu client tests share: a case rendered by
//! the core (ingest → decide → push_report) for a channel, as a `Push`.

#![allow(dead_code)]

// Only Xiaomi's test names the package.
#[allow(unused_imports)]
pub use super::common::PACKAGE;

pub use super::common::Rendered;

impl Rendered {
    /// The decoded value of a form field of the body.
    pub fn field(&self, name: &str) -> String {
        let v = tidings_deliver::form::field(&self.body, name).expect("field");
        String::from_utf8(v).expect("utf-8")
    }
}

pub fn case_json(channel: &str, token: &str, text: &str, now: i64) -> String {
    let info = serde_json::json!({
        "Ext": "{\"entity\":{\"sender\":\"ann\",\"chatType\":1}}",
        "AndroidInfo": { "XiaoMiChannelID": "im", "OPPOChannelID": "im" }
    });
    let mut case = super::common::text_case(channel, token, text, now, info);
    case["Message"]["MsgLifeTime"] = 3600.into();
    case.to_string()
}

/// A form vendor's bed: its channel's case for a text to `token`, rendered.
pub fn rendered<S, C>(bed: &super::common::Bed<S, C>, token: &str) -> Rendered {
    use tidings_std::clock::Clock as _;
    render(case_json(
        bed.channel,
        token,
        bed.text,
        bed.clock.unix_seconds(),
    ))
}

/// The text every form vendor's case carries: quotes, an emoji and an
/// ampersand, so encoding is exercised.
pub const TEXT: &str = "Lunch \"at\" 12? 🍜 & more";

/// Renders a case the way `tidings send` does.
pub fn render(json: String) -> Rendered {
    super::common::render_case(json, 0)
}

type FormBed<V, C> = super::common::Bed<tidings_standin::kit::shell::Standin<V>, C>;

/// Issue 26: a success without the vendor's message id (or with an empty
/// one) reports the push's own id, as every other provider does; the
/// delivery's `id` (the vendor's) stays empty. `bed`'s stand-in answers
/// such a success for the token `no-id`.
pub async fn assert_an_idless_success_reports_the_push_id<V, C>(bed: FormBed<V, C>)
where
    V: tidings_standin::kit::shell::Vendor,
    C: tidings_deliver::Provider,
{
    let rendered = rendered(&bed, "no-id");
    let push = rendered.push(0);
    let d = bed.client.send(&push).await;
    assert_eq!(
        d.outcome,
        tidings_deliver::Outcome::Delivered {
            id: push.id.to_string()
        }
    );
    assert_eq!(d.status, Some(200));
    assert!(d.id.as_deref().unwrap_or("").is_empty(), "{d:?}");
    bed.standin.shutdown().await.unwrap();
}

/// Sends `r` (rendered for `token`) once: delivered (HTTP 200, no dead
/// token) under the message id the stand-in answered, which is also the
/// delivery's `id`, and the stand-in accepted it alone, for `token`.
/// Answers the accepted push for the vendor's own checks.
pub async fn assert_delivered_once<V, C>(
    bed: &FormBed<V, C>,
    r: &Rendered,
    token: &str,
) -> tidings_standin::kit::form::AcceptedPush
where
    V: tidings_standin::kit::shell::Vendor<Accepted = tidings_standin::kit::form::AcceptedPush>,
    C: tidings_deliver::Provider,
{
    let d = bed.client.send(&r.push(0)).await;
    let mut accepted = bed.standin.accepted();
    assert_eq!(accepted.len(), 1, "{d:?}");
    let got = accepted.remove(0);
    assert_eq!(
        d.outcome,
        tidings_deliver::Outcome::Delivered {
            id: got.message_id.clone()
        }
    );
    assert_eq!(d.status, Some(200));
    assert_eq!(d.id.as_deref(), Some(got.message_id.as_str()));
    assert!(d.invalid_tokens.is_empty());
    assert_eq!(got.token, token);
    got
}

/// One request for two tokens, `ok` and `dead` (the core renders one; the
/// vendor takes a list in `field`): delivered, `dead` named invalid, the
/// push accepted for `ok` alone. `bed`'s stand-in answers `dead` as dead.
pub async fn assert_a_partial_success_names_the_dead_token<V, C>(
    bed: FormBed<V, C>,
    field: &str,
    ok: &str,
    dead: &str,
) where
    V: tidings_standin::kit::shell::Vendor<Accepted = tidings_standin::kit::form::AcceptedPush>,
    C: tidings_deliver::Provider,
{
    let mut r = rendered(&bed, ok);
    let body = String::from_utf8(r.body.clone()).unwrap();
    r.body = body
        .replacen(
            &format!("{field}={ok}"),
            &format!("{field}={ok}%2C{dead}"),
            1,
        )
        .into_bytes();
    let d = bed.client.send(&r.push(0)).await;
    assert_eq!(d.outcome.name(), "delivered", "{d:?}");
    assert_eq!(d.invalid_tokens, [dead]);
    let accepted = bed.standin.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].token, ok);
    bed.standin.shutdown().await.unwrap();
}

/// A form vendor's `client` whose endpoint nothing listens on: a retry on
/// the transport backoff of each attempt.
pub async fn assert_an_unreachable_host_backs_off(
    channel: &str,
    token: &str,
    client: &dyn tidings_deliver::Provider,
    clock: &tidings_std::clock::ManualClock,
) {
    use tidings_std::clock::Clock as _;
    let r = render(case_json(channel, token, "hi", clock.unix_seconds()));
    super::common::assert_unreachable_backs_off_by_attempt(clock.now(), async |attempt| {
        client.send(&r.push(attempt)).await
    })
    .await;
}
