//! The Meta connector against a local fake Graph API.

mod breakdowns;
mod errors;
mod insights;
mod launch;
mod oauth;
mod objects;
mod support;
