//! Telegram Mini App `initData`: the identity of a browser client opened inside
//! Telegram. Telegram signs the launch parameters two ways, and a deployment
//! checks the one it can:
//!
//! - first party, with the bot token: `hash` is the hex HMAC-SHA256 of the
//!   data-check-string under the key HMAC-SHA256(key `"WebAppData"`, bot token);
//! - third party, with only the bot id: `signature` is Telegram's Ed25519
//!   signature (unpadded base64url) of `"<bot_id>:WebAppData\n"` followed by
//!   the data-check-string without `signature`.
//!
//! The data-check-string is every field but `hash`, URL-decoded, sorted by key,
//! as `key=value` lines. The first-party string therefore includes `signature`
//! when present (even empty), as Telegram and `@telegram-apps/init-data-node`
//! do. Verification takes `now`, so it has no clock of its own.

mod memo;

use std::borrow::Cow;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use memo::VerifiedInitData;

type HmacSha256 = Hmac<Sha256>;

/// How old `auth_date` may be unless configured otherwise: Telegram's own
/// suggestion, and what `@telegram-apps/init-data-node` defaults to.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// How far `auth_date` may be ahead of `now`, since Telegram's clock and this
/// host's differ a little; anything further is refused as forged or replayed
/// from a broken clock.
pub const FUTURE_SKEW_SECS: u64 = 60;

/// Telegram's published Ed25519 key for production bots.
const PRODUCTION_KEY: [u8; 32] =
    hex32(b"e7bf03a2fa4602af4580703d88dda5bb59f32ed8b02a56c187fe7d34caed242d");

/// Telegram's published Ed25519 key for bots on the test environment.
const TEST_KEY: [u8; 32] =
    hex32(b"40055058a4ee38156a06562e52eece92a771bcd8346a8c4615cb7376eddf72ec");

/// Which Telegram environment signed the `signature` (bots live on one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelegramEnvironment {
    /// The Telegram everyone uses.
    Production,
    /// Telegram's separate test servers.
    Test,
}

impl TelegramEnvironment {
    /// Telegram's public key for this environment.
    pub fn public_key(self) -> VerifyingKey {
        let bytes = match self {
            Self::Production => &PRODUCTION_KEY,
            Self::Test => &TEST_KEY,
        };
        VerifyingKey::from_bytes(bytes).expect("Telegram's published keys are Ed25519 points")
    }
}

/// Why initData was refused.
#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    /// Not initData at all, or a field cannot be read.
    #[error("malformed initData: {0}")]
    Malformed(&'static str),
    /// First party, and `hash` is absent or empty.
    #[error("initData has no hash")]
    MissingHash,
    /// First party, and the HMAC does not match.
    #[error("initData hash does not match: altered, or signed for another bot token")]
    HashMismatch,
    /// Third party, and `signature` is absent or empty.
    #[error("initData has no signature")]
    MissingSignature,
    /// Third party, and the Ed25519 signature does not verify.
    #[error(
        "initData signature does not verify: altered, or signed for another bot or environment"
    )]
    InvalidSignature,
    /// Authentic, but `auth_date` is absent or not Unix seconds.
    #[error("initData auth_date is missing or not Unix seconds")]
    BadAuthDate,
    /// Authentic, but older than the configured maximum age.
    #[error("initData expired: auth_date {auth_date} is more than {max_age_secs} s before {now}")]
    Expired {
        /// When Telegram signed it.
        auth_date: u64,
        /// The time it was checked at.
        now: u64,
        /// The configured maximum age.
        max_age_secs: u64,
    },
    /// Authentic, but signed more than [`FUTURE_SKEW_SECS`] ahead of `now`.
    #[error("initData auth_date {auth_date} is in the future (now {now})")]
    FromTheFuture {
        /// When it claims Telegram signed it.
        auth_date: u64,
        /// The time it was checked at.
        now: u64,
    },
    /// Authentic, but without a `user`, and the user is the unit.
    #[error("initData has no user, and a user is needed as the unit")]
    NoUser,
    /// Authentic, but `user` is not a JSON object with a numeric `id`.
    #[error("initData user is not a JSON object with a numeric id: {0}")]
    BadUser(serde_json::Error),
}

