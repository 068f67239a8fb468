//! A bounded memo of tokens whose signature has already verified, so a client
//! reusing its token (every SDK does) costs a hash lookup, not an HMAC or RSA
//! check per request. Expiry is still checked on every hit.

use std::collections::HashMap;
use std::sync::RwLock;

use super::Claims;

/// Seconds a token is still accepted after its `exp` (clock skew).
pub(super) const LEEWAY_SECS: u64 = 5;

/// Most tokens remembered; the memo starts over when full.
const CAPACITY: usize = 10_000;

/// Verified tokens and their claims.
#[derive(Default)]
pub(super) struct VerifiedTokens {
    map: RwLock<HashMap<Box<str>, Claims>>,
}

impl VerifiedTokens {
    /// The claims of `token` if it verified before and has not expired at `now`.
    pub(super) fn get(&self, token: &str, now: u64) -> Option<Claims> {
        let map = self.map.read().ok()?;
        let claims = map.get(token)?;
        (claims.exp.saturating_add(LEEWAY_SECS) >= now).then(|| claims.clone())
    }

    /// Remembers that `token` verified with `claims`.
    pub(super) fn insert(&self, token: &str, claims: &Claims) {
        if let Ok(mut map) = self.map.write() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(token.into(), claims.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    fn claims(exp: u64) -> Claims {
        Claims {
            sub: "app".into(),
            role: Role::Sdk,
            exp,
            iat: 0,
            env: Some("staging".into()),
        }
    }

    #[test]
    fn hits_only_for_the_same_token_until_expiry_plus_leeway() {
        let memo = VerifiedTokens::default();
        memo.insert("token-a", &claims(1_000));
        let cases = [
            ("token-a", 900, true),
            ("token-a", 1_000, true),
            ("token-a", 1_000 + LEEWAY_SECS, true),
            ("token-a", 1_001 + LEEWAY_SECS, false),
            ("token-b", 900, false),
            ("token-a ", 900, false),
        ];
        for (token, now, hit) in cases {
            let got = memo.get(token, now);
            assert_eq!(got.is_some(), hit, "{token:?} at {now}");
            if let Some(c) = got {
                assert_eq!(c, claims(1_000));
            }
        }
    }

    #[test]
    fn starts_over_when_full() {
        let memo = VerifiedTokens::default();
        for i in 0..CAPACITY {
            memo.insert(&format!("t{i}"), &claims(u64::MAX));
        }
        assert!(memo.get("t0", 0).is_some());
        memo.insert("one-more", &claims(u64::MAX));
        assert!(memo.get("t0", 0).is_none());
        assert!(memo.get("one-more", 0).is_some());
    }
}
