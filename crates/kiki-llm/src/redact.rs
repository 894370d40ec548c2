//! Redaction of prompts and answers before they are stored: a transcript
//! goes into audit records that many people may read for years, so it must
//! not carry the provider key or the personal data a brief happened to
//! contain. What is replaced, in this order:
//!
//! 1. every secret the caller names (the configured API key), wherever it is;
//! 2. bearer tokens (`Bearer …`) and keys in the well-known prefixed shapes
//!    (`sk-…`, `sk_live_…`, `ghp_…`, `xoxb-…`, …);
//! 3. e-mail addresses;
//! 4. phone numbers: international (`+44 20 7946 0958`, `0044 …`), with an
//!    area code in parentheses, North American `415-555-2671`, and national
//!    numbers with a trunk `0` (`020 7946 0958`, `06 12 34 56 78`);
//! 5. card-like runs of 13 to 19 digits, whole or in groups split by spaces
//!    or hyphens.
//!
//! Plain numbers (prices, budgets, dates, ids under 13 digits) are kept: a
//! transcript without them would not explain the answer. An unformatted
//! ten-digit number without `+` or a leading `0` cannot be told from an
//! amount and is kept too.

/// What a secret or key becomes.
pub const SECRET_MARK: &str = "[redacted secret]";
/// What an e-mail address becomes.
pub const EMAIL_MARK: &str = "[redacted email]";
/// What a phone number becomes.
pub const PHONE_MARK: &str = "[redacted phone]";
/// What a card-like number becomes.
pub const CARD_MARK: &str = "[redacted card]";

/// Prefixes of API keys and tokens that are secret wherever they appear.
const KEY_PREFIXES: &[&str] = &[
    "sk-",
    "sk_",
    "rk_",
    "ghp_",
    "gho_",
    "ghs_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "AIza",
];

/// The least a key holds after its prefix, so that words such as `sk-learn`
/// stay.
const KEY_MIN_BODY: usize = 16;

