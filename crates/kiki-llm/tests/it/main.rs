//! The LLM port against a local fake of an OpenAI-compatible server
//! (wiremock): request shape, JSON answers and their repair round, provider
//! failures, images and the redacted transcript.

mod chat;
mod failures;
mod images;
mod json;
mod support;
