//! Provider failures: each becomes the one `LlmError` variant a caller acts
//! on, after the outbound client's own retries, and none carries the key.

use std::time::{Duration, Instant, SystemTime};

use kiki_llm::{LlmClient, LlmConfig, LlmError, Message};
use serde_json::json;
use wiremock::ResponseTemplate;

use crate::support::{self, KEY, MockServer, client, config, outbound, respond};

async fn chat_error(llm: &LlmClient) -> LlmError {
    llm.chat(&[Message::user("Hi")])
        .await
        .expect_err("the call fails")
}

#[tokio::test]
async fn an_answer_slower_than_the_timeout_is_a_timeout() {
    let server = MockServer::start().await;
    respond(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(support::chat_body("too late"))
            .set_delay(Duration::from_secs(4)),
    )
    .await;
    let settings = LlmConfig {
        timeout: Duration::from_secs(1),
        ..config(&server)
    };
    let llm = LlmClient::new(outbound(1), settings).expect("valid settings");
    let started = Instant::now();
    assert_eq!(chat_error(&llm).await, LlmError::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_429_after_the_retries_is_rate_limited_with_the_servers_wait() {
    let server = MockServer::start().await;
    respond(
        &server,
        ResponseTemplate::new(429)
            .insert_header("retry-after", "7")
            .set_body_json(json!({"error": {"message": "Rate limit reached", "type": "requests"}})),
    )
    .await;
    // Two attempts: the outbound client retries once (its wait capped at
    // 20 ms), then the port reports the provider's last answer.
    let llm = LlmClient::new(outbound(2), config(&server)).expect("valid settings");
    let started = Instant::now();
    assert_eq!(
        chat_error(&llm).await,
        LlmError::RateLimited {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(support::request_bodies(&server).await.len(), 2);
}

#[tokio::test]
async fn a_retry_after_date_is_read_as_the_time_until_it() {
    let server = MockServer::start().await;
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
    respond(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", at.as_str()),
    )
    .await;
    let LlmError::RateLimited {
        retry_after: Some(wait),
    } = chat_error(&client(&server)).await
    else {
        panic!("not a rate limit with a wait");
    };
    assert!(
        (Duration::from_secs(115)..=Duration::from_secs(120)).contains(&wait),
        "{wait:?}"
    );
}

#[tokio::test]
async fn a_429_without_retry_after_is_rate_limited_without_a_wait() {
    let server = MockServer::start().await;
    respond(&server, ResponseTemplate::new(429)).await;
    assert_eq!(
        chat_error(&client(&server)).await,
        LlmError::RateLimited { retry_after: None }
    );
}

#[tokio::test]
async fn a_refused_key_is_unauthorized() {
    for status in [401, 403] {
        let server = MockServer::start().await;
        respond(
            &server,
            ResponseTemplate::new(status).set_body_json(json!({
                "error": {"message": format!("Incorrect API key provided: {KEY}."), "type": "invalid_request_error"}
            })),
        )
        .await;
        let err = chat_error(&client(&server)).await;
        assert_eq!(err, LlmError::Unauthorized, "{status}");
        assert!(!format!("{err} {err:?}").contains(KEY));
    }
}

#[tokio::test]
async fn a_400_is_rejected_with_the_providers_message() {
    let server = MockServer::start().await;
    respond(
        &server,
        ResponseTemplate::new(400).set_body_json(json!({
            "error": {
                "message": "This model's maximum context length is 8192 tokens.",
                "type": "invalid_request_error",
                "code": "context_length_exceeded"
            }
        })),
    )
    .await;
    assert_eq!(
        chat_error(&client(&server)).await,
        LlmError::Rejected {
            status: 400,
            message: "This model's maximum context length is 8192 tokens.".to_owned()
        }
    );
}

#[tokio::test]
async fn a_provider_message_that_repeats_the_key_is_redacted() {
    let server = MockServer::start().await;
    respond(
        &server,
        ResponseTemplate::new(422).set_body_string(format!("key {KEY} may not call this model")),
    )
    .await;
    let err = chat_error(&client(&server)).await;
    assert_eq!(
        err,
        LlmError::Rejected {
            status: 422,
            message: "key [redacted secret] may not call this model".to_owned()
        }
    );
}

#[tokio::test]
async fn a_server_error_after_the_retries_is_unavailable() {
    let server = MockServer::start().await;
    respond(
        &server,
        ResponseTemplate::new(503)
            .set_body_json(json!({"error": {"message": "The engine is overloaded."}})),
    )
    .await;
    let llm = LlmClient::new(outbound(3), config(&server)).expect("valid settings");
    assert_eq!(
        chat_error(&llm).await,
        LlmError::Unavailable {
            status: Some(503),
            message: "The engine is overloaded.".to_owned()
        }
    );
    assert_eq!(support::request_bodies(&server).await.len(), 3);
}

#[tokio::test]
async fn a_provider_that_cannot_be_reached_is_unavailable() {
    // Port 1 (tcpmux) is closed on any machine that runs the tests; a port
    // freed by a test server could be taken by another test meanwhile.
    let settings = LlmConfig::new("http://127.0.0.1:1/v1", "test-model");
    let llm = LlmClient::new(outbound(1), settings).expect("valid settings");
    let err = chat_error(&llm).await;
    let LlmError::Unavailable {
        status: None,
        message,
    } = &err
    else {
        panic!("not unavailable: {err:?}");
    };
    assert!(!message.is_empty());
    assert!(
        err.to_string()
            .starts_with("The language model provider could not be reached"),
        "{err}"
    );
}

#[tokio::test]
async fn a_success_that_is_not_a_chat_completion_is_a_decode_error() {
    for body in [
        ResponseTemplate::new(200).set_body_json(json!({"result": "ok"})),
        ResponseTemplate::new(200).set_body_string("<html>Welcome to nginx</html>"),
        ResponseTemplate::new(200).set_body_json(json!({"choices": []})),
    ] {
        let server = MockServer::start().await;
        respond(&server, body).await;
        let err = chat_error(&client(&server)).await;
        assert!(matches!(err, LlmError::Decode(_)), "{err:?}");
    }
}

#[tokio::test]
async fn a_refusal_is_an_invalid_answer_with_the_models_reason() {
    let server = MockServer::start().await;
    respond(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({
            "model": "test-model",
            "choices": [{
                "message": {"role": "assistant", "content": null, "refusal": "I can't help with that."},
                "finish_reason": "stop"
            }]
        })),
    )
    .await;
    assert_eq!(
        chat_error(&client(&server)).await,
        LlmError::InvalidAnswer {
            problems: vec!["The model refused: I can't help with that.".to_owned()]
        }
    );
}

#[tokio::test]
async fn settings_with_problems_build_no_client() {
    let server = MockServer::start().await;
    let settings = LlmConfig {
        base_url: "localhost:11434".to_owned(),
        model: String::new(),
        ..config(&server)
    };
    let Err(LlmError::NotConfigured(message)) = LlmClient::new(outbound(1), settings) else {
        panic!("built a client from unusable settings");
    };
    assert!(message.contains("llm.base_url"), "{message}");
    assert!(message.contains("llm.model"), "{message}");
}
