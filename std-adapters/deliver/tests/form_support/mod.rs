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

/// Issue 26: a success without the vendor's message id (or with an empty
/// one) reports the push's own id, as every other provider does; the
/// delivery's `id` (the vendor's) stays empty.
pub async fn assert_an_idless_success_reports_the_push_id(
    client: &dyn tidings_deliver::Provider,
    rendered: &Rendered,
) {
    let push = rendered.push(0);
    let d = client.send(&push).await;
    assert_eq!(
        d.outcome,
        tidings_deliver::Outcome::Delivered {
            id: push.id.to_string()
        }
    );
    assert_eq!(d.status, Some(200));
    assert!(d.id.as_deref().unwrap_or("").is_empty(), "{d:?}");
}
