//! How numbers and names read on a page. Every number shown also travels at
//! full precision in a `data-value` attribute, so the browser test compares the
//! page with the API exactly.

use serde::Serialize;

/// A value as shown and as data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Cell {
    /// What the page shows.
    pub text: String,
    /// The exact value (`""` when there is none).
    pub value: String,
}

impl Cell {
    /// `value` shown by `show`, or a dash when absent or not finite.
    pub fn of(value: Option<f64>, show: impl Fn(f64) -> String) -> Self {
        match value.filter(|v| v.is_finite()) {
            Some(v) => Self {
                text: show(v),
                value: v.to_string(),
            },
            None => Self {
                text: "—".into(),
                value: String::new(),
            },
        }
    }

    /// A count.
    pub fn count(n: u64) -> Self {
        Self {
            text: thousands(n),
            value: n.to_string(),
        }
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A relative change with its sign: `+3.12%`.
pub fn signed_percent(v: f64) -> String {
    format!("{:+.2}%", v * 100.0)
}

/// A share: `41.3%`.
pub fn percent(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// A p-value: three decimals, `< 0.001` below that.
pub fn p_value(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

/// A mean or other measurement: four significant digits, without trailing
/// zeros.
pub fn measure(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(0, 6) as usize;
    let fixed = format!("{v:.decimals$}");
    if fixed.contains('.') {
        fixed.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        fixed
    }
}

/// The wire name of an enum value (its serde name).
pub fn wire_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// A wire name for people: `keep_running` → `keep running`.
pub fn label<T: Serialize>(value: &T) -> String {
    wire_name(value).replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_expected() {
        let cases: [(String, &str); 14] = [
            (thousands(0), "0"),
            (thousands(999), "999"),
            (thousands(1000), "1,000"),
            (thousands(1_234_567), "1,234,567"),
            (signed_percent(0.031234), "+3.12%"),
            (signed_percent(-0.2), "-20.00%"),
            (percent(0.4129), "41.3%"),
            (p_value(0.0412), "0.041"),
            (p_value(0.0004), "< 0.001"),
            (measure(22.152519), "22.15"),
            (measure(0.0399455), "0.03995"),
            (measure(34451.2), "34451"),
            (measure(0.05), "0.05"),
            (measure(50.0), "50"),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn cells_keep_the_exact_value() {
        let c = Cell::of(Some(0.1 + 0.2), signed_percent);
        assert_eq!(c.text, "+30.00%");
        assert_eq!(c.value.parse::<f64>().ok(), Some(0.1 + 0.2));
        assert_eq!(Cell::of(None, percent).text, "—");
        assert_eq!(Cell::of(Some(f64::NAN), percent).value, "");
        assert_eq!(
            Cell::count(12_000),
            Cell {
                text: "12,000".into(),
                value: "12000".into()
            }
        );
    }
}
