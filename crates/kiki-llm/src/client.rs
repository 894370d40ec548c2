//! The calls themselves: chat completions, JSON answers with one repair
//! round, and image generation, each a POST through the shared
//! [`OutboundClient`] (so timeouts, retries with backoff, `Retry-After` and
//! request-id propagation are the same as for every other external API),
//! and each provider failure turned into one [`LlmError`] variant.

use std::time::{Duration, Instant, SystemTime};

use kiki_core::FieldError;
use kiki_outbound::OutboundClient;
use reqwest::{StatusCode, Url};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::LlmConfig;
use crate::error::LlmError;
use crate::extract::extract_json_object;
use crate::redact::redact;
use crate::types::{ChatAnswer, ImageAnswer, JsonAnswer, Message, TokenUsage, Transcript};
use crate::wire;

/// Appended to the system prompt of [`LlmClient::ask_json`]: the answer is
/// read as JSON, and OpenAI's JSON mode refuses a conversation that does not
/// mention JSON.
pub const JSON_ONLY: &str = "Answer with one JSON object and nothing else.";

/// The longest provider reason kept in an error.
const MAX_REASON_CHARS: usize = 500;

/// A language model behind an OpenAI-compatible API. Cheap to share behind
/// an `Arc`; holds no connection of its own.
#[derive(Debug)]
pub struct LlmClient {
    outbound: OutboundClient,
    config: LlmConfig,
    chat_url: Url,
    images_url: Url,
}

impl LlmClient {
    /// A client for `config`, calling through `outbound`. Settings with
    /// [problems](LlmConfig::problems) are refused with
    /// [`LlmError::NotConfigured`] naming them.
    pub fn new(outbound: OutboundClient, config: LlmConfig) -> Result<Self, LlmError> {
        let problems = config.problems();
        let (Some(chat_url), Some(images_url), true) = (
            config.endpoint("chat/completions"),
            config.endpoint("images/generations"),
            problems.is_empty(),
        ) else {
            return Err(LlmError::NotConfigured(problems.join(" ")));
        };
        Ok(LlmClient {
            outbound,
            config,
            chat_url,
            images_url,
        })
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// `text` as it may be stored or logged: the configured key, other keys
    /// and tokens, and personal data replaced ([`redact()`]).
    pub fn redact(&self, text: &str) -> String {
        match &self.config.api_key {
            Some(key) => redact(text, &[key.expose_secret()]),
            None => redact(text, &[]),
        }
    }

    /// One chat completion: POST `{base_url}/chat/completions` with the
    /// configured model, limits and JSON mode, and the first choice back.
    ///
    /// Each attempt may take `llm.timeout`; the outbound client retries
    /// connection failures, timeouts, 429 and 5xx with its own backoff before
    /// the failure is returned.
    pub async fn chat(&self, messages: &[Message]) -> Result<ChatAnswer, LlmError> {
        let body = wire::ChatRequest {
            model: &self.config.model,
            messages,
            max_tokens: self.config.max_tokens,
            temperature: self.config.temperature,
            response_format: self.config.json_mode.then_some(wire::ResponseFormat {
                kind: "json_object",
            }),
        };
        let started = Instant::now();
        let response: wire::ChatResponse = self.post(&self.chat_url, &body, "chat").await?;
        let usage = response.usage.unwrap_or_default();
        let model = response
            .model
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| self.config.model.clone());
        let Some(choice) = response.choices.into_iter().next() else {
            return Err(LlmError::Decode(
                "The chat answer holds no choices.".to_owned(),
            ));
        };
        let content = match (choice.message.content, choice.message.refusal) {
            (Some(content), _) => content,
            (None, Some(refusal)) => {
                return Err(LlmError::InvalidAnswer {
                    problems: vec![format!("The model refused: {}", self.redact(&refusal))],
                });
            }
            (None, None) if choice.finish_reason.as_deref() == Some("content_filter") => {
                return Err(LlmError::InvalidAnswer {
                    problems: vec!["The provider's content filter withheld the answer.".to_owned()],
                });
            }
            (None, None) => {
                return Err(LlmError::Decode(
                    "The chat answer's message has no content.".to_owned(),
                ));
            }
        };
        tracing::debug!(
            llm.model = %model,
            llm.prompt_tokens = usage.prompt_tokens,
            llm.completion_tokens = usage.completion_tokens,
            llm.finish_reason = choice.finish_reason.as_deref().unwrap_or(""),
            duration_ms = started.elapsed().as_millis() as u64,
            "chat completion answered"
        );
        Ok(ChatAnswer {
            content,
            usage,
            model,
            finish_reason: choice.finish_reason,
        })
    }

