//! Text matching for the rules: whole-word, case-insensitive search of
//! terms (single words or phrases, a trailing `*` matching any word ending),
//! on byte offsets of the original text so a finding can point at its span.

/// A span of the original text, in bytes.
pub(crate) type Span = (usize, usize);

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'\'' || b >= 0x80
}

/// Every whole-word occurrence of `term` in `text`, ignoring ASCII case.
/// `term` may end in `*` (a prefix: `depress*` matches "depressed").
pub(crate) fn find_term(text: &str, term: &str) -> Vec<Span> {
    let (needle, prefix) = match term.strip_suffix('*') {
        Some(n) => (n, true),
        None => (term, false),
    };
    let hay = text.as_bytes();
    let needle = needle.as_bytes();
    let mut out = Vec::new();
    if needle.is_empty() || needle.len() > hay.len() {
        return out;
    }
    let n = needle.len();
    let mut i = 0;
    while i + n <= hay.len() {
        let starts_word = i == 0 || !is_word_byte(hay[i - 1]);
        if starts_word && hay[i..i + n].eq_ignore_ascii_case(needle) {
            let mut end = i + n;
            if prefix {
                while end < hay.len() && is_word_byte(hay[end]) {
                    end += 1;
                }
                out.push((i, end));
                i = end;
                continue;
            }
            // A term ending in a letter or digit must end a word; one ending
            // in a symbol (`$$$`) must not run into a letter or digit.
            let boundary = end == hay.len()
                || if needle[n - 1].is_ascii_alphanumeric() {
                    !is_word_byte(hay[end])
                } else {
                    !hay[end].is_ascii_alphanumeric()
                };
            if boundary {
                out.push((i, end));
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// The sentences of `text` as spans (split after `.`, `!`, `?` and line ends).
pub(crate) fn sentences(text: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if matches!(c, '.' | '!' | '?' | '\n') {
            let end = i + c.len_utf8();
            if text[start..end].trim().len() > 1 {
                out.push((start, end));
            }
            start = end;
        }
    }
    if text[start..].trim().len() > 1 {
        out.push((start, text.len()));
    }
    out
}

/// The words of `text` (runs of letters and digits) as spans.
pub(crate) fn words(text: &str) -> Vec<Span> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_match_whole_words_only_and_prefixes_extend_to_the_word_end() {
        assert_eq!(find_term("Guaranteed results", "guaranteed"), [(0, 10)]);
        assert!(find_term("unguaranteed", "guaranteed").is_empty());
        assert_eq!(find_term("Feeling depressed?", "depress*"), [(8, 17)]);
        assert_eq!(find_term("We are #1 in town", "#1"), [(7, 9)]);
        assert!(find_term("Order #12 shipped", "#1").is_empty());
        assert_eq!(find_term("a risk-free trial", "risk-free"), [(2, 11)]);
        assert_eq!(find_term("Café CURE now", "cure"), [(6, 10)]);
    }

    #[test]
    fn sentences_and_words_are_spans_of_the_original() {
        let t = "Hello there. Are you sad? Yes";
        let s: Vec<&str> = sentences(t).iter().map(|&(a, b)| t[a..b].trim()).collect();
        assert_eq!(s, ["Hello there.", "Are you sad?", "Yes"]);
        let w: Vec<&str> = words("FREE shipping, 24h!")
            .iter()
            .map(|&(a, b)| &"FREE shipping, 24h!"[a..b])
            .collect();
        assert_eq!(w, ["FREE", "shipping", "24h"]);
    }
}
