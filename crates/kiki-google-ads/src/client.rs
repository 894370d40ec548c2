//! The connector's state and its three ways of talking to the REST
//! interface: `googleAds:search` (paged by `nextPageToken`),
//! `googleAds:searchStream` (an array of result batches) and the
//! `<resources>:mutate` endpoints (sent with `partialFailure: true`). Every
//! call carries `Authorization: Bearer`, the `developer-token` and, when the
//! account is reached through a manager account, `login-customer-id`; every
//! call is admitted by the account's quota book first and goes through the
//! shared [`OutboundClient`] (timeouts, retries with backoff on 429 and 5xx).
//!
//! Google Ads keeps the budget on the campaign, not on the ad group, and has
//! no creative apart from the ad, so the connector keeps two things in
//! memory: the responsive search ad copy it was handed
//! ([`crate::rsa`]) and a budget ledger: for each campaign it created, its
//! budget, whether that budget is the sum of its ad groups' (KIKI asked for
//! no campaign budget) and each ad group's share.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use kiki_outbound::OutboundClient;
use kiki_platforms::{AccountRef, PlatformError};
use serde_json::{Value, json};

use crate::config::GoogleAdsConfig;
use crate::error;
use crate::quota::{Clock, QuotaBook, system_clock};
use crate::rsa::RsaCopy;

/// How a campaign bids, as the connector set it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Bidding {
    /// `maximizeConversionValue`, with a target ROAS (basis points) when set.
    ConversionValue { target_roas_bps: Option<u32> },
    /// `maximizeConversions`, with a target CPA (micros) when set.
    Conversions { target_cpa_micros: Option<i64> },
    /// `targetSpend` (maximise clicks).
    Clicks,
}

#[derive(Debug, Clone)]
pub(crate) struct CampaignEntry {
    /// `customers/{c}/campaignBudgets/{id}`.
    pub budget: String,
    pub amount_micros: i64,
    /// The budget is the sum of the ad groups' daily budgets.
    pub sums_ad_sets: bool,
    pub bidding: Bidding,
}

#[derive(Debug, Clone)]
pub(crate) struct AdGroupEntry {
    pub campaign_id: String,
    pub daily_budget_micros: i64,
}

#[derive(Default)]
pub(crate) struct Ledger {
    /// (account, campaign id) →
    pub campaigns: HashMap<(String, String), CampaignEntry>,
    /// (account, ad group id) →
    pub ad_groups: HashMap<(String, String), AdGroupEntry>,
}

/// The Google Ads API connector: implements [`kiki_platforms::AdPlatform`].
pub struct GoogleAds {
    pub(crate) http: OutboundClient,
    pub(crate) config: GoogleAdsConfig,
    pub(crate) clock: Clock,
    pub(crate) quota: QuotaBook,
    /// (account, `rsa:<kiki_id>`) → the checked copy.
    pub(crate) creatives: Mutex<HashMap<(String, String), RsaCopy>>,
    pub(crate) ledger: Mutex<Ledger>,
}

impl std::fmt::Debug for GoogleAds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GoogleAds")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> PlatformError {
    PlatformError::InvalidRequest {
        field: Some(field.to_owned()),
        message: message.into(),
    }
}

/// An id Google spells in digits (customer, campaign, ad group and ad ids).
pub(crate) fn digits<'a>(field: &str, id: &'a str) -> Result<&'a str, PlatformError> {
    let id = id.trim();
    if id.is_empty() || id.len() > 20 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            field,
            format!("`{id}` is not a Google Ads id (digits only, no dashes)"),
        ));
    }
    Ok(id)
}

/// The last segment of a resource name: `customers/1/campaigns/22` → `22`.
pub(crate) fn id_of(resource_name: &str) -> String {
    resource_name
        .rsplit('/')
        .next()
        .unwrap_or(resource_name)
        .to_owned()
}

/// The gRPC status name of a numeric `google.rpc.Status.code`.
fn grpc_name(code: i64) -> Option<&'static str> {
    Some(match code {
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        16 => "UNAUTHENTICATED",
        _ => return None,
    })
}

