//! The Google Ads connector against a local fake of the REST interface and
//! of Google's OAuth endpoints (wiremock): the requests a launch sends, in
//! order; search paging and searchStream batches; failures and their typed
//! errors; the daily operations quota and Google's waits; OAuth.

mod breakdowns;
mod contract;
mod failures;
mod oauth;
mod quota;
mod reads;
mod support;
