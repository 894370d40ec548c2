//! Enums stored and sent as one fixed string per variant (statuses, kinds,
//! roles in database columns and on the wire). [`string_enum!`] writes the
//! table once — `Variant = "text"` — and derives from it `ALL`, `as_str` and
//! `parse`; an unknown string parses to `None`, which the caller turns into
//! its own error (a stored value never panics). An enum that also derives
//! serde keeps its serde names equal to the table: its crate's tests call
//! [`serde_name_problems`].

use serde::Serialize;
use serde::de::DeserializeOwned;

/// An enum written with [`string_enum!`].
pub trait StringEnum: Sized + Copy + PartialEq + std::fmt::Debug + 'static {
    /// Every variant, in declaration order.
    const VARIANTS: &'static [Self];
    /// The variant's string.
    fn as_str(self) -> &'static str;
    /// The variant of a string, if any.
    fn parse(s: &str) -> Option<Self>;
}

/// Where an enum's serde form differs from its string table, or a string
/// does not parse back to its variant; empty when they agree.
pub fn serde_name_problems<T: StringEnum + Serialize + DeserializeOwned>() -> Vec<String> {
    let mut out = Vec::new();
    for v in T::VARIANTS {
        let text = v.as_str();
        match serde_json::to_value(v) {
            Ok(serde_json::Value::String(s)) if s == text => {}
            other => out.push(format!(
                "{v:?}: serde writes {other:?}, the table says {text:?}"
            )),
        }
        match serde_json::from_value::<T>(serde_json::Value::String(text.to_owned())) {
            Ok(back) if back == *v => {}
            other => out.push(format!("{v:?}: serde reads {text:?} as {other:?}")),
        }
        if T::parse(text) != Some(*v) {
            out.push(format!("{v:?}: {text:?} does not parse back"));
        }
    }
    out
}

/// Declares an enum whose variants map to fixed strings, and derives `ALL`
/// (every variant, in order), `as_str` and `parse` from the one table:
///
/// ```
/// kiki_core::string_enum! {
///     /// How far a job got.
///     #[derive(Debug, Clone, Copy, PartialEq, Eq)]
///     pub enum Stage {
///         /// Waiting.
///         Queued = "queued",
///         Done = "done",
///     }
/// }
/// assert_eq!(Stage::Done.as_str(), "done");
/// assert_eq!(Stage::parse("queued"), Some(Stage::Queued));
/// assert_eq!(Stage::parse("Queued"), None);
/// assert_eq!(Stage::ALL, [Stage::Queued, Stage::Done]);
/// ```
#[macro_export]
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            /// The variant's string: what is stored and sent.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }

            /// The variant a string names, exactly; `None` for any other.
            pub fn parse(s: &str) -> ::core::option::Option<$name> {
                match s {
                    $( $text => ::core::option::Option::Some($name::$variant), )+
                    _ => ::core::option::Option::None,
                }
            }
        }

        impl $crate::strings::StringEnum for $name {
            const VARIANTS: &'static [$name] = &$name::ALL;

            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }

            fn parse(s: &str) -> ::core::option::Option<$name> {
                $name::parse(s)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::string_enum! {
        /// A test enum whose serde names follow the table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Good {
            First = "first",
            /// Documented.
            SecondOne = "second_one",
        }
    }

    crate::string_enum! {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "lowercase")]
        enum Drifted {
            SecondOne = "second_one",
        }
    }

    #[test]
    fn the_table_gives_every_variant_its_string_and_back() {
        assert_eq!(Good::ALL, [Good::First, Good::SecondOne]);
        assert_eq!(Good::SecondOne.as_str(), "second_one");
        assert_eq!(Good::parse("first"), Some(Good::First));
        for unknown in ["", "First", "second-one", "third"] {
            assert_eq!(Good::parse(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn serde_names_that_drift_from_the_table_are_reported() {
        assert!(serde_name_problems::<Good>().is_empty());
        let problems = serde_name_problems::<Drifted>();
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}

/// White space as JSON Schema patterns see it (ECMAScript's `\s`: tab, line
/// feed, vertical tab, form feed, carriage return, space, no-break space, the
/// `Zs` spaces, the line and paragraph separators and the byte-order mark).
/// Unlike Rust's `char::is_whitespace` it leaves out U+0085 (next line), so a
/// text a schema accepts with the pattern `\S` is never "only spaces" here.
pub fn is_schema_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{000B}' | '\u{000C}' | '\r' | ' ' | '\u{00A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// `s` without leading and trailing [`is_schema_space`] characters.
pub fn trim_schema(s: &str) -> &str {
    s.trim_matches(is_schema_space)
}

#[cfg(test)]
mod schema_space_tests {
    use super::*;

    #[test]
    fn next_line_is_text_to_a_schema_and_the_usual_spaces_are_not() {
        assert_eq!(trim_schema("\u{0085}"), "\u{0085}");
        assert_eq!(trim_schema(" \t\u{00A0}a\u{3000}\n"), "a");
        assert!(trim_schema("\u{2028}\u{FEFF} ").is_empty());
    }
}
