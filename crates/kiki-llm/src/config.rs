//! Where the language model lives and how to ask it: the API root, the
//! models, the key and the request limits. One set of settings reaches any
//! OpenAI-compatible server (OpenAI, vLLM, Ollama, LiteLLM), so switching
//! provider is a change of `base_url`, `model` and key, not of code. The key
//! is a secret: `Debug` prints `***` in its place.

use std::time::Duration;

use reqwest::Url;
use secrecy::SecretString;

/// The longest a single call may be allowed to take.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// How to reach the language model.
#[derive(Clone)]
pub struct LlmConfig {
    /// The API root, the part before `/chat/completions`: for example
    /// `https://api.openai.com/v1`, `http://localhost:11434/v1` (Ollama),
    /// `http://localhost:8000/v1` (vLLM) or `http://localhost:4000` (LiteLLM).
    /// A trailing `/` does not matter, and a root with no path at all gets
    /// `/v1`, where every one of these servers serves the API. A query string
    /// (`?api-version=…`) is kept on every call.
    pub base_url: String,
    /// The chat model, as the provider names it (`gpt-4o-mini`, `llama3.1`).
    pub model: String,
    /// Sent as `Authorization: Bearer <key>` when set; local servers need none.
    pub api_key: Option<SecretString>,
    /// The longest one HTTP attempt may take, from connecting to the last byte
    /// of the answer; between 1 second and 10 minutes.
    pub timeout: Duration,
    /// The most tokens one answer may use (`max_tokens`); the provider's
    /// default when unset.
    pub max_tokens: Option<u32>,
    /// Sampling temperature; the provider's default when unset.
    pub temperature: Option<f32>,
    /// Ask for a JSON object (`response_format: {"type": "json_object"}`).
    /// Servers that support it then never answer with anything else; the
    /// answer is still checked, since not every server does.
    pub json_mode: bool,
    /// The image model (`dall-e-3`, `gpt-image-1`); image generation is off
    /// when unset.
    pub image_model: Option<String>,
}

