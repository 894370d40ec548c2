//! The goal text as tokens with their byte spans: words (a letter, then
//! letters and digits — `b2b` —, with inner apostrophes, dots of
//! abbreviations like `U.S.` and hyphens),
//! numbers (digits with thousands commas and a decimal point, and a `k`,
//! `m` or `bn` multiplier written against them), and single symbols
//! (`$ € £ ¥ % + - – /`).

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Word(String),
    /// The value with its multiplier applied (`100k` → 100 000).
    Number {
        value: f64,
        /// True when a multiplier or decimals were written (not an integer
        /// as typed): ages and durations are plain integers.
        plain_integer: bool,
    },
    Symbol(char),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn word(&self) -> Option<&str> {
        match &self.kind {
            Kind::Word(w) => Some(w),
            _ => None,
        }
    }

    pub fn is_word(&self, any: &[&str]) -> bool {
        self.word().is_some_and(|w| any.contains(&w))
    }

    pub fn number(&self) -> Option<f64> {
        match self.kind {
            Kind::Number { value, .. } => Some(value),
            _ => None,
        }
    }

    pub fn integer(&self) -> Option<u32> {
        match self.kind {
            Kind::Number {
                value,
                plain_integer: true,
            } if value >= 0.0 && value <= f64::from(u32::MAX) => Some(value as u32),
            _ => None,
        }
    }

    pub fn symbol(&self) -> Option<char> {
        match self.kind {
            Kind::Symbol(c) => Some(c),
            _ => None,
        }
    }
}

/// Words for small numbers people write out.
fn number_word(w: &str) -> Option<f64> {
    let n = match w {
        "one" | "a" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        _ => return None,
    };
    Some(f64::from(n))
}

pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |k: usize| chars.get(k).map_or(text.len(), |&(i, _)| i);
    let mut k = 0;
    while k < chars.len() {
        let (start, c) = chars[k];
        if c.is_ascii_digit() {
            let mut j = k;
            let mut digits = String::new();
            let mut decimals = false;
            while j < chars.len() {
                let ch = chars[j].1;
                if ch.is_ascii_digit() {
                    digits.push(ch);
                } else if ch == ','
                    && chars.get(j + 1).is_some_and(|c| c.1.is_ascii_digit())
                    && chars.get(j + 3).is_some_and(|c| c.1.is_ascii_digit())
                    && !chars.get(j + 4).is_some_and(|c| c.1.is_ascii_digit())
                {
                    // a thousands separator: exactly three digits follow
                } else if ch == '.'
                    && !decimals
                    && chars.get(j + 1).is_some_and(|c| c.1.is_ascii_digit())
                {
                    decimals = true;
                    digits.push('.');
                } else {
                    break;
                }
                j += 1;
            }
            let mut value: f64 = digits.parse().unwrap_or(0.0);
            let mut plain = !decimals;
            // A multiplier written against the number: 100k, 1.5m, 2bn.
            let rest: String = chars[j..]
                .iter()
                .take_while(|c| c.1.is_alphabetic())
                .map(|c| c.1.to_ascii_lowercase())
                .collect();
            let mult = match rest.as_str() {
                "k" => Some(1e3),
                "m" | "mm" | "mn" => Some(1e6),
                "bn" | "b" => Some(1e9),
                _ => None,
            };
            if let Some(m) = mult {
                value *= m;
                plain = false;
                j += rest.chars().count();
            }
            out.push(Token {
                kind: Kind::Number {
                    value,
                    plain_integer: plain,
                },
                start,
                end: end_of(j),
            });
            k = j;
        } else if c.is_alphabetic() {
            let mut j = k;
            let mut w = String::new();
            while j < chars.len() {
                let ch = chars[j].1;
                let inner = matches!(ch, '\'' | '’' | '.' | '-')
                    && chars.get(j + 1).is_some_and(|c| c.1.is_alphabetic())
                    && j > k;
                if ch.is_alphanumeric() || inner {
                    w.extend(ch.to_lowercase());
                    j += 1;
                } else {
                    break;
                }
            }
            // "U.S." keeps its final dot as part of the abbreviation.
            if w.contains('.') && chars.get(j).is_some_and(|c| c.1 == '.') {
                j += 1;
                w.push('.');
            }
            let kind = match number_word(&w) {
                Some(v) if w != "a" => Kind::Number {
                    value: v,
                    plain_integer: true,
                },
                _ => Kind::Word(w),
            };
            out.push(Token {
                kind,
                start,
                end: end_of(j),
            });
            k = j;
        } else {
            if matches!(
                c,
                '$' | '€' | '£' | '¥' | '%' | '+' | '-' | '–' | '—' | '/' | '#'
            ) {
                out.push(Token {
                    kind: Kind::Symbol(c),
                    start,
                    end: end_of(k + 1),
                });
            }
            k += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_carry_their_multipliers_and_words_their_abbreviation_dots() {
        let t = tokenize("Spend $100k (or 1,250.50 EUR) in the U.S. over 2.5m views, 25-44");
        let numbers: Vec<f64> = t.iter().filter_map(Token::number).collect();
        assert_eq!(numbers, [100_000.0, 1_250.5, 2_500_000.0, 25.0, 44.0]);
        assert!(t.iter().any(|x| x.word() == Some("u.s.")));
        assert_eq!(t.iter().filter(|x| x.symbol() == Some('-')).count(), 1);
        assert_eq!(tokenize("two weeks")[0].integer(), Some(2));
    }
}
