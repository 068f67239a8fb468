//! Parsing a pasted portfolio (`SYMBOL AMOUNT` per line) for `/import`.

/// One imported position.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    /// Upper-cased ticker.
    pub symbol: String,
    /// Amount held.
    pub amount: f64,
}

/// Why an import failed; shown to the user and recorded as the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    /// Nothing to import.
    #[error("the message has no positions")]
    Empty,
    /// A line is not `SYMBOL AMOUNT`.
    #[error("line {0} is not `SYMBOL AMOUNT`")]
    BadLine(usize),
    /// More lines than one import accepts.
    #[error("at most {MAX_POSITIONS} positions per import")]
    TooMany,
}

impl ImportError {
    /// Short machine-readable reason for the `portfolio_import` event.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::BadLine(_) => "bad_line",
            Self::TooMany => "too_many",
        }
    }
}

/// Most positions per import.
pub const MAX_POSITIONS: usize = 200;

/// Parses one position per non-empty line: a ticker (letters/digits, ≤10)
/// and a positive amount, separated by spaces, `:`, `;` or a tab; a
/// decimal comma is accepted.
pub fn parse(text: &str) -> Result<Vec<Position>, ImportError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if out.len() == MAX_POSITIONS {
            return Err(ImportError::TooMany);
        }
        out.push(parse_line(line).ok_or(ImportError::BadLine(i + 1))?);
    }
    if out.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(out)
}

fn parse_line(line: &str) -> Option<Position> {
    let mut parts = line
        .split(|c: char| c.is_whitespace() || c == ':' || c == ';')
        .filter(|p| !p.is_empty());
    let symbol = parts.next()?;
    let amount = parts.next()?;
    if parts.next().is_some()
        || symbol.len() > 10
        || !symbol.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    let amount: f64 = amount.replace(',', ".").parse().ok()?;
    (amount.is_finite() && amount > 0.0).then(|| Position {
        symbol: symbol.to_ascii_uppercase(),
        amount,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let table: [(&str, Result<usize, ImportError>); 9] = [
            ("BTC 0.5", Ok(1)),
            ("btc 0,5\neth: 2\n\nTON;100", Ok(3)),
            ("  SOL\t12  ", Ok(1)),
            ("", Err(ImportError::Empty)),
            ("\n  \n", Err(ImportError::Empty)),
            ("BTC", Err(ImportError::BadLine(1))),
            ("BTC 1\nETH -2", Err(ImportError::BadLine(2))),
            ("BTC 1 2", Err(ImportError::BadLine(1))),
            ("₿ 1", Err(ImportError::BadLine(1))),
        ];
        for (text, want) in table {
            assert_eq!(parse(text).map(|p| p.len()), want, "{text:?}");
        }
        assert_eq!(
            parse("eth 2,5").ok(),
            Some(vec![Position {
                symbol: "ETH".into(),
                amount: 2.5
            }])
        );
        let many = "BTC 1\n".repeat(MAX_POSITIONS + 1);
        assert_eq!(parse(&many), Err(ImportError::TooMany));
        assert_eq!(ImportError::BadLine(3).code(), "bad_line");
    }
}