    /// Asks for a JSON object and returns it deserialised and validated.
    ///
    /// `system` gets [`JSON_ONLY`] appended. The object is cut out of the
    /// answer (fences and prose around it are tolerated), deserialised into
    /// `T`, then checked by `validate`. When any of that fails, the
    /// conversation goes back once with a message naming each problem (the
    /// syntax error, the missing or mistyped field, every field error) and
    /// asking for the corrected JSON only; a second failure is
    /// [`LlmError::InvalidAnswer`] with the problems of the second answer.
    pub async fn ask_json<T: DeserializeOwned>(
        &self,
        system: &str,
        user: &str,
        validate: impl Fn(&T) -> Vec<FieldError>,
    ) -> Result<JsonAnswer<T>, LlmError> {
        let system = if system.trim().is_empty() {
            JSON_ONLY.to_owned()
        } else {
            format!("{}\n\n{JSON_ONLY}", system.trim_end())
        };
        let mut messages = vec![Message::system(system), Message::user(user)];
        let first = self.chat(&messages).await?;
        let mut usage = first.usage;
        let parsed = parse_answer(&first.content, &validate);
        messages.push(Message::assistant(first.content));
        let problems = match parsed {
            Ok(value) => return Ok(self.json_answer(value, false, usage, first.model, messages)),
            Err(problems) => problems,
        };
        tracing::debug!(
            llm.model = %first.model,
            llm.problems = problems.len(),
            "the JSON answer was unusable; asking once for a correction"
        );
        messages.push(Message::user(repair_prompt(&problems)));
        let second = self.chat(&messages).await?;
        usage += second.usage;
        match parse_answer(&second.content, &validate) {
            Ok(value) => {
                messages.push(Message::assistant(second.content));
                Ok(self.json_answer(value, true, usage, second.model, messages))
            }
            Err(problems) => Err(LlmError::InvalidAnswer {
                problems: problems.iter().map(|p| self.redact(p)).collect(),
            }),
        }
    }

    /// One image: POST `{base_url}/images/generations` with the image model,
    /// `prompt`, `size` (such as `1024x1024`) and `n: 1`.
    /// [`LlmError::NotConfigured`] when no image model is set.
    pub async fn generate_image(&self, prompt: &str, size: &str) -> Result<ImageAnswer, LlmError> {
        let Some(model) = self
            .config
            .image_model
            .as_deref()
            .filter(|m| !m.trim().is_empty())
        else {
            return Err(LlmError::NotConfigured(
                "llm.image_model is not set; name the image model (such as dall-e-3) to generate images."
                    .to_owned(),
            ));
        };
        let body = wire::ImageRequest {
            model,
            prompt,
            size,
            n: 1,
        };
        let started = Instant::now();
        let response: wire::ImageResponse = self.post(&self.images_url, &body, "image").await?;
        let Some(image) = response.data.into_iter().next() else {
            return Err(LlmError::Decode(
                "The image answer holds no image.".to_owned(),
            ));
        };
        if image.url.is_none() && image.b64_json.is_none() {
            return Err(LlmError::Decode(
                "The image answer holds neither a URL nor image data.".to_owned(),
            ));
        }
        tracing::debug!(
            llm.model = model,
            duration_ms = started.elapsed().as_millis() as u64,
            "image generated"
        );
        Ok(ImageAnswer {
            url: image.url,
            b64_json: image.b64_json,
            revised_prompt: image.revised_prompt,
        })
    }

    fn json_answer<T>(
        &self,
        value: T,
        repaired: bool,
        usage: TokenUsage,
        model: String,
        messages: Vec<Message>,
    ) -> JsonAnswer<T> {
        let messages = messages
            .into_iter()
            .map(|m| Message {
                role: m.role,
                content: self.redact(&m.content),
            })
            .collect();
        JsonAnswer {
            value,
            repaired,
            usage,
            transcript: Transcript { model, messages },
        }
    }

