//! Signing and verifying tokens (HS256 with a shared secret, RS256 with an IdP's public key).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::Role;
use super::verified::{LEEWAY_SECS, VerifiedTokens};

/// The claims Verdict reads from a token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Who the caller is; recorded as the actor of changes.
    pub sub: String,
    /// What the caller may do.
    pub role: Role,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at, seconds since the Unix epoch.
    #[serde(default)]
    pub iat: u64,
    /// Environment an `sdk` token is bound to (`production` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

/// Why a key could not be loaded or a token not minted or verified.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The RS256 public key is not valid PEM.
    #[error("VERDICT_JWT_PUBLIC_KEY is not a valid RSA public key in PEM form: {0}")]
    BadPublicKey(jsonwebtoken::errors::Error),
    /// The public key file could not be read.
    #[error("cannot read VERDICT_JWT_PUBLIC_KEY file {path}: {source}")]
    PublicKeyFile {
        /// The file named by the setting.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Minting needs the HS256 secret.
    #[error("minting tokens needs VERDICT_JWT_SECRET (or the embedded default's generated secret)")]
    NoSigningKey,
    /// Neither a secret nor a public key is configured.
    #[error("no token verification key: set VERDICT_JWT_SECRET and/or VERDICT_JWT_PUBLIC_KEY")]
    NoVerificationKey,
    /// The token is malformed, expired, or its signature does not verify.
    #[error("{0}")]
    Invalid(String),
    /// Signing failed.
    #[error("cannot sign token: {0}")]
    Sign(jsonwebtoken::errors::Error),
}

/// The keys this process signs and verifies tokens with.
pub struct JwtKeys {
    hs_encoding: Option<EncodingKey>,
    hs_decoding: Option<DecodingKey>,
    rs_decoding: Option<DecodingKey>,
    verified: VerifiedTokens,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("hs256", &self.hs_decoding.is_some())
            .field("rs256", &self.rs_decoding.is_some())
            .finish()
    }
}

impl JwtKeys {
    /// Builds the key set from an optional HS256 secret and an optional RSA public key
    /// (inline PEM or a path to a PEM file).
    pub fn new(secret: Option<&str>, public_key: Option<&str>) -> Result<Self, KeyError> {
        let rs_decoding = public_key.map(load_public_key).transpose()?;
        let (hs_encoding, hs_decoding) = match secret {
            Some(s) => (
                Some(EncodingKey::from_secret(s.as_bytes())),
                Some(DecodingKey::from_secret(s.as_bytes())),
            ),
            None => (None, None),
        };
        if hs_decoding.is_none() && rs_decoding.is_none() {
            return Err(KeyError::NoVerificationKey);
        }
        Ok(Self {
            hs_encoding,
            hs_decoding,
            rs_decoding,
            verified: VerifiedTokens::default(),
        })
    }

    /// Signs an HS256 token for `subject` with `role`, valid for `ttl`.
    pub fn mint(
        &self,
        role: Role,
        subject: &str,
        ttl: Duration,
        env: Option<&str>,
    ) -> Result<String, KeyError> {
        let key = self.hs_encoding.as_ref().ok_or(KeyError::NoSigningKey)?;
        let now = unix_now();
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            exp: now.saturating_add(ttl.as_secs()),
            iat: now,
            env: env.map(str::to_owned),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, key).map_err(KeyError::Sign)
    }

    /// Verifies a token's signature and expiry and returns its claims. A token
    /// that verified before only has its expiry checked again.
    pub fn verify(&self, token: &str) -> Result<Claims, KeyError> {
        if let Some(claims) = self.verified.get(token, unix_now()) {
            return Ok(claims);
        }
        let claims = self.verify_signature(token)?;
        self.verified.insert(token, &claims);
        Ok(claims)
    }

    fn verify_signature(&self, token: &str) -> Result<Claims, KeyError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| KeyError::Invalid(format!("malformed token: {e}")))?;
        let key = match header.alg {
            Algorithm::HS256 => self.hs_decoding.as_ref(),
            Algorithm::RS256 => self.rs_decoding.as_ref(),
            _ => None,
        }
        .ok_or_else(|| {
            KeyError::Invalid(format!(
                "tokens signed with {:?} are not accepted here",
                header.alg
            ))
        })?;
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| KeyError::Invalid(describe(&e)))
    }
}

fn describe(error: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::ExpiredSignature => "token has expired".into(),
        ErrorKind::InvalidSignature => "token signature does not verify".into(),
        ErrorKind::Json(e) => format!("token claims are invalid: {e}"),
        ErrorKind::MissingRequiredClaim(c) => format!("token lacks the `{c}` claim"),
        _ => format!("invalid token: {error}"),
    }
}

fn load_public_key(raw: &str) -> Result<DecodingKey, KeyError> {
    let pem = if raw.trim_start().starts_with("-----BEGIN") {
        raw.as_bytes().to_vec()
    } else {
        std::fs::read(raw).map_err(|source| KeyError::PublicKeyFile {
            path: raw.to_owned(),
            source,
        })?
    };
    DecodingKey::from_rsa_pem(&pem).map_err(KeyError::BadPublicKey)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_token_verifies_with_same_secret_only() {
        let keys = JwtKeys::new(Some("s3cret"), None).expect("keys");
        let token = keys
            .mint(Role::Pm, "alice", Duration::from_secs(60), None)
            .expect("mint");
        let claims = keys.verify(&token).expect("verify");
        assert_eq!(claims.sub, "alice");
        assert_eq!(keys.verify(&token).expect("verify again"), claims);
        assert_eq!(claims.role, Role::Pm);
        let other = JwtKeys::new(Some("other"), None).expect("keys");
        assert!(matches!(other.verify(&token), Err(KeyError::Invalid(_))));
    }

    #[test]
    fn expired_and_garbage_tokens_are_rejected() {
        let keys = JwtKeys::new(Some("s3cret"), None).expect("keys");
        let header = Header::new(Algorithm::HS256);
        let expired = Claims {
            sub: "bob".into(),
            role: Role::Admin,
            exp: 1_000,
            iat: 0,
            env: None,
        };
        let token = jsonwebtoken::encode(&header, &expired, &EncodingKey::from_secret(b"s3cret"))
            .expect("encode");
        let err = keys.verify(&token).expect_err("expired");
        assert!(err.to_string().contains("expired"), "{err}");
        assert!(keys.verify("not-a-jwt").is_err());
    }

    #[test]
    fn needs_some_verification_key() {
        assert!(matches!(
            JwtKeys::new(None, None),
            Err(KeyError::NoVerificationKey)
        ));
    }
}
