//! One-time sign-in links (`verdict login-link`): a random code, stored only
//! as its SHA-256, redeemed once before it expires for a console session with
//! the link's role and subject.

use base64::Engine as _;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::auth::Role;
use crate::db::schema::console_login_links as links;
use crate::db::{DbConnection, DbError};

/// Who a link signs in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginLink {
    /// Role of the session it opens.
    pub role: Role,
    /// Subject of the session (recorded as the author of decisions).
    pub subject: String,
    /// Environment of the session.
    pub environment: String,
    /// Until when it can be redeemed.
    pub expires_at: NaiveDateTime,
}

#[derive(Queryable)]
struct LinkRow {
    role: String,
    subject: String,
    environment: String,
    expires_at: NaiveDateTime,
}

impl LinkRow {
    fn into_link(self) -> Option<LoginLink> {
        let role = [Role::Sdk, Role::Analyst, Role::Pm, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == self.role)?;
        Some(LoginLink {
            role,
            subject: self.subject,
            environment: self.environment,
            expires_at: self.expires_at,
        })
    }
}

fn digest(code: &str) -> String {
    Sha256::digest(code.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Stores a new link for `link` and returns its code (43 URL-safe characters,
/// 256 random bits).
pub fn create(
    conn: &mut DbConnection,
    link: &LoginLink,
    now: NaiveDateTime,
) -> Result<String, DbError> {
    let code = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    diesel::insert_into(links::table)
        .values((
            links::code_hash.eq(digest(&code)),
            links::role.eq(link.role.as_str()),
            links::subject.eq(&link.subject),
            links::environment.eq(&link.environment),
            links::created_at.eq(now),
            links::expires_at.eq(link.expires_at),
        ))
        .execute(conn)?;
    Ok(code)
}

/// The link `code` opens, if it can still be redeemed (nothing is consumed).
pub fn peek(
    conn: &mut DbConnection,
    code: &str,
    now: NaiveDateTime,
) -> Result<Option<LoginLink>, DbError> {
    let row: Option<LinkRow> = links::table
        .filter(links::code_hash.eq(digest(code)))
        .filter(links::used_at.is_null())
        .filter(links::expires_at.gt(now))
        .select((
            links::role,
            links::subject,
            links::environment,
            links::expires_at,
        ))
        .first(conn)
        .optional()?;
    Ok(row.and_then(LinkRow::into_link))
}

/// Redeems `code`: marks it used and returns whom it signs in, or `None` when
/// it is unknown, used or expired. Of two concurrent redemptions one wins.
pub fn redeem(
    conn: &mut DbConnection,
    code: &str,
    now: NaiveDateTime,
) -> Result<Option<LoginLink>, DbError> {
    let Some(link) = peek(conn, code, now)? else {
        return Ok(None);
    };
    let claimed = diesel::update(
        links::table
            .filter(links::code_hash.eq(digest(code)))
            .filter(links::used_at.is_null())
            .filter(links::expires_at.gt(now)),
    )
    .set(links::used_at.eq(now))
    .execute(conn)?;
    Ok((claimed == 1).then_some(link))
}
