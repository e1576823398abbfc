//! Per-device-token scripted answers: a stand-in answers a documented
//! error for a token always, or for its next `n` requests.

use std::collections::HashMap;
use std::sync::Mutex;

use super::util::lock;

/// A builder's scripts before start: token, reply, `None` always or the
/// next `n` requests.
pub(crate) type PendingScripts<R> = Vec<(String, R, Option<u32>)>;

/// A scripted answer for one device token: always, or for the next `n`
/// requests naming it.
#[derive(Clone, Debug)]
pub(crate) struct Script<R> {
    reply: R,
    remaining: Option<u32>,
}

/// Per-device-token scripts.
#[derive(Debug)]
pub struct Scripts<R> {
    map: Mutex<HashMap<String, Script<R>>>,
}

impl<R> Default for Scripts<R> {
    fn default() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<R: Clone> Scripts<R> {
    pub(crate) fn new(initial: Vec<(String, R, Option<u32>)>) -> Self {
        let map = initial
            .into_iter()
            .filter(|(_, _, n)| *n != Some(0))
            .map(|(token, reply, remaining)| (token, Script { reply, remaining }))
            .collect();
        Self {
            map: Mutex::new(map),
        }
    }

    /// `n`: `None` always, `Some(n)` the next `n` requests (0 removes).
    pub(crate) fn set(&self, token: &str, reply: R, n: Option<u32>) {
        let mut map = lock(&self.map);
        if n == Some(0) {
            map.remove(token);
        } else {
            map.insert(
                token.to_owned(),
                Script {
                    reply,
                    remaining: n,
                },
            );
        }
    }

    pub(crate) fn remove(&self, token: &str) {
        lock(&self.map).remove(token);
    }

    /// The reply scripted for `token`, counting one use.
    pub(crate) fn take(&self, token: &str) -> Option<R> {
        let mut map = lock(&self.map);
        let script = map.get_mut(token)?;
        let reply = script.reply.clone();
        if let Some(n) = script.remaining.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(token);
            }
        }
        Some(reply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_count_down() {
        let scripts = Scripts::new(vec![("a".into(), 1, Some(2)), ("b".into(), 2, None)]);
        assert_eq!(
            (scripts.take("a"), scripts.take("a"), scripts.take("a")),
            (Some(1), Some(1), None)
        );
        assert_eq!((scripts.take("b"), scripts.take("b")), (Some(2), Some(2)));
        scripts.remove("b");
        assert_eq!(scripts.take("b"), None);
    }
}
