//! Experiment-driven copy: flag keys, value shapes and the defaults shown
//! when Verdict has no answer (unreachable, flag missing, bad value).

use serde::Deserialize;

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
            && self.title.chars().count() <= 32
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
                title: "x".repeat(33),
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
    fn text_falls_back_when_blank() {
        assert_eq!(text_or("  ".into(), DEFAULT_CTA), DEFAULT_CTA);
        assert_eq!(text_or("Go".into(), DEFAULT_CTA), "Go");
        assert_eq!(text_or("z".repeat(1001), DEFAULT_CTA), DEFAULT_CTA);
    }
}
