//! The sample digest shown by `/digest`, in either layout (pure).

use crate::copy::DigestLayout;

/// A digest line: ticker, price in USD, 24 h change in percent.
type Row = (&'static str, f64, f64);

const SAMPLE: [Row; 3] = [
    ("BTC", 97_412.0, 2.4),
    ("ETH", 3_480.5, -1.2),
    ("TON", 5.62, 7.9),
];

/// Renders the sample digest in `layout` (plain text, no markup).
pub fn render(layout: DigestLayout) -> String {
    let mut out = String::from("📰 Your daily digest\n");
    match layout {
        DigestLayout::Compact => {
            for (sym, price, change) in SAMPLE {
                out.push_str(&format!("\n{sym:<4} ${price:>10.2}  {change:+.1}%"));
            }
        }
        DigestLayout::Cards => {
            for (sym, price, change) in SAMPLE {
                let arrow = if change >= 0.0 { "📈" } else { "📉" };
                out.push_str(&format!(
                    "\n┌ {sym}\n│ Price: ${price:.2}\n└ 24h: {arrow} {change:+.1}%\n"
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_differ() {
        let compact = render(DigestLayout::Compact);
        let cards = render(DigestLayout::Cards);
        assert_ne!(compact, cards);
        assert!(compact.contains("BTC") && compact.contains("+2.4%"));
        assert!(cards.contains("┌ BTC") && cards.contains("📉 -1.2%"));
        assert!(!compact.contains('┌'));
    }
}
