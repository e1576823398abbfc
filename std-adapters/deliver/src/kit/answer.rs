//! A vendor's answer table (its result codes → what the client does) and
//! the one lookup every provider uses: the table's row, or, for a code not
//! in it, the HTTP status class. The tables stay in the provider files as
//! data; this is the only place that reads them.

use std::fmt::Debug;

/// What a provider's action enum tells the kit: where an answer falls by
/// its HTTP status alone, and which action is a success.
pub trait StatusClass: Copy + PartialEq {
    /// An answer without a (readable) result code, by HTTP status class.
    fn by_status(status: u16) -> Self;
    /// The action of a taken push.
    const DELIVER: Self;
    /// The action of a refused push (an unknown code on a 2xx lands here:
    /// a success always names its code).
    const REJECT: Self;
}

/// The row of `table` for `code`; a code not in it (logged) or no code
/// falls back on the status class, and a success status with an unknown
/// code is a rejection.
pub fn action_for<K, A>(vendor: &str, table: &[(K, A)], status: u16, code: Option<&K>) -> A
where
    K: PartialEq + Debug,
    A: StatusClass,
{
    let Some(code) = code else {
        return A::by_status(status);
    };
    if let Some((_, action)) = table.iter().find(|(c, _)| c == code) {
        return *action;
    }
    tracing::debug!(status, ?code, "{vendor} answered a code not in the table");
    match A::by_status(status) {
        a if a == A::DELIVER => A::REJECT,
        other => other,
    }
}

/// A result code given as a JSON number or a numeric string (the form
/// vendors answer both).
pub fn numeric_code(value: &serde_json::Value) -> Option<i64> {
    match value {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The reason reported for a coded answer: the code (the stable part; the
/// texts change), with the vendor's text after it when there is one;
/// `HTTP <status>` without a code.
pub fn coded_reason(code: Option<i64>, text: &str, status: u16) -> String {
    match (code, text.is_empty()) {
        (Some(code), true) => code.to_string(),
        (Some(code), false) => format!("{code} {text}"),
        (None, _) => format!("HTTP {status}"),
    }
}

/// The first code that has two rows, if any: every table's test asks for
/// `None`.
pub fn twice<K: PartialEq, A>(table: &[(K, A)]) -> Option<&K> {
    table
        .iter()
        .enumerate()
        .find(|(i, (code, _))| table[i + 1..].iter().any(|(c, _)| c == code))
        .map(|(_, (code, _))| code)
}

/// What every provider's table test checks first: one row per code, and
/// each row is what `lookup` answers for its code.
#[cfg(test)]
pub(crate) fn assert_table<K, A>(table: &[(K, A)], lookup: impl Fn(&K) -> A)
where
    K: PartialEq + Debug,
    A: Copy + PartialEq + Debug,
{
    assert_eq!(twice(table), None, "a code has two rows");
    for (code, action) in table {
        assert_eq!(lookup(code), *action, "{code:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Act {
        Deliver,
        Retry,
        Reject,
    }

    impl StatusClass for Act {
        fn by_status(status: u16) -> Self {
            match status {
                200..=299 => Act::Deliver,
                500..=599 => Act::Retry,
                _ => Act::Reject,
            }
        }
        const DELIVER: Self = Act::Deliver;
        const REJECT: Self = Act::Reject;
    }

    const TABLE: &[(i64, Act)] = &[(0, Act::Deliver), (7, Act::Retry)];

    #[test]
    fn row_then_status_class_and_unknown_successes_are_rejections() {
        assert_eq!(action_for("v", TABLE, 400, Some(&7)), Act::Retry);
        assert_eq!(action_for("v", TABLE, 200, Some(&0)), Act::Deliver);
        assert_eq!(action_for("v", TABLE, 200, Some(&9)), Act::Reject);
        assert_eq!(action_for("v", TABLE, 503, Some(&9)), Act::Retry);
        assert_eq!(action_for("v", TABLE, 200, None), Act::Deliver);
        assert_eq!(action_for("v", TABLE, 502, None), Act::Retry);
    }

    #[test]
    fn codes_as_numbers_or_strings_and_their_reasons() {
        assert_eq!(numeric_code(&serde_json::json!(10034)), Some(10034));
        assert_eq!(numeric_code(&serde_json::json!(" 7 ")), Some(7));
        assert_eq!(numeric_code(&serde_json::json!(null)), None);
        assert_eq!(coded_reason(Some(7), "", 200), "7");
        assert_eq!(coded_reason(Some(7), "quota", 200), "7 quota");
        assert_eq!(coded_reason(None, "x", 502), "HTTP 502");
    }

    #[test]
    fn twice_finds_a_repeated_code() {
        assert_eq!(twice(TABLE), None);
        assert_eq!(twice(&[(1, ()), (2, ()), (1, ())]), Some(&1));
    }
}
