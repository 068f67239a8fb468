//! CRUD routes for the definitions that are stored as they are sent (segments
//! and layers), generated once for each by [`definition_routes!`].

/// Generates a response type and create/list/get/replace/delete handlers for a
/// definition type whose request body is the definition itself.
macro_rules! definition_routes {
    (
        definition: $ty:ty,
        response: $response:ident,
        saver: $saver:path,
        tag: $tag:literal,
        collection: $collection:literal,
        item: $item:literal,
        example: $example:expr,
        summaries: [$create_doc:literal, $list_doc:literal, $get_doc:literal, $replace_doc:literal, $delete_doc:literal $(,)?],
        handlers: [$create:ident, $list:ident, $get:ident, $replace:ident, $delete:ident] $(,)?
    ) => {
        use actix_web::{delete, get, post, put};

        /// A stored definition with its version and history.
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $response {
            /// The definition.
            #[serde(flatten)]
            pub definition: $ty,
            /// Version and history.
            #[serde(flatten)]
            pub meta: $crate::api::meta::Meta,
        }

        impl From<$crate::definitions::Stored<$ty>> for $response {
            fn from(stored: $crate::definitions::Stored<$ty>) -> Self {
                let (definition, meta) = $crate::api::meta::Meta::split(stored);
                Self { definition, meta }
            }
        }

        #[utoipa::path(
            summary = $create_doc,
            tag = $tag,
            security(("bearer" = ["pm"])),
            request_body(content = $ty, example = $example),
            responses(
                (status = 201, description = "Created", body = $response),
                (status = 409, description = "Key exists", body = $crate::http::Problem, content_type = "application/problem+json"),
            )
        )]
        #[post($collection)]
        #[doc = $create_doc]
        pub async fn $create(
            auth: $crate::auth::Authorized<$crate::auth::Pm>,
            state: actix_web::web::Data<$crate::state::AppState>,
            body: $crate::http::Json<$ty>,
        ) -> Result<actix_web::HttpResponse, $crate::http::ApiError> {
            let key = body.0.key.clone();
            let change = $crate::definitions::Write::Create(body.0);
            let stored = $crate::api::stored::save(&state, auth.caller.subject, key, change, $saver)
                .await?
                .ok_or_else(|| $crate::http::ApiError::internal("create returned nothing"))?;
            Ok(actix_web::HttpResponse::Created().json($response::from(stored)))
        }

        #[utoipa::path(
            summary = $list_doc,
            tag = $tag,
            security(("bearer" = ["analyst"])),
            responses((status = 200, description = "All, by key", body = Vec<$response>))
        )]
        #[get($collection)]
        #[doc = $list_doc]
        pub async fn $list(
            _auth: $crate::auth::Authorized<$crate::auth::Analyst>,
            state: actix_web::web::Data<$crate::state::AppState>,
        ) -> Result<actix_web::web::Json<Vec<$response>>, $crate::http::ApiError> {
            let all = $crate::api::stored::list::<$ty>(&state).await?;
            Ok(actix_web::web::Json(all.into_iter().map(Into::into).collect()))
        }

        #[utoipa::path(
            summary = $get_doc,
            tag = $tag,
            security(("bearer" = ["analyst"])),
            params(("key" = String, Path, description = "Key")),
            responses(
                (status = 200, description = "Found", body = $response),
                (status = 404, description = "No such key", body = $crate::http::Problem, content_type = "application/problem+json"),
            )
        )]
        #[get($item)]
        #[doc = $get_doc]
        pub async fn $get(
            _auth: $crate::auth::Authorized<$crate::auth::Analyst>,
            state: actix_web::web::Data<$crate::state::AppState>,
            key: actix_web::web::Path<String>,
        ) -> Result<actix_web::web::Json<$response>, $crate::http::ApiError> {
            let stored = $crate::api::stored::get::<$ty>(&state, key.into_inner()).await?;
            Ok(actix_web::web::Json(stored.into()))
        }

        #[utoipa::path(
            summary = $replace_doc,
            tag = $tag,
            security(("bearer" = ["pm"])),
            params(("key" = String, Path, description = "Key")),
            request_body(content = $ty, example = $example),
            responses(
                (status = 200, description = "Replaced", body = $response),
                (status = 404, description = "No such key", body = $crate::http::Problem, content_type = "application/problem+json"),
            )
        )]
        #[put($item)]
        #[doc = $replace_doc]
        pub async fn $replace(
            auth: $crate::auth::Authorized<$crate::auth::Pm>,
            state: actix_web::web::Data<$crate::state::AppState>,
            key: actix_web::web::Path<String>,
            body: $crate::http::Json<$ty>,
        ) -> Result<actix_web::web::Json<$response>, $crate::http::ApiError> {
            let key = key.into_inner();
            if body.0.key != key {
                return Err($crate::http::ApiError::invalid(
                    "key",
                    format!("must equal the path key `{key}`"),
                ));
            }
            let change = $crate::definitions::Write::Update {
                definition: body.0,
                expected_version: None,
            };
            let stored = $crate::api::stored::save(&state, auth.caller.subject, key, change, $saver)
                .await?
                .ok_or_else(|| $crate::http::ApiError::internal("update returned nothing"))?;
            Ok(actix_web::web::Json(stored.into()))
        }

        #[utoipa::path(
            summary = $delete_doc,
            tag = $tag,
            security(("bearer" = ["pm"])),
            params(("key" = String, Path, description = "Key")),
            responses(
                (status = 204, description = "Deleted"),
                (status = 404, description = "No such key", body = $crate::http::Problem, content_type = "application/problem+json"),
                (status = 409, description = "Still referenced", body = $crate::http::Problem, content_type = "application/problem+json"),
            )
        )]
        #[delete($item)]
        #[doc = $delete_doc]
        pub async fn $delete(
            auth: $crate::auth::Authorized<$crate::auth::Pm>,
            state: actix_web::web::Data<$crate::state::AppState>,
            key: actix_web::web::Path<String>,
        ) -> Result<actix_web::HttpResponse, $crate::http::ApiError> {
            let change = $crate::definitions::Write::<$ty>::Delete;
            $crate::api::stored::save(&state, auth.caller.subject, key.into_inner(), change, $saver)
                .await?;
            Ok(actix_web::HttpResponse::NoContent().finish())
        }
    };
}

pub(crate) use definition_routes;
