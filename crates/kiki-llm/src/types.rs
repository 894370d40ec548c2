//! The values that cross the port: chat messages as the API spells them, the
//! answers with their token usage, and the redacted transcript a caller keeps
//! in its audit record. These are what the campaigns context stores and
//! shows, so they serialise plainly and hold no secret.

use serde::{Deserialize, Serialize};

/// Who speaks in a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions that frame the conversation.
    System,
    /// The product's request.
    User,
    /// The model's answer.
    Assistant,
}

/// One message of a chat, serialised as the API wants it:
/// `{"role": "user", "content": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Self {
        Message {
            role: Role::System,
            content: content.into(),
        }
    }

    pub fn user(content: impl Into<String>) -> Self {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// Tokens one call (or several, summed) used, as the provider counted them;
/// zero where the provider does not say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub total_tokens: u64,
}

impl std::ops::Add for TokenUsage {
    type Output = TokenUsage;

    fn add(self, other: TokenUsage) -> TokenUsage {
        TokenUsage {
            prompt_tokens: self.prompt_tokens.saturating_add(other.prompt_tokens),
            completion_tokens: self
                .completion_tokens
                .saturating_add(other.completion_tokens),
            total_tokens: self.total_tokens.saturating_add(other.total_tokens),
        }
    }
}

impl std::ops::AddAssign for TokenUsage {
    fn add_assign(&mut self, other: TokenUsage) {
        *self = *self + other;
    }
}

/// The model's answer to one chat call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatAnswer {
    /// The text of the first choice.
    pub content: String,
    pub usage: TokenUsage,
    /// The model that answered, as the provider reports it (it may name a
    /// dated version of the configured one).
    pub model: String,
    /// `stop`, `length` (cut at `max_tokens`), `content_filter`, … when given.
    pub finish_reason: Option<String>,
}

/// A JSON answer that deserialised and passed the caller's validation.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonAnswer<T> {
    pub value: T,
    /// Whether the first answer was unusable and the repair round produced
    /// this one.
    pub repaired: bool,
    /// Tokens of both calls when there was a repair round.
    pub usage: TokenUsage,
    /// The whole conversation, redacted, for the audit record.
    pub transcript: Transcript,
}

/// A conversation as it may be stored: the prompts and the answers, with
/// keys, tokens, e-mail addresses, phone and card numbers replaced
/// ([`crate::redact()`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    /// The model that gave the last answer.
    pub model: String,
    pub messages: Vec<Message>,
}

/// One generated image: a URL to fetch it from (it expires, so callers copy
/// it) or the image itself in base64, as the provider chooses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageAnswer {
    pub url: Option<String>,
    pub b64_json: Option<String>,
    /// The prompt as the provider rewrote it before drawing, when it says.
    pub revised_prompt: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_serialise_as_the_api_wants() {
        let json = serde_json::to_value([
            Message::system("be brief"),
            Message::user("hi"),
            Message::assistant("hello"),
        ])
        .expect("json");
        assert_eq!(
            json,
            serde_json::json!([
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
            ])
        );
    }

    #[test]
    fn usage_adds_field_by_field_and_missing_counts_are_zero() {
        let a: TokenUsage =
            serde_json::from_str(r#"{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}"#)
                .expect("usage");
        let b: TokenUsage = serde_json::from_str(r#"{"prompt_tokens":3}"#).expect("usage");
        let mut sum = a + b;
        assert_eq!(
            sum,
            TokenUsage {
                prompt_tokens: 13,
                completion_tokens: 5,
                total_tokens: 15
            }
        );
        sum += TokenUsage {
            prompt_tokens: u64::MAX,
            ..TokenUsage::default()
        };
        assert_eq!(sum.prompt_tokens, u64::MAX);
    }
}
