//! The id of the request being served, readable anywhere inside its handler.

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `future` with `id` as the current request id.
pub async fn scope<F: std::future::Future>(id: String, future: F) -> F::Output {
    REQUEST_ID.scope(id, future).await
}

/// The current request's id, if called while serving a request.
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}