    /// POSTs `body` as JSON and reads a successful answer as `R`; every other
    /// outcome becomes its [`LlmError`].
    async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        url: &Url,
        body: &B,
        what: &str,
    ) -> Result<R, LlmError> {
        // A generation repeated has no effect beyond its cost: retried
        // after a 5xx like a read.
        let mut request = kiki_outbound::Idempotent::mark(
            self.outbound
                .post(url.as_str())
                .timeout(self.config.timeout)
                .json(body),
        );
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key.expose_secret());
        }
        let response = request.send().await.map_err(|e| match e {
            kiki_outbound::Error::Reqwest(e) => self.transport_error(e),
            kiki_outbound::Error::Middleware(e) => LlmError::Unavailable {
                status: None,
                message: self.redact(&format!("{e:#}")),
            },
        })?;
        let status = response.status();
        let retry_after = retry_after(response.headers(), SystemTime::now());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e))?;
        if !status.is_success() {
            let error = self.status_error(status, &bytes, retry_after);
            tracing::debug!(
                llm.endpoint = what,
                http.status_code = status.as_u16(),
                error = %error,
                "the language model provider refused the call"
            );
            return Err(error);
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            LlmError::Decode(format!(
                "The {what} answer is not the documented shape: {e}."
            ))
        })
    }

    /// A failure to connect, send or read in time.
    fn transport_error(&self, e: reqwest::Error) -> LlmError {
        if e.is_timeout() {
            return LlmError::Timeout;
        }
        let e = e.without_url();
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        LlmError::Unavailable {
            status: None,
            message: self.redact(&format!("{message}.")),
        }
    }

    /// The error for a response that is not a success.
    fn status_error(
        &self,
        status: StatusCode,
        body: &[u8],
        retry_after: Option<Duration>,
    ) -> LlmError {
        let reason = provider_reason(body).map(|r| self.redact(&r));
        match status.as_u16() {
            401 | 403 => LlmError::Unauthorized,
            408 => LlmError::Timeout,
            429 => LlmError::RateLimited { retry_after },
            404 => LlmError::Rejected {
                status: 404,
                message: reason.unwrap_or_else(|| {
                    "Not found; check that llm.base_url is the API root (such as \
                     https://api.openai.com/v1) and that llm.model is served there."
                        .to_owned()
                }),
            },
            code @ 400..=499 => LlmError::Rejected {
                status: code,
                message: reason.unwrap_or_else(|| "No reason was given.".to_owned()),
            },
            code => LlmError::Unavailable {
                status: Some(code),
                message: reason.unwrap_or_else(|| {
                    format!(
                        "{}.",
                        status.canonical_reason().unwrap_or("No reason was given")
                    )
                }),
            },
        }
    }
}

/// Reads the answer, cuts out the JSON object, deserialises and validates
/// it; each problem is a sentence the repair round can send back.
fn parse_answer<T: DeserializeOwned>(
    content: &str,
    validate: &impl Fn(&T) -> Vec<FieldError>,
) -> Result<T, Vec<String>> {
    let json = extract_json_object(content).map_err(|problem| vec![problem])?;
    let value: T = serde_json::from_str(json).map_err(|e| {
        vec![format!(
            "The JSON does not have the expected fields and types: {e}."
        )]
    })?;
    let errors = validate(&value);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(errors
            .iter()
            .map(|e| format!("`{}`: {}", e.field, e.message))
            .collect())
    }
}

/// The message of the repair round: every problem, then what to send.
fn repair_prompt(problems: &[String]) -> String {
    let mut prompt = String::from("Your answer could not be used:\n");
    for problem in problems {
        prompt.push_str("- ");
        prompt.push_str(problem);
        prompt.push('\n');
    }
    prompt.push_str("Reply with the corrected JSON object only, with no other text.");
    prompt
}

