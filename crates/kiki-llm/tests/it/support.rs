//! What every test needs: a fake provider, an outbound client that retries
//! little and fast, settings pointing at the fake, and canned answers.

use std::time::Duration;

use kiki_llm::{LlmClient, LlmConfig};
use kiki_outbound::{OutboundClient, OutboundConfig};
use secrecy::SecretString;
use serde_json::{Value, json};
pub use wiremock::MockServer;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

/// The key the tests configure; it must never show up where it should not.
pub const KEY: &str = "sk-test-4f9a1c2e7b8d0a3f5e6c";

pub const CHAT_PATH: &str = "/v1/chat/completions";
pub const IMAGES_PATH: &str = "/v1/images/generations";

/// An outbound client making `max_attempts` attempts with waits of at most 20 ms.
pub fn outbound(max_attempts: u32) -> OutboundClient {
    OutboundClient::new(&OutboundConfig {
        max_attempts,
        backoff_base_ms: 1,
        backoff_max_ms: 20,
        ..OutboundConfig::default()
    })
    .expect("outbound client")
}

/// Settings for the fake at `server`, API root `/v1`, with the test key.
pub fn config(server: &MockServer) -> LlmConfig {
    LlmConfig {
        base_url: format!("{}/v1", server.uri()),
        model: "test-model".to_owned(),
        api_key: Some(SecretString::from(KEY)),
        timeout: Duration::from_secs(5),
        max_tokens: None,
        temperature: None,
        json_mode: false,
        image_model: None,
    }
}

/// A client for the fake with one attempt per call.
pub fn client(server: &MockServer) -> LlmClient {
    LlmClient::new(outbound(1), config(server)).expect("valid settings")
}

/// A chat completion answering `content` with 11 prompt and 7 completion tokens.
pub fn chat_body(content: &str) -> Value {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "test-model-2025-01-01",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}
    })
}

/// The fake answers the next chat call (only that one) with `content`.
pub async fn answer_once(server: &MockServer, content: &str) {
    Mock::given(method("POST"))
        .and(path(CHAT_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(chat_body(content)))
        .up_to_n_times(1)
        .expect(1)
        .mount(server)
        .await;
}

/// The fake answers every chat call with `response`.
pub async fn respond(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(CHAT_PATH))
        .respond_with(response)
        .mount(server)
        .await;
}

/// The JSON bodies of the requests the fake received, in order.
pub async fn request_bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .expect("recording is on")
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("a JSON body"))
        .collect()
}
