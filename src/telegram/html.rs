//! Telegram's HTML parse mode: escaping text, shortening free text, and
//! splitting long texts into messages the Bot API accepts.

/// Telegram's limit on a message's text.
pub const MESSAGE_LIMIT: usize = 4096;

/// Escapes `text` for Telegram HTML, in element content and in attribute
/// values: `<`, `>` and `&` (which Telegram requires) and `"` (so that a value
/// cannot end an `href`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` cut to at most `max` characters (the last one `…` when cut), on one
/// line: free text such as a reason must not break the message's layout.
pub fn shorten(text: &str, max: usize) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= max {
        return line;
    }
    let mut cut: String = line.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Length as Telegram counts it (UTF-16 code units). Counting the HTML source
/// errs on the safe side: the parsed text is never longer.
fn length(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Joins `lines` into as few messages as fit in `limit` each, breaking only
/// between lines (so tags, which never span lines here, stay balanced) and
/// dropping blank lines at a message's edges. A line longer than `limit`
/// alone is cut, outside any tag or entity; callers keep lines short.
pub fn split(lines: &[String], limit: usize) -> Vec<String> {
    let mut messages = Vec::new();
    let mut current = String::new();
    for line in lines.iter().flat_map(|line| cut_long(line, limit)) {
        if current.is_empty() && line.trim().is_empty() {
            continue;
        }
        let needed = if current.is_empty() {
            length(line)
        } else {
            length(&current) + 1 + length(line)
        };
        if needed > limit {
            messages.push(close(std::mem::take(&mut current)));
            if line.trim().is_empty() {
                continue;
            }
        } else if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(line);
    }
    if !current.trim().is_empty() {
        messages.push(close(current));
    }
    messages
}

fn close(mut message: String) -> String {
    message.truncate(message.trim_end().len());
    message
}

/// `line` in pieces of at most `limit` UTF-16 units, each ending outside a
/// tag (`<…>`) and an entity (`&…;`).
fn cut_long(line: &str, limit: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut rest = line;
    while length(rest) > limit {
        let mut end = 0;
        let mut units = 0;
        let mut safe = 0;
        let mut open: Option<char> = None;
        for (i, c) in rest.char_indices() {
            units += c.len_utf16();
            if units > limit {
                break;
            }
            end = i + c.len_utf8();
            open = match (open, c) {
                (None, '<') => Some('>'),
                (None, '&') => Some(';'),
                (Some(close), c) if c == close => None,
                (open, _) => open,
            };
            if open.is_none() {
                safe = end;
            }
        }
        // A tag or an entity longer than the limit cannot be kept whole.
        let at = if safe > 0 { safe } else { end };
        pieces.push(&rest[..at]);
        rest = &rest[at..];
    }
    pieces.push(rest);
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_characters_html_mode_reserves() {
        let cases = [
            ("plain", "plain"),
            ("a < b > c", "a &lt; b &gt; c"),
            ("R&D", "R&amp;D"),
            ("&amp;", "&amp;amp;"),
            ("<b>bold</b>", "&lt;b&gt;bold&lt;/b&gt;"),
            (r#"x" onclick="y"#, "x&quot; onclick=&quot;y"),
            ("Прирост ≥ 18% 🚀", "Прирост ≥ 18% 🚀"),
            ("", ""),
        ];
        for (raw, escaped) in cases {
            assert_eq!(escape(raw), escaped, "{raw}");
        }
    }

    #[test]
    fn shortens_to_one_line_of_at_most_max_characters() {
        let cases = [
            ("short", 10, "short"),
            ("exactly10!", 10, "exactly10!"),
            ("eleven char", 10, "eleven ch…"),
            ("two\nlines  and\tspaces", 40, "two lines and spaces"),
            ("ёжик в тумане", 5, "ёжик…"),
        ];
        for (raw, max, expected) in cases {
            assert_eq!(shorten(raw, max), expected, "{raw}");
            assert!(shorten(raw, max).chars().count() <= max);
        }
    }

    fn lines(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|l| (*l).to_owned()).collect()
    }

    #[test]
    fn splits_between_lines_within_the_limit() {
        let cases: [(&[&str], usize, &[&str]); 9] = [
            (&[], 10, &[]),
            (&["", " "], 10, &[]),
            (&["abc", "def"], 10, &["abc\ndef"]),
            // "abc\ndefg" is 8 units: exactly at the limit.
            (&["abc", "defg"], 8, &["abc\ndefg"]),
            (&["abc", "defgh"], 8, &["abc", "defgh"]),
            // A blank line at a break is dropped, not carried over.
            (&["aaaa", "", "bbbb"], 5, &["aaaa", "bbbb"]),
            (&["aa", "", "bb", "", "cc"], 6, &["aa\n\nbb", "cc"]),
            // Emoji are two UTF-16 units each.
            (&["🚀🚀", "🚀🚀"], 8, &["🚀🚀", "🚀🚀"]),
            (&["🚀🚀", "🚀"], 8, &["🚀🚀\n🚀"]),
        ];
        for (input, limit, expected) in cases {
            assert_eq!(
                split(&lines(input), limit),
                lines(expected),
                "{input:?} / {limit}"
            );
        }
    }

    #[test]
    fn cuts_an_overlong_line_outside_tags_and_entities() {
        let cases: [(&str, usize, &[&str]); 4] = [
            ("abcdefghij", 4, &["abcd", "efgh", "ij"]),
            ("ab<b>cd</b>", 6, &["ab<b>c", "d</b>"]),
            ("a&amp;b&lt;c", 6, &["a&amp;", "b&lt;c"]),
            ("x<aaaaaaaa>", 4, &["x", "<aaa", "aaaa", "a>"]),
        ];
        for (line, limit, expected) in cases {
            assert_eq!(
                split(&lines(&[line]), limit),
                lines(expected),
                "{line} / {limit}"
            );
        }
    }

    #[test]
    fn every_message_of_a_long_digest_fits() {
        let input: Vec<String> = (0..600)
            .map(|i| format!("<b>line {i}</b> — Прирост &amp; 🚀"))
            .collect();
        let messages = split(&input, MESSAGE_LIMIT);
        assert!(messages.len() > 1, "{}", messages.len());
        assert!(
            messages
                .iter()
                .all(|m| m.encode_utf16().count() <= MESSAGE_LIMIT)
        );
        assert_eq!(messages.join("\n"), input.join("\n"), "nothing lost");
    }
}
