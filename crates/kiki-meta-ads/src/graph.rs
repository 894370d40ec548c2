//! The Graph API over the shared [`OutboundClient`] (its timeouts, retries
//! with backoff and `Retry-After` apply to every call): the access token in
//! the `Authorization: Bearer` header (never in a URL or a log), the
//! `appsecret_proof` (HMAC-SHA256 of the token keyed by the app secret, hex)
//! on every call when an app secret is set, the usage headers of every answer
//! recorded per ad account, calls refused locally while the account must
//! wait, and failed answers mapped onto [`PlatformError`].

use std::time::Instant;

use hmac::{Hmac, KeyInit, Mac};
use kiki_outbound::{OutboundClient, RequestBuilder};
use kiki_platforms::PlatformError;
use reqwest::Url;
use serde_json::Value;
use sha2::Sha256;

use crate::config::MetaConfig;
use crate::error::{GraphError, map_error, map_graph_error};
use crate::quota::{Quotas, parse_usage};

/// Form or query parameters, in the order they are sent.
pub(crate) type Params = Vec<(&'static str, String)>;

/// The Graph API as the connector calls it.
#[derive(Debug)]
pub(crate) struct Graph {
    client: OutboundClient,
    pub(crate) config: MetaConfig,
    pub(crate) quotas: Quotas,
}

/// Who a call is made as, and for which ad account's quota.
#[derive(Clone, Copy)]
pub(crate) struct Caller<'a> {
    /// The ad account whose quota the call counts against, if any.
    pub account: Option<&'a str>,
    /// The user access token, if the call carries one.
    pub token: Option<&'a str>,
}

/// HMAC-SHA256 of `token` keyed by `secret`, lower-case hex: Meta's
/// `appsecret_proof`.
pub(crate) fn appsecret_proof(secret: &str, token: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    mac.update(token.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn transport_error(e: kiki_outbound::Error) -> PlatformError {
    // The URL may carry OAuth parameters (the code, the client secret): it is
    // left out of the message.
    let message = match e {
        kiki_outbound::Error::Reqwest(r) => r.without_url().to_string(),
        kiki_outbound::Error::Middleware(m) => m.to_string(),
    };
    PlatformError::Transient {
        message: format!("Meta could not be reached: {message}"),
    }
}

impl Graph {
    pub(crate) fn new(client: OutboundClient, config: MetaConfig) -> Self {
        Graph {
            client,
            config,
            quotas: Quotas::default(),
        }
    }

    /// The proof parameter for `token`, when an app secret is set.
    fn proof(&self, token: Option<&str>) -> Option<(&'static str, String)> {
        let (secret, token) = (self.config.secret()?, token?);
        Some(("appsecret_proof", appsecret_proof(secret, token)))
    }

    /// `GET {version}/{path}` with `params` in the query.
    pub(crate) async fn get(
        &self,
        caller: Caller<'_>,
        path: &str,
        params: Params,
    ) -> Result<Value, PlatformError> {
        let mut query = params;
        query.extend(self.proof(caller.token));
        let req = self.client.get(&self.config.url(path)).query(&query);
        self.send(caller, req).await
    }

    /// `GET` of a paging URL Meta handed out (`paging.next`). Only a URL on
    /// the configured Graph host is followed (the token goes with it); any
    /// token or proof in it is replaced by the caller's.
    pub(crate) async fn get_next(
        &self,
        caller: Caller<'_>,
        next: &str,
    ) -> Result<Value, PlatformError> {
        let bad = |why: &str| PlatformError::Transient {
            message: format!("Meta's next page link was not followed: {why}"),
        };
        let mut url = Url::parse(next).map_err(|_| bad("it is not a URL"))?;
        let base = Url::parse(&self.config.graph_base_url).map_err(|_| bad("no Graph root"))?;
        if url.origin() != base.origin() {
            return Err(bad("it points away from the Graph API"));
        }
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "access_token" && k != "appsecret_proof")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        {
            let mut q = url.query_pairs_mut();
            q.clear();
            for (k, v) in &kept {
                q.append_pair(k, v);
            }
            if let Some((k, v)) = self.proof(caller.token) {
                q.append_pair(k, &v);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let req = self.client.get(url.as_str());
        self.send(caller, req).await
    }

    /// `POST {version}/{path}` with `params` as a form body.
    pub(crate) async fn post(
        &self,
        caller: Caller<'_>,
        path: &str,
        params: Params,
    ) -> Result<Value, PlatformError> {
        let mut form = params;
        form.extend(self.proof(caller.token));
        let mut req = self.client.post(&self.config.url(path)).form(&form);
        // A POST to a node (`/{id}` with fields) updates it to the values
        // given, so sending it again does no harm; a POST to an edge
        // (`act_…/campaigns`) creates, and a batch may, so those are not
        // sent again after a 5xx that may have followed the create.
        if !path.is_empty() && !path.contains('/') {
            req = kiki_outbound::Idempotent::mark(req);
        }
        self.send(caller, req).await
    }

    /// `DELETE {version}/{path}`.
    pub(crate) async fn delete(
        &self,
        caller: Caller<'_>,
        path: &str,
    ) -> Result<Value, PlatformError> {
        let query: Params = self.proof(caller.token).into_iter().collect();
        let req = self
            .client
            .http()
            .delete(self.config.url(path))
            .query(&query);
        self.send(caller, req).await
    }

    async fn send(&self, caller: Caller<'_>, req: RequestBuilder) -> Result<Value, PlatformError> {
        if let Some(account) = caller.account
            && let Some(q) = self.quotas.state(account, Instant::now())
            && q.should_back_off()
        {
            return Err(PlatformError::RateLimited {
                retry_after_secs: q.wait_secs.max(1),
                message: format!(
                    "KIKI is holding calls for ad account {account}: Meta reported {:.0} % of its \
                     quota used",
                    q.used_pct
                ),
            });
        }
        let req = match caller.token {
            Some(token) => req.bearer_auth(token),
            None => req,
        };
        let resp = req.send().await.map_err(transport_error)?;
        let status = resp.status().as_u16();
        let wait = match (caller.account, parse_usage(resp.headers())) {
            (Some(account), Some(usage)) => {
                Some(self.quotas.record(account, usage, Instant::now()))
            }
            _ => None,
        };
        let body = resp.bytes().await.map_err(|e| PlatformError::Transient {
            message: format!("Meta's answer broke off: {}", e.without_url()),
        })?;
        if !(200..300).contains(&status) {
            let err = map_error(status, &body, wait);
            if let (
                Some(account),
                PlatformError::RateLimited {
                    retry_after_secs, ..
                },
            ) = (caller.account, &err)
            {
                self.quotas.hold(account, *retry_after_secs, Instant::now());
            }
            tracing::debug!(
                meta.status = status,
                meta.error = err.code(),
                "Meta refused a call"
            );
            return Err(err);
        }
        let value: Value = serde_json::from_slice(&body).map_err(|_| PlatformError::Transient {
            message: format!(
                "Meta answered HTTP {status} with something that is not JSON ({} bytes)",
                body.len()
            ),
        })?;
        // An error object in a 2xx answer (only an object with an `error`
        // object is one: a batch answer is a list).
        if let Some(error) = value.get("error").filter(|e| e.is_object())
            && let Ok(error) = serde_json::from_value::<GraphError>(error.clone())
        {
            return Err(map_graph_error(status, &error, wait));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proof_is_hmac_sha256_hex() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            appsecret_proof("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