impl GoogleAds {
    /// A connector reading the system clock.
    pub fn new(client: OutboundClient, config: GoogleAdsConfig) -> Self {
        Self::with_clock(client, config, system_clock())
    }

    /// A connector reading `clock` (the quota's UTC day and Google's waits).
    pub fn with_clock(client: OutboundClient, config: GoogleAdsConfig, clock: Clock) -> Self {
        GoogleAds {
            http: client,
            quota: QuotaBook::new(config.daily_operations_limit, clock.clone()),
            config,
            clock,
            creatives: Mutex::new(HashMap::new()),
            ledger: Mutex::new(Ledger::default()),
        }
    }

    pub(crate) fn customer<'a>(&self, account: &'a AccountRef) -> Result<&'a str, PlatformError> {
        digits("account_id", &account.account_id)
    }

    /// POSTs `body` to `{root}/customers/{id}/{method}` after the quota book
    /// admits `operations`; the answer's JSON or its error.
    pub(crate) async fn post(
        &self,
        account: &AccountRef,
        method: &str,
        body: &Value,
        operations: u64,
    ) -> Result<Value, PlatformError> {
        let customer = self.customer(account)?;
        let login = match &account.login_customer_id {
            Some(l) if !l.trim().is_empty() => Some(digits("login_customer_id", l)?),
            _ => None,
        };
        self.quota.admit(customer, operations)?;
        let url = format!("{}/customers/{customer}/{method}", self.config.api_root());
        let mut request = self
            .http
            .post(&url)
            .bearer_auth(&account.access_token)
            .header("developer-token", self.config.developer_token())
            .json(body);
        // Queries are reads sent as POST: safe to send again after a 5xx.
        // Mutates are not (a create may have happened before the error).
        if method.starts_with("googleAds:search") {
            request = kiki_outbound::Idempotent::mark(request);
        }
        if let Some(login) = login {
            request = request.header("login-customer-id", login);
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                error::parse_duration(v).or_else(|| {
                    let at = httpdate_parse(v)?;
                    Some(
                        at.duration_since(SystemTime::now())
                            .unwrap_or(Duration::ZERO),
                    )
                })
            });
        let bytes = response.bytes().await.map_err(|e| transport(e.into()))?;
        if !status.is_success() {
            let e = error::from_response(status.as_u16(), &bytes, retry_after);
            if let PlatformError::RateLimited {
                retry_after_secs, ..
            } = &e
            {
                self.quota.throttled(customer, *retry_after_secs);
            }
            tracing::debug!(
                google_ads.method = method,
                http.status_code = status.as_u16(),
                error = %e,
                "Google Ads refused the call"
            );
            return Err(e);
        }
        serde_json::from_slice(&bytes).map_err(|e| PlatformError::Transient {
            message: format!("Google Ads answered {method} with a body that is not JSON: {e}"),
        })
    }

    /// Runs a GAQL query through `googleAds:search`, following
    /// `nextPageToken` to the last page. One query is one operation however
    /// many pages it has (Google's rate sheet).
    pub(crate) async fn search(
        &self,
        account: &AccountRef,
        query: &str,
    ) -> Result<Vec<Value>, PlatformError> {
        let mut rows = Vec::new();
        let mut page_token: Option<String> = None;
        let mut pages = 0u32;
        loop {
            let mut body = json!({ "query": query });
            if let Some(t) = &page_token {
                body["pageToken"] = json!(t);
            }
            let operations = if pages == 0 { 1 } else { 0 };
            let answer = self
                .post(account, "googleAds:search", &body, operations)
                .await?;
            pages += 1;
            if let Some(results) = answer.get("results").and_then(Value::as_array) {
                rows.extend(results.iter().cloned());
            }
            match answer.get("nextPageToken").and_then(Value::as_str) {
                Some(t) if !t.is_empty() && page_token.as_deref() != Some(t) => {
                    page_token = Some(t.to_owned());
                }
                _ => return Ok(rows),
            }
            if pages >= 10_000 {
                return Err(PlatformError::Transient {
                    message: "Google Ads kept answering further pages; stopped after 10,000"
                        .to_owned(),
                });
            }
        }
    }

    /// Runs a GAQL query through `googleAds:searchStream`: the answer is an
    /// array of batches, each with its `results`; every batch's rows.
    pub(crate) async fn search_stream(
        &self,
        account: &AccountRef,
        query: &str,
    ) -> Result<Vec<Value>, PlatformError> {
        let answer = self
            .post(
                account,
                "googleAds:searchStream",
                &json!({ "query": query }),
                1,
            )
            .await?;
        let batches = match answer {
            Value::Array(b) => b,
            single @ Value::Object(_) => vec![single],
            _ => Vec::new(),
        };
        let mut rows = Vec::new();
        for batch in batches {
            if let Some(e) = batch.get("error") {
                let status = error::Status::parse(e);
                return Err(error::classify(500, &status, None));
            }
            if let Some(Value::Array(results)) = batch.get("results") {
                rows.extend(results.iter().cloned());
            }
        }
        Ok(rows)
    }

    /// Sends `operations` to `{resources}:mutate` with `partialFailure:
    /// true`; the resource names of the results, in operation order. A
    /// `partialFailureError` becomes the error of its first failed operation
    /// (naming the field path), as a whole failure does.
    pub(crate) async fn mutate(
        &self,
        account: &AccountRef,
        resources: &str,
        operations: Vec<Value>,
    ) -> Result<Vec<String>, PlatformError> {
        let count = operations.len() as u64;
        let answer = self
            .post(
                account,
                &format!("{resources}:mutate"),
                &json!({ "operations": operations, "partialFailure": true }),
                count,
            )
            .await?;
        if let Some(pf) = answer.get("partialFailureError")
            && pf.as_object().is_some_and(|o| !o.is_empty())
        {
            let mut status = error::Status::parse(pf);
            if status.status.is_none() {
                status.status = pf
                    .get("code")
                    .and_then(Value::as_i64)
                    .and_then(grpc_name)
                    .map(str::to_owned);
            }
            return Err(error::classify(400, &status, None));
        }
        Ok(answer
            .get("results")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|r| {
                r.get("resourceName")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect())
    }

    /// The one resource name a one-operation mutate created.
    pub(crate) async fn mutate_one(
        &self,
        account: &AccountRef,
        resources: &str,
        operation: Value,
    ) -> Result<String, PlatformError> {
        let names = self.mutate(account, resources, vec![operation]).await?;
        match names.into_iter().next() {
            Some(n) if !n.is_empty() => Ok(n),
            _ => Err(PlatformError::Transient {
                message: format!("Google Ads answered {resources}:mutate without a resource name"),
            }),
        }
    }
}