/// The provider's reason from an error body: OpenAI's
/// `{"error": {"message": …}}`, the `{"error": "…"}` of Ollama, a top-level
/// `message` or `detail`, or a short plain-text body.
fn provider_reason(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let reason = match serde_json::from_str::<serde_json::Value>(text) {
        Ok(json) => [
            json.pointer("/error/message"),
            json.get("error"),
            json.get("message"),
            json.get("detail"),
        ]
        .into_iter()
        .flatten()
        .find_map(|v| v.as_str())
        .map(str::to_owned)?,
        // An HTML error page from a proxy says nothing a person can act on.
        Err(_) if text.starts_with('<') => return None,
        Err(_) => text.to_owned(),
    };
    let reason = reason.trim();
    if reason.is_empty() {
        return None;
    }
    Some(match reason.char_indices().nth(MAX_REASON_CHARS) {
        Some((cut, _)) => format!("{}…", &reason[..cut]),
        None => reason.to_owned(),
    })
}

/// `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3).
fn retry_after(headers: &reqwest::header::HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    #[test]
    fn the_provider_reason_is_read_from_every_common_error_shape() {
        for (body, want) in [
            (
                r#"{"error":{"message":"The model `gpt-9` does not exist","type":"invalid_request_error"}}"#,
                Some("The model `gpt-9` does not exist"),
            ),
            (
                r#"{"error":"model 'llama9' not found"}"#,
                Some("model 'llama9' not found"),
            ),
            (
                r#"{"object":"error","message":"max_tokens is too large","code":400}"#,
                Some("max_tokens is too large"),
            ),
            (
                r#"{"detail":"Not authenticated"}"#,
                Some("Not authenticated"),
            ),
            ("upstream connect error", Some("upstream connect error")),
            ("<html><body>502 Bad Gateway</body></html>", None),
            (r#"{"error":{"code":500}}"#, None),
            ("", None),
            ("   ", None),
        ] {
            assert_eq!(provider_reason(body.as_bytes()).as_deref(), want, "{body}");
        }
        let long = "x".repeat(2_000);
        let cut = provider_reason(long.as_bytes()).expect("reason");
        assert_eq!(cut.chars().count(), MAX_REASON_CHARS + 1);
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let check = |value: &str, want: Option<Duration>| {
            let mut headers = HeaderMap::new();
            headers.insert(RETRY_AFTER, HeaderValue::from_str(value).expect("header"));
            assert_eq!(retry_after(&headers, now), want, "{value}");
        };
        check("7", Some(Duration::from_secs(7)));
        check(" 120 ", Some(Duration::from_secs(120)));
        check(
            &httpdate::fmt_http_date(now + Duration::from_secs(30)),
            Some(Duration::from_secs(30)),
        );
        check(
            &httpdate::fmt_http_date(now - Duration::from_secs(30)),
            Some(Duration::ZERO),
        );
        check("soon", None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn the_repair_prompt_names_every_problem() {
        let prompt = repair_prompt(&[
            "`headline`: The headline is too long.".to_owned(),
            "`cta`: The call to action is empty.".to_owned(),
        ]);
        assert!(prompt.contains("- `headline`: The headline is too long.\n"));
        assert!(prompt.contains("- `cta`: The call to action is empty.\n"));
        assert!(prompt.ends_with("corrected JSON object only, with no other text."));
    }

    #[test]
    fn an_answer_is_parsed_then_validated() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Ad {
            headline: String,
        }
        let no_rules = |_: &Ad| Vec::new();
        assert_eq!(
            parse_answer("```json\n{\"headline\":\"Hi\"}\n```", &no_rules),
            Ok(Ad {
                headline: "Hi".into()
            })
        );
        let missing = parse_answer::<Ad>("{\"title\":\"Hi\"}", &no_rules).unwrap_err();
        assert!(
            missing[0].contains("missing field `headline`"),
            "{missing:?}"
        );
        let too_long = |c: &Ad| {
            if c.headline.len() > 2 {
                vec![FieldError::new(
                    "headline",
                    "The headline is longer than 2 characters.",
                )]
            } else {
                Vec::new()
            }
        };
        assert_eq!(
            parse_answer::<Ad>("{\"headline\":\"Hello\"}", &too_long),
            Err(vec![
                "`headline`: The headline is longer than 2 characters.".to_owned()
            ])
        );
        assert_eq!(
            parse_answer::<Ad>("no json here", &too_long),
            Err(vec!["The answer contains no JSON object.".to_owned()])
        );
    }
}
