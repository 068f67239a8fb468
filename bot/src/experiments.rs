//! The bot's view of Verdict: evaluation contexts, typed copy with
//! defaults, and event tracking. Nothing here fails or blocks: without a
//! client, or while the service is unreachable, callers get default copy
//! and events are dropped or queued by the SDK.

use std::time::Duration;

use serde_json::Value;
use verdict_sdk::{Client, Context, ContextBuilder, Event};

use crate::config::Config;
use crate::copy::{self, DigestLayout, VipPaywall};
use crate::session::Profile;

/// Variant reported in events when the bot shows its built-in copy instead
/// of a served variant (Verdict unreachable, flag missing or unusable).
pub const DEFAULT_VARIANT: &str = "default";

/// Who is asking: the unit (Telegram user id) and their attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    /// Telegram user id: the experiment unit.
    pub user_id: u64,
    /// Telegram client language (`language_code`), if known.
    pub language: Option<String>,
    /// Profile from the dialogue state.
    pub profile: Profile,
}

impl Viewer {
    /// The evaluation context: `user_id`, `language`, `icp_segment`, `tier`.
    pub fn context(&self) -> Context {
        let mut b = ContextBuilder::new()
            .unit_id(self.user_id.to_string())
            .attribute("tier", self.profile.tier.as_str());
        if let Some(lang) = &self.language {
            b = b.attribute("language", lang.as_str());
        }
        if let Some(icp) = self.profile.icp {
            b = b.attribute("icp_segment", icp.as_str());
        }
        b.build()
    }
}

/// Verdict access for the handlers; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Experiments {
    client: Option<Client>,
}

impl Experiments {
    /// Wraps an SDK client.
    pub fn new(client: Client) -> Self {
        Self {
            client: Some(client),
        }
    }

    /// No Verdict at all: every lookup gives the default copy.
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Builds the SDK client from the configuration. Without a token, or if
    /// the client cannot be built, the bot runs on default copy.
    pub fn from_config(config: &Config) -> Self {
        let Some(token) = config.verdict_token.as_deref() else {
            tracing::warn!("VERDICT_TOKEN not set: serving default copy, not tracking events");
            return Self::disabled();
        };
        let mut builder = Client::builder(config.verdict_url.as_str(), token)
            .refresh_interval(Duration::from_secs(config.refresh_secs.max(1)))
            .request_timeout(Duration::from_secs(3))
            .flush_timeout(Duration::from_secs(3));
        if let Some(path) = &config.verdict_bootstrap {
            builder = builder.bootstrap_file(path);
        }
        match builder.build() {
            Ok(client) => Self::new(client),
            Err(e) => {
                tracing::error!(error = %e, "Verdict client unavailable: serving default copy");
                Self::disabled()
            }
        }
    }

    /// The SDK client, if any.
    pub fn client(&self) -> Option<&Client> {
        self.client.as_ref()
    }

    fn string(&self, flag: &str, viewer: &Viewer, default: &str) -> String {
        match &self.client {
            Some(c) => copy::text_or(c.string_value(flag, &viewer.context(), default), default),
            None => default.to_owned(),
        }
    }

    /// The call-to-action text (`cta_copy`).
    pub fn cta_copy(&self, viewer: &Viewer) -> String {
        self.string(copy::CTA_COPY, viewer, copy::DEFAULT_CTA)
    }

    /// The digest layout (`digest_layout`).
    pub fn digest_layout(&self, viewer: &Viewer) -> DigestLayout {
        let default = DigestLayout::default().as_str();
        DigestLayout::parse(&self.string(copy::DIGEST_LAYOUT, viewer, default))
    }

    /// What `flag` serves the viewer: `(variant key, value)`; no key and
    /// `null` without a client or ruleset.
    fn served(&self, flag: &str, viewer: &Viewer) -> (Option<String>, Value) {
        self.client.as_ref().map_or((None, Value::Null), |c| {
            let d = c.variant(flag, &viewer.context());
            (d.variant, d.value)
        })
    }

    /// The served value of `flag` (`null` without a client or ruleset).
    fn value(&self, flag: &str, viewer: &Viewer) -> Value {
        self.served(flag, viewer).1
    }

    /// The import hint (`import_hint`, a string or a boolean).
    pub fn import_hint(&self, viewer: &Viewer) -> String {
        copy::import_hint_from(&self.value(copy::IMPORT_HINT, viewer))
    }

    /// The VIP paywall (`vip_paywall_copy`) and the variant it came from;
    /// the default copy, as variant [`DEFAULT_VARIANT`], when the flag's
    /// value is missing or unusable.
    pub fn vip_paywall(&self, viewer: &Viewer) -> (VipPaywall, String) {
        let (variant, value) = self.served(copy::VIP_PAYWALL_COPY, viewer);
        match (variant, copy::paywall_from(&value)) {
            (Some(variant), Some(paywall)) => (paywall, variant),
            _ => (VipPaywall::default(), DEFAULT_VARIANT.to_owned()),
        }
    }

    /// Tracks `name` for the viewer, with their segment and tier added to
    /// `properties`. Never blocks or fails.
    pub fn track(&self, name: &str, viewer: &Viewer, value: Option<f64>, properties: Value) {
        let Some(c) = &self.client else { return };
        let mut props = match properties {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        };
        props.insert("tier".into(), viewer.profile.tier.as_str().into());
        if let Some(icp) = viewer.profile.icp {
            props.insert("icp_segment".into(), icp.as_str().into());
        }
        let mut event = Event::new(name, viewer.user_id.to_string()).properties(props);
        if let Some(v) = value {
            event = event.value(v);
        }
        c.track(event);
    }

    /// Delivers queued events and exposures and stops the client.
    pub async fn close(&self) {
        if let Some(c) = &self.client
            && let Err(e) = c.close().await
        {
            tracing::warn!(error = %e, "Verdict client close");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::questionnaire::Segment;
    use crate::session::Tier;

    fn viewer() -> Viewer {
        Viewer {
            user_id: 7,
            language: Some("ru".into()),
            profile: Profile {
                icp: Some(Segment::High),
                currency: None,
                tier: Tier::Vip,
            },
        }
    }

    #[test]
    fn context_carries_unit_and_attributes() {
        let ctx = viewer().context();
        assert_eq!(ctx.get("user_id"), Some(&Value::from("7")));
        assert_eq!(ctx.get("language"), Some(&Value::from("ru")));
        assert_eq!(ctx.get("icp_segment"), Some(&Value::from("high")));
        assert_eq!(ctx.get("tier"), Some(&Value::from("vip")));
        let bare = Viewer {
            user_id: 1,
            language: None,
            profile: Profile::default(),
        }
        .context();
        assert_eq!(bare.get("icp_segment"), None);
        assert_eq!(bare.get("tier"), Some(&Value::from("free")));
    }

    #[test]
    fn disabled_serves_defaults() {
        let e = Experiments::disabled();
        let v = viewer();
        assert_eq!(e.cta_copy(&v), copy::DEFAULT_CTA);
        assert_eq!(e.digest_layout(&v), DigestLayout::Compact);
        assert_eq!(e.import_hint(&v), copy::DEFAULT_IMPORT_HINT);
        assert_eq!(
            e.vip_paywall(&v),
            (VipPaywall::default(), DEFAULT_VARIANT.to_owned())
        );
        e.track("cta_click", &v, None, Value::Null);
    }
}