/// Who verified initData says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramUser {
    /// The Telegram user id in decimal: the unit experiments assign.
    pub id: String,
    /// The user's IETF language tag, when Telegram sent one.
    pub language_code: Option<String>,
    /// Whether the user has Telegram Premium.
    pub is_premium: bool,
    /// The `startapp` parameter of the link that opened the Mini App.
    pub start_param: Option<String>,
    /// When Telegram signed the initData, Unix seconds.
    pub auth_date: u64,
}

/// The part of the `user` JSON Verdict reads.
#[derive(Deserialize)]
struct UserJson {
    id: u64,
    language_code: Option<String>,
    is_premium: Option<bool>,
}

/// What authenticates the initData.
enum Check {
    /// First party: the HMAC keyed with the secret derived from the bot token
    /// (the token itself is not kept).
    Hash(HmacSha256),
    /// Third party: Telegram's signature for this bot.
    Signature { bot_id: u64, key: VerifyingKey },
}

/// Verifies initData for one bot, remembering strings that verified.
pub struct TelegramVerifier {
    check: Check,
    max_age_secs: u64,
    memo: VerifiedInitData,
}

impl TelegramVerifier {
    /// Verifies `hash` with the bot's token: for the deployment that owns the bot.
    pub fn first_party(bot_token: &str) -> Self {
        let mut derive = HmacSha256::new_from_slice(b"WebAppData").expect("HMAC takes any key");
        derive.update(bot_token.as_bytes());
        let secret = derive.finalize().into_bytes();
        let mac = HmacSha256::new_from_slice(&secret).expect("HMAC takes any key");
        Self::new(Check::Hash(mac))
    }

    /// Verifies `signature` with Telegram's key for `environment`: needs only
    /// the bot id, so a deployment need not hold the token.
    pub fn third_party(bot_id: u64, environment: TelegramEnvironment) -> Self {
        Self::third_party_with_key(bot_id, environment.public_key())
    }

    /// Verifies `signature` with another key than Telegram's (for test vectors).
    pub fn third_party_with_key(bot_id: u64, key: VerifyingKey) -> Self {
        Self::new(Check::Signature { bot_id, key })
    }

    fn new(check: Check) -> Self {
        Self {
            check,
            max_age_secs: DEFAULT_MAX_AGE.as_secs(),
            memo: VerifiedInitData::default(),
        }
    }

    /// Refuses initData signed more than `max_age` before `now` (default
    /// [`DEFAULT_MAX_AGE`]).
    #[must_use]
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age_secs = max_age.as_secs();
        self
    }

    /// The user `init_data` (the raw query string) vouches for at `now`, Unix
    /// seconds. A string that verified before only has its age checked again.
    pub fn verify(&self, init_data: &str, now: u64) -> Result<TelegramUser, TelegramError> {
        if let Some(user) = self.memo.get(init_data, now) {
            return Ok(user);
        }
        let user = self.verify_uncached(init_data, now)?;
        let expires_at = user.auth_date.saturating_add(self.max_age_secs);
        self.memo.insert(init_data, &user, expires_at);
        Ok(user)
    }

    fn verify_uncached(&self, init_data: &str, now: u64) -> Result<TelegramUser, TelegramError> {
        let fields = Fields::parse(init_data)?;
        match &self.check {
            Check::Hash(mac) => {
                let hash = fields.get("hash").ok_or(TelegramError::MissingHash)?;
                let expected = hex32_checked(hash.as_bytes())
                    .ok_or(TelegramError::Malformed("hash is not 64 hex digits"))?;
                let mut mac = mac.clone();
                mac.update(fields.check_string(&["hash"]).as_bytes());
                mac.verify_slice(&expected)
                    .map_err(|_| TelegramError::HashMismatch)?;
            }
            Check::Signature { bot_id, key } => {
                let signature = fields
                    .get("signature")
                    .ok_or(TelegramError::MissingSignature)?;
                let bytes: [u8; 64] = URL_SAFE_NO_PAD
                    .decode(signature)
                    .ok()
                    .and_then(|bytes| bytes.try_into().ok())
                    .ok_or(TelegramError::Malformed(
                        "signature is not 64 bytes of unpadded base64url",
                    ))?;
                let message = format!(
                    "{bot_id}:WebAppData\n{}",
                    fields.check_string(&["hash", "signature"])
                );
                key.verify_strict(message.as_bytes(), &Signature::from_bytes(&bytes))
                    .map_err(|_| TelegramError::InvalidSignature)?;
            }
        }

        let auth_date: u64 = fields
            .get("auth_date")
            .and_then(|s| s.parse().ok())
            .ok_or(TelegramError::BadAuthDate)?;
        if now > auth_date.saturating_add(self.max_age_secs) {
            return Err(TelegramError::Expired {
                auth_date,
                now,
                max_age_secs: self.max_age_secs,
            });
        }
        if auth_date > now.saturating_add(FUTURE_SKEW_SECS) {
            return Err(TelegramError::FromTheFuture { auth_date, now });
        }

        let user = fields.get("user").ok_or(TelegramError::NoUser)?;
        let user: UserJson = serde_json::from_str(user).map_err(TelegramError::BadUser)?;
        Ok(TelegramUser {
            id: user.id.to_string(),
            language_code: user.language_code,
            is_premium: user.is_premium.unwrap_or(false),
            start_param: fields.get("start_param").map(str::to_owned),
            auth_date,
        })
    }
}

