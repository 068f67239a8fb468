//! Building evaluation contexts.

use serde_json::Value;
pub use verdict_core::Context;
use verdict_core::DEFAULT_BUCKET_BY;

/// Builds a [`Context`]: the unit id plus any targeting attributes.
///
/// ```
/// use verdict_sdk::ContextBuilder;
/// let ctx = ContextBuilder::new()
///     .unit_id("42")
///     .attribute("tier", "vip")
///     .attribute("app_version", "2.4.1")
///     .build();
/// assert_eq!(ctx.get("user_id"), Some(&serde_json::json!("42")));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ContextBuilder {
    context: Context,
}

impl ContextBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the unit id under `user_id`, the default `bucket_by` attribute.
    pub fn unit_id(self, id: impl Into<Value>) -> Self {
        self.attribute(DEFAULT_BUCKET_BY, id)
    }

    /// Sets a unit id under another attribute (for flags with a custom
    /// `bucket_by`, e.g. `device_id`).
    pub fn unit(self, attribute: impl Into<String>, id: impl Into<Value>) -> Self {
        self.attribute(attribute, id)
    }

    /// Sets a targeting attribute.
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.context.insert(name, value);
        self
    }

    /// The finished context.
    pub fn build(self) -> Context {
        self.context
    }
}

impl From<ContextBuilder> for Context {
    fn from(b: ContextBuilder) -> Self {
        b.build()
    }
}