fn httpdate_parse(v: &str) -> Option<SystemTime> {
    // `Retry-After` as an HTTP date (RFC 9110 §10.2.3), IMF-fixdate form.
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let dt = time::PrimitiveDateTime::parse(v.trim(), &fmt).ok()?;
    Some(dt.assume_utc().into())
}

/// A failure to connect, send or read in time.
pub(crate) fn transport(e: kiki_outbound::Error) -> PlatformError {
    let message = match e {
        kiki_outbound::Error::Reqwest(e) => {
            let e = e.without_url();
            let mut m = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(cause) = source {
                m.push_str(": ");
                m.push_str(&cause.to_string());
                source = cause.source();
            }
            m
        }
        kiki_outbound::Error::Middleware(e) => format!("{e:#}"),
    };
    PlatformError::Transient {
        message: format!("Google Ads could not be reached: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_digits_and_resource_names_end_in_them() {
        assert_eq!(digits("account_id", " 1234567890 ").unwrap(), "1234567890");
        assert!(digits("account_id", "123-456-7890").is_err());
        assert!(digits("campaign_ids", "1 OR 1=1").is_err());
        assert_eq!(id_of("customers/1/campaigns/22"), "22");
        assert_eq!(id_of("customers/1/adGroupAds/5~7"), "5~7");
        assert!(httpdate_parse("Wed, 21 Oct 2015 07:28:00 GMT").is_some());
    }
}