/// The URL-decoded fields of initData, sorted by key.
struct Fields<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> Fields<'a> {
    /// Decodes `init_data` as `application/x-www-form-urlencoded` (what the
    /// browser's `URLSearchParams` reads). A repeated key is refused: it would
    /// be ambiguous which value was meant, and Telegram never sends one.
    fn parse(init_data: &'a str) -> Result<Self, TelegramError> {
        let mut fields: Vec<_> = form_urlencoded::parse(init_data.as_bytes()).collect();
        fields.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        if fields.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return Err(TelegramError::Malformed("a field appears twice"));
        }
        Ok(Self(fields))
    }

    /// The value of `key`, if present and not empty.
    fn get(&self, key: &str) -> Option<&str> {
        let at = self.0.binary_search_by(|(k, _)| k.as_ref().cmp(key)).ok()?;
        Some(self.0[at].1.as_ref()).filter(|value| !value.is_empty())
    }

    /// The `key=value` lines of every field but those in `except`.
    fn check_string(&self, except: &[&str]) -> String {
        let mut out = String::new();
        for (key, value) in self.0.iter().filter(|(k, _)| !except.contains(&k.as_ref())) {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(key);
            out.push('=');
            out.push_str(value);
        }
        out
    }
}

/// 32 bytes from 64 hex digits, for the keys above (a typo fails the build).
const fn hex32(hex: &[u8]) -> [u8; 32] {
    match hex32_checked(hex) {
        Some(bytes) => bytes,
        None => panic!("not 64 hex digits"),
    }
}

