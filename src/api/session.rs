//! Who the caller is, for checking a token.

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Authorized, Role, Sdk};

/// The authenticated caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    /// Token subject.
    #[schema(example = "alice")]
    pub subject: String,
    /// Token role.
    pub role: Role,
    /// Environment the caller works in.
    #[schema(example = "production")]
    pub environment: String,
}

/// Returns the caller's identity as the service sees it.
#[utoipa::path(
    tag = "session",
    security(("bearer" = ["sdk"])),
    responses((status = 200, description = "The caller", body = WhoAmI))
)]
#[get("/api/v1/whoami")]
pub async fn whoami(auth: Authorized<Sdk>) -> web::Json<WhoAmI> {
    let caller = auth.caller;
    web::Json(WhoAmI {
        subject: caller.subject,
        role: caller.role,
        environment: caller.environment,
    })
}
