//! The LLM provider port: how KIKI asks a language model for text, for JSON
//! it can use, and for images. One client reaches any OpenAI-compatible API
//! (OpenAI, vLLM, Ollama, LiteLLM) by base URL, model and key, so a
//! self-hosted deployment can run on a local model and a hosted one on a
//! commercial provider without a code change.
//!
//! - [`LlmClient::chat`]: one chat completion.
//! - [`LlmClient::ask_json`]: a JSON object, cut out of the answer,
//!   deserialised and validated, with one repair round that tells the model
//!   exactly what was wrong; the conversation comes back as a redacted
//!   [`Transcript`] for the audit record.
//! - [`LlmClient::generate_image`]: one image from a prompt.
//! - [`redact()`]: the redaction of keys and personal data the transcript
//!   uses, for any other text that is stored or logged.
//!
//! Every call goes through the shared [`kiki_outbound::OutboundClient`]:
//! timeouts, retries and `Retry-After` behave as for every external API.
//!
//! **Boundary:** contexts (campaigns, creative generation) call [`LlmClient`];
//! none speaks the provider's HTTP API itself. **Invariant:** the provider
//! key never appears in a `Debug` print, an error or a transcript.

mod client;
pub mod config;
pub mod error;
pub mod extract;
pub mod redact;
pub mod types;
mod wire;

pub use client::{JSON_ONLY, LlmClient};
pub use config::LlmConfig;
pub use error::LlmError;
pub use extract::extract_json_object;
pub use redact::redact;
pub use types::{ChatAnswer, ImageAnswer, JsonAnswer, Message, Role, TokenUsage, Transcript};