/// 32 bytes from 64 hex digits of either case, or `None`.
const fn hex32_checked(hex: &[u8]) -> Option<[u8; 32]> {
    const fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        let (Some(high), Some(low)) = (nibble(hex[2 * i]), nibble(hex[2 * i + 1])) else {
            return None;
        };
        out[i] = (high << 4) | low;
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by `tests/fixtures/tma/generate.mjs`: `@telegram-apps/init-data-node`
    /// signs the hashes, Node's crypto the Ed25519 signatures.
    #[derive(Deserialize)]
    struct Vectors {
        bot_token: String,
        bot_id: u64,
        public_key: String,
        auth_date: u64,
        valid: Vec<Valid>,
        refused: Vec<Refused>,
    }

    #[derive(Deserialize)]
    struct Valid {
        name: String,
        init_data: String,
        first_party: bool,
        third_party: bool,
        user: Expected,
    }

    #[derive(Deserialize)]
    struct Expected {
        id: String,
        language_code: Option<String>,
        is_premium: bool,
        start_param: Option<String>,
    }

    #[derive(Deserialize)]
    struct Refused {
        name: String,
        init_data: String,
        error: String,
    }

    fn vectors() -> Vectors {
        serde_json::from_str(include_str!("../../tests/fixtures/tma/vectors.json")).unwrap()
    }

    impl Vectors {
        fn first_party(&self) -> TelegramVerifier {
            TelegramVerifier::first_party(&self.bot_token)
        }

        fn third_party(&self) -> TelegramVerifier {
            TelegramVerifier::third_party_with_key(self.bot_id, self.key())
        }

        fn key(&self) -> VerifyingKey {
            VerifyingKey::from_bytes(&hex32_checked(self.public_key.as_bytes()).unwrap()).unwrap()
        }

        /// The vector carrying both a hash and a signature.
        fn both(&self) -> &str {
            let v = self.valid.iter().find(|v| v.first_party && v.third_party);
            &v.unwrap().init_data
        }

        /// A moment at which every vector is fresh.
        fn now(&self) -> u64 {
            self.auth_date + 10
        }
    }

    /// The outcome as the vectors name it.
    fn kind(result: &Result<TelegramUser, TelegramError>) -> &'static str {
        match result {
            Ok(_) => "ok",
            Err(TelegramError::Malformed(_)) => "malformed",
            Err(TelegramError::MissingHash) => "missing_hash",
            Err(TelegramError::HashMismatch) => "hash_mismatch",
            Err(TelegramError::MissingSignature) => "missing_signature",
            Err(TelegramError::InvalidSignature) => "invalid_signature",
            Err(TelegramError::BadAuthDate) => "bad_auth_date",
            Err(TelegramError::Expired { .. }) => "expired",
            Err(TelegramError::FromTheFuture { .. }) => "from_the_future",
            Err(TelegramError::NoUser) => "no_user",
            Err(TelegramError::BadUser(_)) => "bad_user",
        }
    }

    /// `init_data` with one byte of `field`'s raw value changed to another that
    /// keeps it well-formed (a digit, or a letter of the same case).
    fn tamper(init_data: &str, field: &str) -> String {
        let prefix = format!("{field}=");
        let mut offset = 0;
        let (start, end) = init_data
            .split('&')
            .find_map(|pair| {
                let start = offset;
                offset += pair.len() + 1;
                pair.starts_with(&prefix)
                    .then(|| (start + prefix.len(), start + pair.len()))
            })
            .unwrap_or_else(|| panic!("no {field} in {init_data}"));
        let mut bytes = init_data.as_bytes().to_vec();
        let at = (start + (end - start) / 2..end)
            .find(|&i| bytes[i].is_ascii_alphanumeric())
            .unwrap();
        bytes[at] = match bytes[at] {
            b'9' => b'0',
            digit @ b'0'..=b'8' => digit + 1,
            b'a' => b'b',
            b'A' => b'B',
            lower if lower.is_ascii_lowercase() => b'a',
            _ => b'A',
        };
        String::from_utf8(bytes).unwrap()
    }

    fn assert_user(got: &TelegramUser, want: &Expected, auth_date: u64, name: &str) {
        assert_eq!(got.id, want.id, "{name}");
        assert_eq!(got.language_code, want.language_code, "{name}");
        assert_eq!(got.is_premium, want.is_premium, "{name}");
        assert_eq!(got.start_param, want.start_param, "{name}");
        assert_eq!(got.auth_date, auth_date, "{name}");
    }

    #[test]
    fn first_party_vectors_verify() {
        let v = vectors();
        let verifier = v.first_party();
        for case in v.valid.iter().filter(|c| c.first_party) {
            let user = verifier.verify(&case.init_data, v.now());
            let user = user.unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert_user(&user, &case.user, v.auth_date, &case.name);
        }
    }

    #[test]
    fn third_party_vectors_verify() {
        let v = vectors();
        let verifier = v.third_party();
        for case in v.valid.iter().filter(|c| c.third_party) {
            let user = verifier.verify(&case.init_data, v.now());
            let user = user.unwrap_or_else(|e| panic!("{}: {e}", case.name));
            assert_user(&user, &case.user, v.auth_date, &case.name);
        }
    }

    #[test]
    fn one_changed_byte_is_refused() {
        let v = vectors();
        let (first, third) = (v.first_party(), v.third_party());
        // The hash covers `signature`; the signature does not cover `hash`, by
        // Telegram's design, so a third party never reads it.
        let cases = [
            ("user", "hash_mismatch", "invalid_signature"),
            ("auth_date", "hash_mismatch", "invalid_signature"),
            ("hash", "hash_mismatch", "ok"),
            ("signature", "hash_mismatch", "invalid_signature"),
        ];
        for (field, first_kind, third_kind) in cases {
            let changed = tamper(v.both(), field);
            assert_ne!(changed, v.both());
            assert_eq!(
                kind(&first.verify(&changed, v.now())),
                first_kind,
                "{field}"
            );
            assert_eq!(
                kind(&third.verify(&changed, v.now())),
                third_kind,
                "{field}"
            );
        }
    }

    #[test]
    fn another_bot_token_is_refused() {
        let v = vectors();
        let other = TelegramVerifier::first_party("7342037359:FAKE-another-token");
        for case in v.valid.iter().filter(|c| c.first_party) {
            let got = other.verify(&case.init_data, v.now());
            assert_eq!(kind(&got), "hash_mismatch", "{}", case.name);
        }
    }

    #[test]
    fn another_bot_id_or_key_is_refused() {
        let v = vectors();
        let verifiers = [
            TelegramVerifier::third_party_with_key(v.bot_id + 1, v.key()),
            TelegramVerifier::third_party(v.bot_id, TelegramEnvironment::Production),
            TelegramVerifier::third_party(v.bot_id, TelegramEnvironment::Test),
        ];
        for verifier in &verifiers {
            for case in v.valid.iter().filter(|c| c.third_party) {
                let got = verifier.verify(&case.init_data, v.now());
                assert_eq!(kind(&got), "invalid_signature", "{}", case.name);
            }
        }
    }

    #[test]
    fn age_is_bounded_both_ways() {
        let v = vectors();
        let day = DEFAULT_MAX_AGE.as_secs();
        let hour = 3_600;
        let cases = [
            (day, v.auth_date + day, "ok"),
            (day, v.auth_date + day + 1, "expired"),
            (hour, v.auth_date + hour, "ok"),
            (hour, v.auth_date + hour + 1, "expired"),
            (day, v.auth_date - FUTURE_SKEW_SECS, "ok"),
            (day, v.auth_date - FUTURE_SKEW_SECS - 1, "from_the_future"),
            (day, 0, "from_the_future"),
            (day, u64::MAX, "expired"),
        ];
        for (max_age, now, want) in cases {
            let first = v.first_party().with_max_age(Duration::from_secs(max_age));
            let third = v.third_party().with_max_age(Duration::from_secs(max_age));
            assert_eq!(kind(&first.verify(v.both(), now)), want, "{max_age} {now}");
            assert_eq!(kind(&third.verify(v.both(), now)), want, "{max_age} {now}");
        }
    }

    #[test]
    fn authentic_but_unusable_vectors_are_refused() {
        let v = vectors();
        let verifier = v.first_party();
        for case in &v.refused {
            let got = verifier.verify(&case.init_data, v.now());
            assert_eq!(kind(&got), case.error, "{}", case.name);
        }
    }

    #[test]
    fn each_mode_needs_its_own_field() {
        let v = vectors();
        let by_name = |name: &str| {
            let case = v.valid.iter().find(|c| c.name.starts_with(name));
            &case.unwrap().init_data
        };
        // Signed by the library, which leaves `signature=` empty.
        let minimal = by_name("minimal user");
        assert_eq!(
            kind(&v.third_party().verify(minimal, v.now())),
            "missing_signature"
        );
        let no_hash = by_name("third-party only");
        assert_eq!(
            kind(&v.first_party().verify(no_hash, v.now())),
            "missing_hash"
        );
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        let v = vectors();
        let (first, third) = (v.first_party(), v.third_party());
        let zeros = "0".repeat(64);
        let long = "x".repeat(100_000);
        let signature_86 = "A".repeat(86);
        let duplicate_user = format!("{}&user=%7B%22id%22%3A1%7D", v.both());
        let cases: Vec<(String, &str, &str)> = vec![
            (String::new(), "missing_hash", "missing_signature"),
            ("&&&".into(), "missing_hash", "missing_signature"),
            ("=".into(), "missing_hash", "missing_signature"),
            ("hash".into(), "missing_hash", "missing_signature"),
            ("hash=".into(), "missing_hash", "missing_signature"),
            ("hash=zz".into(), "malformed", "missing_signature"),
            (
                format!("hash={}", &zeros[1..]),
                "malformed",
                "missing_signature",
            ),
            (format!("hash={zeros}0"), "malformed", "missing_signature"),
            (
                format!("hash={}", "g".repeat(64)),
                "malformed",
                "missing_signature",
            ),
            (
                format!("hash={zeros}"),
                "hash_mismatch",
                "missing_signature",
            ),
            (
                format!("hash={zeros}&hash={zeros}"),
                "malformed",
                "malformed",
            ),
            ("hash=%00%FF%zz%".into(), "malformed", "missing_signature"),
            ("%".into(), "missing_hash", "missing_signature"),
            (
                "%zz=%%&😀=😀&a=b=c".into(),
                "missing_hash",
                "missing_signature",
            ),
            ("signature=!!!".into(), "missing_hash", "malformed"),
            ("signature=AAAA".into(), "missing_hash", "malformed"),
            (
                format!("signature={signature_86}"),
                "missing_hash",
                "invalid_signature",
            ),
            // Non-zero trailing bits: not canonical base64url.
            (
                format!("signature={}B", &signature_86[1..]),
                "missing_hash",
                "malformed",
            ),
            (
                format!("signature={signature_86}=="),
                "missing_hash",
                "malformed",
            ),
            (
                format!("user=%FF&auth_date=99999999999999999999&hash={zeros}"),
                "hash_mismatch",
                "missing_signature",
            ),
            (long, "missing_hash", "missing_signature"),
            (duplicate_user, "malformed", "malformed"),
        ];
        for (input, first_kind, third_kind) in &cases {
            let short = &input[..input.len().min(60)];
            assert_eq!(kind(&first.verify(input, v.now())), *first_kind, "{short}");
            assert_eq!(kind(&third.verify(input, v.now())), *third_kind, "{short}");
        }
    }

    #[test]
    fn every_single_byte_change_is_refused_first_party() {
        let v = vectors();
        let (first, third) = (v.first_party(), v.third_party());
        let original = v.both().as_bytes();
        fn decoded(s: &str) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
            form_urlencoded::parse(s.as_bytes()).collect()
        }
        let replacements = [b'%', b'&', b'=', b'+', b'0', b'a', b'Z'];
        for at in 0..original.len() {
            let mut changed = original.to_vec();
            changed[at] = replacements[at % replacements.len()];
            if changed[at] == original[at] {
                changed[at] = b'_';
            }
            let changed = String::from_utf8(changed).unwrap();
            // The hash covers the decoded fields, so `%3a` for `%3A` is the same data.
            let same_data = decoded(&changed) == decoded(v.both());
            let got = first.verify(&changed, v.now());
            assert_eq!(got.is_ok(), same_data, "{changed}");
            // A third party accepts changes to `hash`; it must not panic on any.
            let _ = third.verify(&changed, v.now());
        }
    }

    #[test]
    fn telegram_keys_decode() {
        let hex = |key: VerifyingKey| {
            key.as_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        assert_eq!(
            hex(TelegramEnvironment::Production.public_key()),
            "e7bf03a2fa4602af4580703d88dda5bb59f32ed8b02a56c187fe7d34caed242d"
        );
        assert_eq!(
            hex(TelegramEnvironment::Test.public_key()),
            "40055058a4ee38156a06562e52eece92a771bcd8346a8c4615cb7376eddf72ec"
        );
    }

    #[test]
    fn a_remembered_string_still_expires() {
        let v = vectors();
        let verifier = v.first_party();
        let init_data = v.both();
        assert!(verifier.verify(init_data, v.now()).is_ok());
        assert!(verifier.memo.get(init_data, v.now()).is_some());
        assert!(
            verifier
                .memo
                .get(&format!("{init_data}&"), v.now())
                .is_none()
        );
        let expired = v.auth_date + DEFAULT_MAX_AGE.as_secs() + 1;
        assert_eq!(kind(&verifier.verify(init_data, expired)), "expired");
    }
}
