//! Chat completions: the request the provider receives and the answer read
//! back.

use std::time::Duration;

use kiki_llm::{LlmClient, LlmConfig, Message, TokenUsage};
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{self, CHAT_PATH, KEY, answer_once, chat_body, client, config, outbound};

#[tokio::test]
async fn a_chat_answer_carries_content_usage_model_and_finish_reason() {
    let server = MockServer::start().await;
    answer_once(&server, "Fresh beans, roasted daily.").await;
    let answer = client(&server)
        .chat(&[Message::user("Write a headline for a coffee shop.")])
        .await
        .expect("answer");
    assert_eq!(answer.content, "Fresh beans, roasted daily.");
    assert_eq!(answer.model, "test-model-2025-01-01");
    assert_eq!(answer.finish_reason.as_deref(), Some("stop"));
    assert_eq!(
        answer.usage,
        TokenUsage {
            prompt_tokens: 11,
            completion_tokens: 7,
            total_tokens: 18
        }
    );
}

#[tokio::test]
async fn the_request_body_has_model_messages_limits_and_json_mode() {
    let server = MockServer::start().await;
    answer_once(&server, "{}").await;
    let settings = LlmConfig {
        json_mode: true,
        max_tokens: Some(300),
        temperature: Some(0.5),
        ..config(&server)
    };
    let llm = LlmClient::new(outbound(1), settings).expect("valid settings");
    llm.chat(&[Message::system("Be brief."), Message::user("Hi")])
        .await
        .expect("answer");
    let bodies = support::request_bodies(&server).await;
    assert_eq!(
        bodies,
        vec![json!({
            "model": "test-model",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Hi"}
            ],
            "max_tokens": 300,
            "temperature": 0.5,
            "response_format": {"type": "json_object"}
        })]
    );
}

#[tokio::test]
async fn without_json_mode_or_limits_only_model_and_messages_are_sent() {
    let server = MockServer::start().await;
    answer_once(&server, "Hello").await;
    client(&server)
        .chat(&[Message::user("Hi")])
        .await
        .expect("answer");
    let bodies = support::request_bodies(&server).await;
    assert_eq!(
        bodies,
        vec![json!({"model": "test-model", "messages": [{"role": "user", "content": "Hi"}]})]
    );
}

#[tokio::test]
async fn the_key_is_sent_as_a_bearer_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(CHAT_PATH))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(chat_body("ok")))
        .expect(1)
        .mount(&server)
        .await;
    let answer = client(&server).chat(&[Message::user("Hi")]).await;
    assert_eq!(answer.expect("answer").content, "ok");
}

#[tokio::test]
async fn no_authorization_header_is_sent_without_a_key() {
    let server = MockServer::start().await;
    answer_once(&server, "ok").await;
    let settings = LlmConfig {
        api_key: None,
        ..config(&server)
    };
    let llm = LlmClient::new(outbound(1), settings).expect("valid settings");
    llm.chat(&[Message::user("Hi")]).await.expect("answer");
    let requests = server.received_requests().await.expect("recording is on");
    assert_eq!(requests.len(), 1);
    assert!(
        !requests[0].headers.contains_key("authorization"),
        "{:?}",
        requests[0].headers
    );
}

#[tokio::test]
async fn the_endpoint_is_joined_to_the_api_root_however_it_is_written() {
    for (root, endpoint) in [
        ("/v1", "/v1/chat/completions"),
        ("/v1/", "/v1/chat/completions"),
        ("", "/v1/chat/completions"),
        ("/", "/v1/chat/completions"),
        ("/proxy/openai", "/proxy/openai/chat/completions"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(endpoint))
            .respond_with(ResponseTemplate::new(200).set_body_json(chat_body("ok")))
            .expect(1)
            .mount(&server)
            .await;
        let settings = LlmConfig {
            base_url: format!("{}{root}", server.uri()),
            ..config(&server)
        };
        let llm = LlmClient::new(outbound(1), settings).expect("valid settings");
        let answer = llm.chat(&[Message::user("Hi")]).await;
        assert_eq!(answer.expect(root).content, "ok", "{root}");
        server.verify().await;
    }
}

#[tokio::test]
async fn a_model_that_sends_no_usage_or_model_gets_zero_usage_and_the_configured_model() {
    let server = MockServer::start().await;
    support::respond(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({
            "choices": [{"message": {"role": "assistant", "content": "ok"}}]
        })),
    )
    .await;
    let answer = client(&server)
        .chat(&[Message::user("Hi")])
        .await
        .expect("answer");
    assert_eq!(answer.usage, TokenUsage::default());
    assert_eq!(answer.model, "test-model");
    assert_eq!(answer.finish_reason, None);
}

#[tokio::test]
async fn the_configured_timeout_applies_to_each_call() {
    let server = MockServer::start().await;
    // Answers in 300 ms, inside a 1-second timeout: the call succeeds.
    Mock::given(body_partial_json(json!({"model": "test-model"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(chat_body("ok"))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&server)
        .await;
    let settings = LlmConfig {
        timeout: Duration::from_secs(1),
        ..config(&server)
    };
    let llm = LlmClient::new(outbound(1), settings).expect("valid settings");
    assert_eq!(
        llm.chat(&[Message::user("Hi")])
            .await
            .expect("answer")
            .content,
        "ok"
    );
}
