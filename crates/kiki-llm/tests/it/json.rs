//! JSON answers: extraction, validation, the one repair round and the
//! redacted transcript.

use kiki_core::FieldError;
use kiki_llm::{JSON_ONLY, LlmError, Role, TokenUsage};
use serde::Deserialize;

use crate::support::{self, KEY, answer_once, client};

#[derive(Debug, Clone, PartialEq, Deserialize)]
struct AdCopy {
    headline: String,
    description: String,
}

fn no_rules(_: &AdCopy) -> Vec<FieldError> {
    Vec::new()
}

/// A headline of at most 30 characters, as a platform would require.
fn short_headline(copy: &AdCopy) -> Vec<FieldError> {
    if copy.headline.chars().count() > 30 {
        vec![FieldError::new(
            "headline",
            "The headline is longer than 30 characters.",
        )]
    } else {
        Vec::new()
    }
}

fn copy(headline: &str) -> AdCopy {
    AdCopy {
        headline: headline.to_owned(),
        description: "Roasted daily.".to_owned(),
    }
}

#[tokio::test]
async fn a_valid_json_answer_is_returned_without_repair() {
    let server = support::MockServer::start().await;
    answer_once(
        &server,
        r#"{"headline": "Fresh coffee", "description": "Roasted daily."}"#,
    )
    .await;
    let answer = client(&server)
        .ask_json("You write ad copy.", "A coffee shop.", short_headline)
        .await
        .expect("answer");
    assert_eq!(answer.value, copy("Fresh coffee"));
    assert!(!answer.repaired);
    assert_eq!(answer.usage.total_tokens, 18);
    let roles: Vec<Role> = answer.transcript.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::System, Role::User, Role::Assistant]);
    assert_eq!(answer.transcript.model, "test-model-2025-01-01");
    let bodies = support::request_bodies(&server).await;
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        bodies[0]["messages"][0]["content"],
        format!("You write ad copy.\n\n{JSON_ONLY}")
    );
    assert_eq!(bodies[0]["messages"][1]["content"], "A coffee shop.");
}

#[tokio::test]
async fn json_inside_a_fence_with_prose_around_it_is_accepted() {
    let server = support::MockServer::start().await;
    answer_once(
        &server,
        "Here is your copy:\n```json\n{\"headline\": \"Fresh coffee\", \"description\": \"Roasted daily.\"}\n```\nEnjoy!",
    )
    .await;
    let answer = client(&server)
        .ask_json("You write ad copy.", "A coffee shop.", no_rules)
        .await
        .expect("answer");
    assert_eq!(answer.value, copy("Fresh coffee"));
    assert!(!answer.repaired);
}

#[tokio::test]
async fn malformed_json_is_repaired_on_the_second_call() {
    let server = support::MockServer::start().await;
    answer_once(&server, r#"{"headline": "Fresh coffee", "description": "#).await;
    answer_once(
        &server,
        r#"{"headline": "Fresh coffee", "description": "Roasted daily."}"#,
    )
    .await;
    let answer = client(&server)
        .ask_json("You write ad copy.", "A coffee shop.", no_rules)
        .await
        .expect("answer");
    assert_eq!(answer.value, copy("Fresh coffee"));
    assert!(answer.repaired);
    assert_eq!(
        answer.usage,
        TokenUsage {
            prompt_tokens: 22,
            completion_tokens: 14,
            total_tokens: 36
        }
    );
    let bodies = support::request_bodies(&server).await;
    assert_eq!(bodies.len(), 2);
    let second = bodies[1]["messages"].as_array().expect("messages");
    assert_eq!(second.len(), 4, "{second:?}");
    assert_eq!(second[2]["role"], "assistant");
    assert_eq!(
        second[2]["content"],
        r#"{"headline": "Fresh coffee", "description": "#
    );
    assert_eq!(second[3]["role"], "user");
    let repair = second[3]["content"].as_str().expect("text");
    assert!(repair.contains("The JSON object is not closed"), "{repair}");
    assert!(repair.contains("corrected JSON object only"), "{repair}");
    // The transcript holds both rounds and the final answer.
    assert_eq!(answer.transcript.messages.len(), 5);
    assert_eq!(answer.transcript.messages[3].content, repair);
}

#[tokio::test]
async fn a_missing_field_is_named_in_the_repair_round() {
    let server = support::MockServer::start().await;
    answer_once(&server, r#"{"headline": "Fresh coffee"}"#).await;
    answer_once(
        &server,
        r#"{"headline": "Fresh coffee", "description": "Roasted daily."}"#,
    )
    .await;
    let answer = client(&server)
        .ask_json("You write ad copy.", "A coffee shop.", no_rules)
        .await
        .expect("answer");
    assert!(answer.repaired);
    let bodies = support::request_bodies(&server).await;
    let repair = bodies[1]["messages"][3]["content"].as_str().expect("text");
    assert!(repair.contains("missing field `description`"), "{repair}");
}

#[tokio::test]
async fn an_answer_failing_validation_twice_is_invalid_and_names_the_field() {
    let server = support::MockServer::start().await;
    let too_long = r#"{"headline": "The freshest coffee in the whole wide city", "description": "Roasted daily."}"#;
    answer_once(&server, too_long).await;
    answer_once(&server, too_long).await;
    let err = client(&server)
        .ask_json("You write ad copy.", "A coffee shop.", short_headline)
        .await
        .expect_err("invalid twice");
    assert_eq!(
        err,
        LlmError::InvalidAnswer {
            problems: vec!["`headline`: The headline is longer than 30 characters.".to_owned()]
        }
    );
    let bodies = support::request_bodies(&server).await;
    assert_eq!(bodies.len(), 2, "exactly one repair round");
    let repair = bodies[1]["messages"][3]["content"].as_str().expect("text");
    assert!(
        repair.contains("- `headline`: The headline is longer than 30 characters."),
        "{repair}"
    );
}

#[tokio::test]
async fn the_transcript_holds_no_key_and_no_personal_data() {
    let server = support::MockServer::start().await;
    answer_once(
        &server,
        r#"{"headline": "Call +44 20 7946 0958", "description": "Roasted daily."}"#,
    )
    .await;
    let user = format!(
        "A coffee shop. Owner: jane.doe@example.com. Our key is {KEY}, card 4111 1111 1111 1111."
    );
    let answer = client(&server)
        .ask_json("You write ad copy.", &user, no_rules)
        .await
        .expect("answer");
    // The provider got the prompt as written; only the stored copy is redacted.
    let bodies = support::request_bodies(&server).await;
    assert_eq!(bodies[0]["messages"][1]["content"], user.as_str());
    let stored = serde_json::to_string(&answer.transcript).expect("json");
    for secret in [KEY, "jane.doe@example.com", "4111", "7946"] {
        assert!(!stored.contains(secret), "{secret} in {stored}");
    }
    assert_eq!(
        answer.transcript.messages[1].content,
        "A coffee shop. Owner: [redacted email]. Our key is [redacted secret], card [redacted card]."
    );
    assert!(
        answer.transcript.messages[2]
            .content
            .contains("Call [redacted phone]"),
        "{:?}",
        answer.transcript.messages[2]
    );
    // The value itself is what the model wrote: the caller decides what to keep.
    assert_eq!(answer.value.headline, "Call +44 20 7946 0958");
}