impl LlmConfig {
    /// Settings for `model` at `base_url`, without a key, with a 60-second
    /// timeout, the provider's token and temperature defaults, JSON mode off
    /// and no image model.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        LlmConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            timeout: Duration::from_secs(60),
            max_tokens: None,
            temperature: None,
            json_mode: false,
            image_model: None,
        }
    }

    /// Everything wrong with these settings, each as a sentence naming the
    /// setting to fix (empty when they can work). [`crate::LlmClient::new`]
    /// refuses settings with problems.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        match Url::parse(self.base_url.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                if url
                    .path()
                    .trim_end_matches('/')
                    .ends_with("/chat/completions")
                {
                    p.push(format!(
                        "llm.base_url `{}` is an endpoint; give the API root before \
                         /chat/completions, such as https://api.openai.com/v1.",
                        self.base_url
                    ));
                }
            }
            _ => p.push(format!(
                "llm.base_url `{}` is not an http(s) URL; give the API root, such as \
                 https://api.openai.com/v1 or http://localhost:11434/v1.",
                self.base_url
            )),
        }
        if self.model.trim().is_empty() {
            p.push("llm.model is empty; name the chat model, such as gpt-4o-mini.".to_owned());
        }
        if self.timeout < Duration::from_secs(1) || self.timeout > MAX_TIMEOUT {
            p.push(format!(
                "llm.timeout must be between 1 and {} seconds (it is {} ms).",
                MAX_TIMEOUT.as_secs(),
                self.timeout.as_millis()
            ));
        }
        if let Some(t) = self.temperature
            && !(0.0..=2.0).contains(&t)
        {
            p.push(format!(
                "llm.temperature must be between 0 and 2 (it is {t})."
            ));
        }
        if self.max_tokens == Some(0) {
            p.push("llm.max_tokens must be at least 1 when set.".to_owned());
        }
        if self
            .image_model
            .as_deref()
            .is_some_and(|m| m.trim().is_empty())
        {
            p.push("llm.image_model is empty; name the image model or leave it unset.".to_owned());
        }
        p
    }

    /// The URL of `endpoint` (such as `chat/completions`) under the API root.
    /// `None` when `base_url` is not a URL ([`LlmConfig::problems`] says so).
    pub fn endpoint(&self, endpoint: &str) -> Option<Url> {
        let mut url = Url::parse(self.base_url.trim()).ok()?;
        let root = url.path().trim_end_matches('/');
        let root = if root.is_empty() { "/v1" } else { root };
        let path = format!("{root}/{}", endpoint.trim_start_matches('/'));
        url.set_path(&path);
        url.set_fragment(None);
        Some(url)
    }
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .field("max_tokens", &self.max_tokens)
            .field("temperature", &self.temperature)
            .field("json_mode", &self.json_mode)
            .field("image_model", &self.image_model)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base_url: &str) -> LlmConfig {
        LlmConfig::new(base_url, "gpt-4o-mini")
    }

    #[test]
    fn endpoints_join_the_api_root_whatever_its_ending() {
        for (base, want) in [
            (
                "https://api.openai.com/v1",
                "https://api.openai.com/v1/chat/completions",
            ),
            (
                "https://api.openai.com/v1/",
                "https://api.openai.com/v1/chat/completions",
            ),
            (
                "http://localhost:11434/v1",
                "http://localhost:11434/v1/chat/completions",
            ),
            (
                "http://localhost:11434",
                "http://localhost:11434/v1/chat/completions",
            ),
            (
                "http://localhost:11434/",
                "http://localhost:11434/v1/chat/completions",
            ),
            (
                "https://openrouter.ai/api/v1",
                "https://openrouter.ai/api/v1/chat/completions",
            ),
            (
                "https://gw.example.com/openai//",
                "https://gw.example.com/openai/chat/completions",
            ),
            (
                "https://gw.example.com/llm?api-version=2024-06-01",
                "https://gw.example.com/llm/chat/completions?api-version=2024-06-01",
            ),
            (
                " https://api.openai.com/v1 ",
                "https://api.openai.com/v1/chat/completions",
            ),
        ] {
            let got = config(base).endpoint("chat/completions").map(String::from);
            assert_eq!(got.as_deref(), Some(want), "{base}");
        }
        assert_eq!(
            config("https://api.openai.com/v1")
                .endpoint("images/generations")
                .map(String::from)
                .as_deref(),
            Some("https://api.openai.com/v1/images/generations")
        );
        assert_eq!(config("not a url").endpoint("chat/completions"), None);
    }

    #[test]
    fn problems_name_the_setting_to_fix() {
        assert!(config("https://api.openai.com/v1").problems().is_empty());
        let check = |c: LlmConfig, needle: &str| {
            let p = c.problems();
            assert!(p.iter().any(|m| m.contains(needle)), "{needle}: {p:?}");
            assert!(p.iter().all(|m| m.ends_with('.')), "not sentences: {p:?}");
        };
        check(config("ftp://files.example.com/v1"), "llm.base_url");
        check(config("localhost:11434/v1"), "llm.base_url");
        check(config(""), "llm.base_url");
        check(
            config("https://api.openai.com/v1/chat/completions"),
            "is an endpoint",
        );
        check(
            LlmConfig::new("http://localhost:11434/v1", " "),
            "llm.model",
        );
        for timeout in [
            Duration::ZERO,
            Duration::from_millis(999),
            Duration::from_secs(601),
        ] {
            check(
                LlmConfig {
                    timeout,
                    ..config("https://api.openai.com/v1")
                },
                "llm.timeout",
            );
        }
        for timeout in [Duration::from_secs(1), Duration::from_secs(600)] {
            let c = LlmConfig {
                timeout,
                ..config("https://api.openai.com/v1")
            };
            assert!(c.problems().is_empty(), "{timeout:?}");
        }
        check(
            LlmConfig {
                temperature: Some(3.5),
                ..config("https://api.openai.com/v1")
            },
            "llm.temperature",
        );
        check(
            LlmConfig {
                max_tokens: Some(0),
                ..config("https://api.openai.com/v1")
            },
            "llm.max_tokens",
        );
        check(
            LlmConfig {
                image_model: Some(String::new()),
                ..config("https://api.openai.com/v1")
            },
            "llm.image_model",
        );
    }

    #[test]
    fn debug_never_prints_the_key() {
        let c = LlmConfig {
            api_key: Some(SecretString::from("sk-live-hunter2-0123456789abcdef")),
            ..config("https://api.openai.com/v1")
        };
        let printed = format!("{c:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("api_key: Some(\"***\")"), "{printed}");
        assert!(printed.contains("gpt-4o-mini"), "{printed}");
    }
}
