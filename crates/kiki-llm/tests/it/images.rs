//! Image generation: the request, the two answer forms, and the missing
//! image model.

use kiki_llm::{ImageAnswer, LlmClient, LlmConfig, LlmError};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::{self, IMAGES_PATH, KEY, MockServer, config, outbound};

fn image_client(server: &MockServer) -> LlmClient {
    let settings = LlmConfig {
        image_model: Some("dall-e-3".to_owned()),
        ..config(server)
    };
    LlmClient::new(outbound(1), settings).expect("valid settings")
}

#[tokio::test]
async fn an_image_is_generated_and_its_url_returned() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(IMAGES_PATH))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "created": 1_700_000_000,
            "data": [{
                "url": "https://images.example.com/abc.png",
                "revised_prompt": "A steaming cup of coffee on a wooden table."
            }]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let image = image_client(&server)
        .generate_image("A cup of coffee", "1024x1024")
        .await
        .expect("image");
    assert_eq!(
        image,
        ImageAnswer {
            url: Some("https://images.example.com/abc.png".to_owned()),
            b64_json: None,
            revised_prompt: Some("A steaming cup of coffee on a wooden table.".to_owned()),
        }
    );
    assert_eq!(
        support::request_bodies(&server).await,
        vec![
            json!({"model": "dall-e-3", "prompt": "A cup of coffee", "size": "1024x1024", "n": 1})
        ]
    );
}

#[tokio::test]
async fn an_image_may_come_back_as_base64() {
    let server = MockServer::start().await;
    Mock::given(path(IMAGES_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": [{"b64_json": "iVBORw0KGgo="}]})),
        )
        .mount(&server)
        .await;
    let image = image_client(&server)
        .generate_image("A cup of coffee", "1024x1024")
        .await
        .expect("image");
    assert_eq!(image.b64_json.as_deref(), Some("iVBORw0KGgo="));
    assert_eq!(image.url, None);
}

#[tokio::test]
async fn an_image_answer_without_an_image_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(path(IMAGES_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{}]})))
        .mount(&server)
        .await;
    let err = image_client(&server)
        .generate_image("A cup of coffee", "1024x1024")
        .await
        .expect_err("no image");
    assert!(matches!(err, LlmError::Decode(_)), "{err:?}");
}

#[tokio::test]
async fn without_an_image_model_nothing_is_sent() {
    let server = MockServer::start().await;
    Mock::given(path(IMAGES_PATH))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let llm = LlmClient::new(outbound(1), config(&server)).expect("valid settings");
    let err = llm
        .generate_image("A cup of coffee", "1024x1024")
        .await
        .expect_err("no image model");
    let LlmError::NotConfigured(message) = &err else {
        panic!("not NotConfigured: {err:?}");
    };
    assert!(message.contains("llm.image_model"), "{message}");
}
