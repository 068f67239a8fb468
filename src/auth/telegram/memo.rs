//! A bounded memo of initData strings that verified, so a Mini App polling
//! every few seconds with the same initData costs a hash lookup, not an HMAC or
//! Ed25519 check. Expiry is still checked on every hit.

use std::collections::HashMap;
use std::sync::RwLock;

use super::TelegramUser;

/// Most strings remembered; the memo starts over when full.
const CAPACITY: usize = 10_000;

/// Verified initData, keyed by the raw string, with the user and the last
/// second (Unix) it is accepted at.
#[derive(Default)]
pub(super) struct VerifiedInitData {
    map: RwLock<HashMap<Box<str>, (TelegramUser, u64)>>,
}

impl VerifiedInitData {
    /// The user of `init_data` if it verified before and has not expired at `now`.
    pub(super) fn get(&self, init_data: &str, now: u64) -> Option<TelegramUser> {
        let map = self.map.read().ok()?;
        let (user, expires_at) = map.get(init_data)?;
        (now <= *expires_at).then(|| user.clone())
    }

    /// Remembers that `init_data` verified as `user`, until `expires_at`.
    pub(super) fn insert(&self, init_data: &str, user: &TelegramUser, expires_at: u64) {
        if let Ok(mut map) = self.map.write() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(init_data.into(), (user.clone(), expires_at));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> TelegramUser {
        TelegramUser {
            id: id.into(),
            language_code: Some("ru".into()),
            is_premium: true,
            start_param: None,
            auth_date: 900,
        }
    }

    #[test]
    fn hits_only_for_the_same_string_until_expiry() {
        let memo = VerifiedInitData::default();
        memo.insert("user=a&hash=1", &user("a"), 1_000);
        let cases = [
            ("user=a&hash=1", 900, true),
            ("user=a&hash=1", 1_000, true),
            ("user=a&hash=1", 1_001, false),
            ("user=a&hash=2", 900, false),
            ("hash=1&user=a", 900, false),
            ("user=a&hash=1&", 900, false),
            ("user=%61&hash=1", 900, false),
        ];
        for (init_data, now, hit) in cases {
            let got = memo.get(init_data, now);
            assert_eq!(got.is_some(), hit, "{init_data:?} at {now}");
            if let Some(got) = got {
                assert_eq!(got, user("a"));
            }
        }
    }

    #[test]
    fn starts_over_when_full() {
        let memo = VerifiedInitData::default();
        for i in 0..CAPACITY {
            memo.insert(&format!("s{i}"), &user("a"), u64::MAX);
        }
        assert!(memo.get("s0", 0).is_some());
        memo.insert("one-more", &user("b"), u64::MAX);
        assert!(memo.get("s0", 0).is_none());
        assert_eq!(memo.get("one-more", 0), Some(user("b")));
    }
}