/// `text` with the named `secrets`, tokens, keys, e-mail addresses, phone
/// numbers and card-like numbers replaced by a mark naming what was there.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        let secret = secret.trim();
        if !secret.is_empty() {
            out = out.replace(secret, SECRET_MARK);
        }
    }
    let out = redact_tokens(&out);
    let out = redact_emails(&out);
    redact_numbers(&out)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'+' | b'/' | b'=')
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Bearer tokens and prefixed keys.
fn redact_tokens(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let at_word_start = i == 0 || !is_word_byte(bytes[i - 1]);
        if !at_word_start {
            i += 1;
            continue;
        }
        // `Bearer <token>`: the word stays, the token goes.
        if bytes.len() - i > 7 && bytes[i..i + 7].eq_ignore_ascii_case(b"bearer ") {
            let token_start = i + 7 + bytes[i + 7..].iter().take_while(|b| **b == b' ').count();
            let mut token_len = bytes[token_start..]
                .iter()
                .take_while(|b| is_token_byte(**b))
                .count();
            // A sentence's full stop after the token is not part of it.
            while token_len > 0 && bytes[token_start + token_len - 1] == b'.' {
                token_len -= 1;
            }
            if token_len >= 8 {
                out.push_str(&text[copied..token_start]);
                out.push_str(SECRET_MARK);
                i = token_start + token_len;
                copied = i;
                continue;
            }
        }
        if let Some(prefix) = KEY_PREFIXES
            .iter()
            .find(|p| bytes[i..].starts_with(p.as_bytes()))
        {
            let body_len = bytes[i + prefix.len()..]
                .iter()
                .take_while(|b| is_key_byte(**b))
                .count();
            if body_len >= KEY_MIN_BODY {
                out.push_str(&text[copied..i]);
                out.push_str(SECRET_MARK);
                i += prefix.len() + body_len;
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

fn is_local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-' | b'\'')
}

fn is_domain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// `local@domain.tld`, ASCII addresses as people write them.
fn redact_emails(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'@' {
            i += 1;
            continue;
        }
        let mut start = i;
        while start > copied && is_local_byte(bytes[start - 1]) {
            start -= 1;
        }
        // A sentence's full stop or a quote before the address is not part of it.
        while start < i && matches!(bytes[start], b'.' | b'\'') {
            start += 1;
        }
        let mut end = i + 1;
        while end < bytes.len() && is_domain_byte(bytes[end]) {
            end += 1;
        }
        // Neither is a sentence's full stop or dash after it.
        while end > i + 1 && matches!(bytes[end - 1], b'.' | b'-') {
            end -= 1;
        }
        let domain = &text[i + 1..end];
        let tld = domain.rsplit('.').next().unwrap_or("");
        let is_address = start < i
            && domain.contains('.')
            && !domain.starts_with(['.', '-'])
            && !domain.contains("..")
            && tld.len() >= 2
            && tld.bytes().all(|b| b.is_ascii_alphabetic());
        if is_address {
            out.push_str(&text[copied..start]);
            out.push_str(EMAIL_MARK);
            copied = end;
            i = end;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// One group of digits in a run, with what came before it.
#[derive(Debug, Clone, Copy)]
struct Group {
    /// Byte offset just past the group (past its `)` when parenthesised).
    end: usize,
    digits: usize,
    /// The separator between the previous group and this one.
    sep: Option<u8>,
    parenthesised: bool,
    first_digit: u8,
    /// The group starts with `00`.
    double_zero: bool,
}

/// A run of digit groups: `+44 (0)20 7946-0958`, `4111 1111 1111 1111`.
struct Run {
    start: usize,
    plus: bool,
    groups: Vec<Group>,
}

const SEPARATORS: &[u8] = b" -./";

/// Reads the run starting at `start` (a `+`, `(` or digit at a word start).
fn read_run(bytes: &[u8], start: usize) -> Run {
    let mut i = start;
    let plus = bytes[i] == b'+';
    if plus {
        i += 1;
        while i < bytes.len() && bytes[i] == b' ' {
            i += 1;
        }
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut sep = None;
    loop {
        let mut j = i;
        let parenthesised = j < bytes.len() && bytes[j] == b'(';
        if parenthesised {
            j += 1;
        }
        let digits = bytes[j..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            break;
        }
        let first_digit = bytes[j];
        let double_zero = bytes[j..j + digits].starts_with(b"00");
        j += digits;
        if parenthesised {
            if j < bytes.len() && bytes[j] == b')' {
                j += 1;
            } else {
                break;
            }
        }
        groups.push(Group {
            end: j,
            digits,
            sep: if groups.is_empty() { None } else { sep },
            parenthesised,
            first_digit,
            double_zero,
        });
        // `(415) 555`: a parenthesised group may be followed directly by the next.
        let next = bytes.get(j).copied();
        match next {
            Some(b) if SEPARATORS.contains(&b) => {
                sep = Some(b);
                i = j + 1;
            }
            Some(b'(') | Some(b'0'..=b'9') if parenthesised => {
                sep = None;
                i = j;
            }
            _ => break,
        }
        if !matches!(bytes.get(i), Some(b'0'..=b'9') | Some(b'(')) {
            break;
        }
    }
    Run {
        start,
        plus,
        groups,
    }
}

/// Whether these digit groups, together, are a phone or a card number.
fn classify(plus: bool, groups: &[Group]) -> Option<&'static str> {
    let first = groups.first()?;
    let digits: usize = groups.iter().map(|g| g.digits).sum();
    let seps: Vec<u8> = groups.iter().filter_map(|g| g.sep).collect();
    let same_seps = seps.windows(2).all(|w| w[0] == w[1]);
    let any_paren = groups.iter().any(|g| g.parenthesised);
    if plus && digits >= 8 {
        return Some(PHONE_MARK);
    }
    // `00` is the international call prefix in most of the world.
    if first.double_zero && (10..=17).contains(&digits) {
        return Some(PHONE_MARK);
    }
    // Cards: 13 to 19 digits, whole or in groups split the same way throughout.
    if (13..=19).contains(&digits)
        && first.first_digit != b'0'
        && !any_paren
        && same_seps
        && seps.iter().all(|s| matches!(s, b' ' | b'-'))
    {
        return Some(CARD_MARK);
    }
    let lens: Vec<usize> = groups.iter().map(|g| g.digits).collect();
    let north_american = match lens.as_slice() {
        [3, 3, 4] => (same_seps && !seps.is_empty()) || groups[0].parenthesised,
        [1, 3, 3, 4] => (same_seps && !seps.is_empty()) || groups[1].parenthesised,
        _ => false,
    };
    if north_american && seps.iter().all(|s| matches!(s, b' ' | b'-' | b'.')) {
        return Some(PHONE_MARK);
    }
    if any_paren && (7..=15).contains(&digits) {
        return Some(PHONE_MARK);
    }
    // National numbers after a trunk `0`: `020 7946 0958`, `06 12 34 56 78`,
    // `0612345678`. A first group of one digit is a decimal (`0.123456789`).
    let decimal = seps.contains(&b'.') && groups.len() == 2;
    if first.first_digit == b'0' && first.digits >= 2 && (9..=12).contains(&digits) && !decimal {
        return Some(PHONE_MARK);
    }
    None
}

/// Phone and card numbers.
fn redact_numbers(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let starts = matches!(bytes[i], b'0'..=b'9' | b'+' | b'(')
            && (i == 0 || !is_number_glue(bytes[i - 1]));
        if !starts {
            i += 1;
            continue;
        }
        let run = read_run(bytes, i);
        let Some(first) = run.groups.first() else {
            i += 1;
            continue;
        };
        // The longest leading part of the run that is a number, so that a date
        // or a second number written next to a phone or card does not hide it.
        // A number glued to a word (`4111…abc`) is an identifier.
        let found = (1..=run.groups.len()).rev().find_map(|len| {
            let mark = classify(run.plus, &run.groups[..len])?;
            let end = run.groups[len - 1].end;
            let glued = bytes.get(end).is_some_and(|b| is_word_byte(*b));
            (!glued).then_some((end, mark))
        });
        match found {
            Some((end, mark)) => {
                out.push_str(&text[copied..run.start]);
                out.push_str(mark);
                copied = end;
                i = end;
            }
            // The next number may start inside this run, after a space.
            None => i = first.end,
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// A byte before a digit that makes the digit part of something else: a
/// word, a decimal, a signed value, an id (`A-123…`), a path.
fn is_number_glue(b: u8) -> bool {
    is_word_byte(b) || matches!(b, b'.' | b'+' | b'-' | b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, want: &str) {
        assert_eq!(
            redact(input, &["sk-proj-CONFIGURED-key-123"]),
            want,
            "{input:?}"
        );
    }

    #[test]
    fn secrets_and_keys_are_replaced_wherever_they_appear() {
        check("key=sk-proj-CONFIGURED-key-123;", "key=[redacted secret];");
        check(
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc-DEF_123",
            "Authorization: Bearer [redacted secret]",
        );
        check("bearer  abcdefgh12345678.", "bearer  [redacted secret].");
        check(
            "use sk-abcdefghijklmnop1234 then",
            "use [redacted secret] then",
        );
        check(
            "stripe sk_live_51HqLyjWDarjtT1zdp7dc and sk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "stripe [redacted secret] and [redacted secret]",
        );
        check(
            "token ghp_0123456789abcdefghijABCDEFGHIJ012345",
            "token [redacted secret]",
        );
        check(
            "AIzaSyA-1234567890abcdefghijklmnopqrstu",
            "[redacted secret]",
        );
        // Short or ordinary words that merely look alike stay.
        check(
            "we use sk-learn and task-runner",
            "we use sk-learn and task-runner",
        );
        check("the bearer of good news", "the bearer of good news");
        check(
            "ask-abcdefghijklmnopqrstuvwxyz",
            "ask-abcdefghijklmnopqrstuvwxyz",
        );
        assert_eq!(redact("nothing to hide", &["", "  "]), "nothing to hide");
        assert_eq!(
            redact("a custom secret: hunter2hunter2", &["hunter2hunter2"]),
            "a custom secret: [redacted secret]"
        );
    }

    #[test]
    fn email_addresses_are_replaced() {
        check(
            "Write to jane.doe+ads@example.co.uk.",
            "Write to [redacted email].",
        );
        check("<ops@kiki.example>", "<[redacted email]>");
        check(
            "Contact: o'brien@shop.ie, a_b-c@x-y.io",
            "Contact: [redacted email], [redacted email]",
        );
        check(
            "mailto:sales@example.com?subject=hi",
            "mailto:[redacted email]?subject=hi",
        );
        // Not addresses: handles, decorators, bare domains.
        check("follow @kiki_ads on X", "follow @kiki_ads on X");
        check("user@localhost", "user@localhost");
        check("price@ 5.99", "price@ 5.99");
        check("a@b.c", "a@b.c");
    }

    #[test]
    fn phone_numbers_are_replaced_in_international_and_national_forms() {
        check("Call +44 20 7946 0958 today", "Call [redacted phone] today");
        check("Call +1 (415) 555-2671.", "Call [redacted phone].");
        check("+4915112345678", "[redacted phone]");
        check("+44 (0)20 7946 0958", "[redacted phone]");
        check("0044 20 7946 0958", "[redacted phone]");
        check("(415) 555-2671", "[redacted phone]");
        check("415-555-2671", "[redacted phone]");
        check("415.555.2671", "[redacted phone]");
        check("1-800-555-0199", "[redacted phone]");
        check("tel: 020 7946 0958", "tel: [redacted phone]");
        check("07700 900123", "[redacted phone]");
        check("06 12 34 56 78", "[redacted phone]");
        check("0612345678", "[redacted phone]");
        check("030/12345678", "[redacted phone]");
        check("(030) 1234567", "[redacted phone]");
    }

    #[test]
    fn card_like_numbers_are_replaced() {
        check("card 4111111111111111 exp", "card [redacted card] exp");
        check("4111 1111 1111 1111", "[redacted card]");
        check("4111-1111-1111-1111", "[redacted card]");
        check("3782 822463 10005", "[redacted card]");
        check("6011000990139424", "[redacted card]");
        check("4000 0000 0000 0000 002", "[redacted card]");
        // A card followed by more numbers loses the card and keeps the rest.
        check("4111 1111 1111 1111 2025", "[redacted card] 2025");
        check(
            "paid 2024-05-01 4111 1111 1111 1111",
            "paid 2024-05-01 [redacted card]",
        );
        check("0612345678 0711111111", "[redacted phone] [redacted phone]");
    }

    #[test]
    fn ordinary_numbers_stay() {
        for kept in [
            "Budget: $5,000 per day, 1,000,000 micros",
            "Launch on 2025-03-14 at 09:30",
            "Version 1.2.3 of the app, 3.14159265358979",
            "Order 123456789012 shipped",
            "pi is 3.1415926535897932384",
            "uuid 0190c2a4-7b1e-7c3d-9f00-123456789abc",
            "sku A-12345678901234",
            "id 12345678901234567890123",
            "10 12 2024",
            "0.123456789",
            "4155552671",
            "ab4111111111111111",
        ] {
            check(kept, kept);
        }
    }

    #[test]
    fn marks_are_stable_under_a_second_pass() {
        let once = redact(
            "jane@example.com, +44 20 7946 0958, 4111 1111 1111 1111, sk-abcdefghijklmnop1234",
            &[],
        );
        assert_eq!(redact(&once, &[]), once);
        assert_eq!(
            once,
            "[redacted email], [redacted phone], [redacted card], [redacted secret]"
        );
    }
}
