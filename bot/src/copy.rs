//! Experiment-driven copy: flag keys, value shapes and the defaults shown
//! when Verdict has no answer (unreachable, flag missing, bad value).

use serde::Deserialize;
use serde_json::Value;

/// Flag with the main-menu call-to-action text.
pub const CTA_COPY: &str = "cta_copy";
/// Flag choosing the digest layout.
pub const DIGEST_LAYOUT: &str = "digest_layout";
/// Flag with the portfolio-import hint.
pub const IMPORT_HINT: &str = "import_hint";
/// Flag with the VIP paywall (`{"title", "body", "price_stars"}`).
pub const VIP_PAYWALL_COPY: &str = "vip_paywall_copy";

/// Default call-to-action (the `cta_copy` control arm).
pub const DEFAULT_CTA: &str = "Try Pro free";
/// Default import hint.
pub const DEFAULT_IMPORT_HINT: &str =
    "Send one position per line, e.g. `BTC 0.25`. Commas work as decimal separators too.";
/// Import prompt when an `import_hint` boolean variant turns the hint off.
pub const NO_IMPORT_HINT: &str = "Send your positions, one per line.";
/// Longest copy accepted from a flag; longer values fall back to defaults.
const MAX_TEXT: usize = 1000;
/// Highest accepted Stars price (Telegram's limit per invoice).
pub const MAX_PRICE_STARS: u32 = 10_000;

/// The VIP paywall.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct VipPaywall {
    /// Headline.
    pub title: String,
    /// Body text.
    pub body: String,
    /// Price in Telegram Stars.
    pub price_stars: u32,
}

impl Default for VipPaywall {
    fn default() -> Self {
        Self {
            title: "Verdict VIP".into(),
            body: "Exclusive push alerts, heatmap insights and priority support.".into(),
            price_stars: 250,
        }
    }
}

impl VipPaywall {
    /// Whether the copy is usable (non-empty, bounded, sane price); an
    /// unusable flag value is replaced by the default.
    pub fn is_valid(&self) -> bool {
        usable_text(&self.title)
            && self.title.chars().count() <= 64
            && usable_text(&self.body)
            && self.body.chars().count() <= 255
            && (1..=MAX_PRICE_STARS).contains(&self.price_stars)
    }
}

/// Digest layouts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DigestLayout {
    /// One line per position.
    #[default]
    Compact,
    /// A block per position.
    Cards,
}

impl DigestLayout {
    /// Parses a flag value; unknown values give the default layout.
    pub fn parse(value: &str) -> Self {
        match value.trim().to_ascii_lowercase().as_str() {
            "cards" => Self::Cards,
            _ => Self::Compact,
        }
    }

    /// The flag value of this layout.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compact => "compact",
            Self::Cards => "cards",
        }
    }
}

/// The import hint for an `import_hint` value: a string is the hint; a
/// boolean (the service's `verdict seed --demo` shape) shows the default
/// hint or none; anything else gives the default.
pub fn import_hint_from(value: &Value) -> String {
    match value {
        Value::String(s) => text_or(s.clone(), DEFAULT_IMPORT_HINT),
        Value::Bool(false) => NO_IMPORT_HINT.to_owned(),
        _ => DEFAULT_IMPORT_HINT.to_owned(),
    }
}

/// The paywall for a `vip_paywall_copy` value: `{"title", "body",
/// "price_stars"}`, or a string headline (the `verdict seed --demo` shape)
/// with the default body and price; `None` for unusable values (the caller
/// shows the default).
pub fn paywall_from(value: &Value) -> Option<VipPaywall> {
    let paywall = match value {
        Value::String(title) => VipPaywall {
            title: title.clone(),
            ..VipPaywall::default()
        },
        other => VipPaywall::deserialize(other).ok()?,
    };
    paywall.is_valid().then_some(paywall)
}

/// `text` cut to at most `max` characters (Telegram's invoice title limit
/// is 32).
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        text.chars().take(max.saturating_sub(1)).collect::<String>() + "…"
    }
}

/// Copy from a flag, or `default` when it is blank or too long.
pub fn text_or(value: String, default: &str) -> String {
    if usable_text(&value) {
        value
    } else {
        default.to_owned()
    }
}

fn usable_text(s: &str) -> bool {
    !s.trim().is_empty() && s.chars().count() <= MAX_TEXT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_parse_with_default() {
        let table = [
            ("compact", DigestLayout::Compact),
            ("cards", DigestLayout::Cards),
            (" Cards ", DigestLayout::Cards),
            ("grid", DigestLayout::Compact),
            ("", DigestLayout::Compact),
        ];
        for (value, want) in table {
            assert_eq!(DigestLayout::parse(value), want, "{value:?}");
        }
    }

    #[test]
    fn paywall_validation() {
        assert!(VipPaywall::default().is_valid());
        let bad = [
            VipPaywall {
                price_stars: 0,
                ..VipPaywall::default()
            },
            VipPaywall {
                price_stars: MAX_PRICE_STARS + 1,
                ..VipPaywall::default()
            },
            VipPaywall {
                title: " ".into(),
                ..VipPaywall::default()
            },
            VipPaywall {
                title: "x".repeat(65),
                ..VipPaywall::default()
            },
            VipPaywall {
                body: "y".repeat(256),
                ..VipPaywall::default()
            },
        ];
        for p in bad {
            assert!(!p.is_valid(), "{p:?}");
        }
    }

    #[test]
    fn flag_values_of_either_shape() {
        use serde_json::json;
        let table = [
            (json!("Tip: paste BTC 1"), "Tip: paste BTC 1"),
            (json!(true), DEFAULT_IMPORT_HINT),
            (json!(false), NO_IMPORT_HINT),
            (json!(""), DEFAULT_IMPORT_HINT),
            (json!(null), DEFAULT_IMPORT_HINT),
            (json!(7), DEFAULT_IMPORT_HINT),
        ];
        for (value, want) in table {
            assert_eq!(import_hint_from(&value), want, "{value}");
        }
        let full = json!({"title": "Go VIP", "body": "Alerts first", "price_stars": 200});
        assert_eq!(paywall_from(&full).map(|p| p.price_stars), Some(200));
        let headline = paywall_from(&json!("Exclusive pushes and heatmap insights"));
        assert_eq!(
            headline.as_ref().map(|p| p.title.as_str()),
            Some("Exclusive pushes and heatmap insights")
        );
        assert_eq!(
            headline.map(|p| p.price_stars),
            Some(VipPaywall::default().price_stars)
        );
        for bad in [
            json!(null),
            json!({"title": "x"}),
            json!({"title": "x", "body": "y", "price_stars": 0}),
        ] {
            assert_eq!(paywall_from(&bad), None, "{bad}");
        }
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate("Go VIP", 32), "Go VIP");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("ééééé", 3).chars().count(), 3);
        assert_eq!(truncate(&"x".repeat(32), 32), "x".repeat(32));
    }

    #[test]
    fn text_falls_back_when_blank() {
        assert_eq!(text_or("  ".into(), DEFAULT_CTA), DEFAULT_CTA);
        assert_eq!(text_or("Go".into(), DEFAULT_CTA), "Go");
        assert_eq!(text_or("z".repeat(1001), DEFAULT_CTA), DEFAULT_CTA);
    }
}
