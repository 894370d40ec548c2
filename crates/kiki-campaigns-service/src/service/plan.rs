//! SyncBrain's plan endpoint: a goal in words, a form and/or a landing page
//! become a campaign plan. The landing page is fetched through the outbound
//! client (http or https only, a timeout, a size cap, no addresses on the
//! server's own network unless allowed). A configured language model is
//! asked for a proposal that is validated (and repaired once) before the rule
//! planner finishes the plan around it; without one, or when it fails, the
//! rule planner answers alone and the answer says so and why.

use std::net::IpAddr;

use kiki_planner::{CampaignPlan, PageFacts, PlanInputs, PlanRequest};

use super::*;

/// `POST /v1/campaigns/plan`.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"goal": "Launch our new serum with $100k over 60 days, target ROI 3x, US women 25-44", "url": "https://shop.example/serum"}))]
pub struct PlanApiRequest {
    /// The goal in words, up to 5,000 characters, not only spaces.
    #[serde(default)]
    #[schema(max_length = 5000, pattern = r"\S")]
    pub goal: Option<String>,
    /// Values a person filled in; each wins over what is read or inferred.
    #[serde(default)]
    pub form: Option<kiki_planner::GoalForm>,
    /// A landing page to read (title, description, brand, products,
    /// industry): http or https, up to 2,048 characters.
    #[serde(default)]
    #[schema(max_length = 2048, pattern = r"^https?://[^\s/?#]+([/?#]\S*)?$")]
    pub url: Option<String>,
    /// The campaign's currency (default: the form's budget's, else USD).
    #[serde(default)]
    pub currency: Option<kiki_core::Currency>,
}

kiki_server::request_schema!(pub PlanApiRequestSchema for PlanApiRequest, json!({
    "anyOf": [
        {"required": ["goal"], "properties": {"goal": {"type": "string"}}},
        {"required": ["form"], "properties": {"form": {"type": "object"}}},
        {"required": ["url"], "properties": {"url": {"type": "string"}}}
    ],
    "description": "A goal in words, a form or a landing page address (any of them)."
}));

/// Which planner answered.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PlannerUsed {
    /// `rules` or `llm`.
    pub kind: String,
    /// The language model, when one answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Why the rule planner answered although a model is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback_reason: Option<String>,
    /// The model's first answer was invalid and its second was used.
    pub repaired: bool,
    /// Tokens the model used (`prompt_tokens`, `completion_tokens`,
    /// `total_tokens`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub usage: Option<kiki_llm::TokenUsage>,
}

/// What the landing page gave.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PageRead {
    /// The address read, after redirects.
    pub url: String,
    pub status: u16,
    /// Bytes read (at most `campaigns.page_max_bytes`).
    pub bytes: usize,
    /// The page was longer than the cap; the rest was not read.
    pub truncated: bool,
    pub facts: PageFacts,
}

/// The plan and how it was made.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PlanView {
    pub plan: CampaignPlan,
    pub planner: PlannerUsed,
    /// The landing page, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<PageRead>,
}

/// A page the planner may not read, and why.
fn refused_page(message: impl Into<String>) -> CampaignsError {
    CampaignsError::field("url", message)
}

/// Loopback, private, link-local, unspecified, multicast and the like: the
/// server's own network.
pub(crate) fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            v.is_loopback()
                || v.is_private()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || v.is_multicast()
                || v.octets()[0] == 100 && (64..128).contains(&v.octets()[1])
                || v.octets()[0] == 0
        }
        IpAddr::V6(v) => {
            v.is_loopback()
                || v.is_unspecified()
                || v.is_multicast()
                || (v.segments()[0] & 0xfe00) == 0xfc00
                || (v.segments()[0] & 0xffc0) == 0xfe80
                || v.to_ipv4_mapped()
                    .is_some_and(|m| is_internal(IpAddr::V4(m)))
        }
    }
}

/// The system prompt of the planner's model.
fn system_prompt() -> String {
    format!(
        "You plan paid advertising campaigns. From the advertiser's goal, the values they filled in and \
         the facts of their landing page, propose the campaign's values. Leave out what you cannot \
         tell; never invent budgets. Answer with one JSON object that follows this JSON Schema:\n{}",
        kiki_planner::LlmProposal::json_schema()
    )
}

impl CampaignsService {
    /// Reads the landing page at `url`.
    async fn read_landing_page(&self, url: &str) -> Result<PageRead> {
        let parsed = reqwest::Url::parse(url).map_err(|_| refused_page("Not a web address."))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(refused_page("Only http and https pages are read."));
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| refused_page("The address has no host."))?
            .to_owned();
        let port = parsed.port_or_known_default().unwrap_or(443);
        if !self.config.allow_private_pages {
            let addrs: Vec<IpAddr> = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
                .await
                .map_err(|_| refused_page(format!("The host {host} could not be resolved.")))?
                .map(|a| a.ip())
                .collect();
            if addrs.is_empty() || addrs.iter().any(|ip| is_internal(*ip)) {
                return Err(refused_page(format!(
                    "{host} is on a private or local network; the planner reads public pages only."
                )));
            }
        }
        let timeout = std::time::Duration::from_secs(self.config.page_timeout_secs);
        let resp = tokio::time::timeout(
            timeout,
            self.outbound
                .get(parsed.as_str())
                .header("accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1")
                .timeout(timeout)
                .send(),
        )
        .await
        .map_err(|_| {
            refused_page(format!(
                "The page did not answer within {} s.",
                timeout.as_secs()
            ))
        })?
        .map_err(|e| {
            refused_page(format!(
                "The page could not be fetched ({}).",
                short(&e.to_string())
            ))
        })?;
        let final_url = resp.url().clone();
        if !self.config.allow_private_pages
            && let Ok(ip) = final_url
                .host_str()
                .unwrap_or_default()
                .trim_matches(['[', ']'])
                .parse::<IpAddr>()
            && is_internal(ip)
        {
            return Err(refused_page(
                "The page redirected to the server's own network.",
            ));
        }
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(refused_page(format!("The page answered {status}.")));
        }
        let mut resp = resp;
        let mut body: Vec<u8> = Vec::new();
        let mut truncated = false;
        let cap = self.config.page_max_bytes;
        loop {
            let chunk = tokio::time::timeout(timeout, resp.chunk())
                .await
                .map_err(|_| refused_page("The page stopped sending."))?
                .map_err(|e| {
                    refused_page(format!(
                        "The page could not be read ({}).",
                        short(&e.to_string())
                    ))
                })?;
            let Some(chunk) = chunk else { break };
            let room = cap - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        let html = String::from_utf8_lossy(&body);
        let facts = kiki_planner::read_page(final_url.as_str(), &html);
        Ok(PageRead {
            url: final_url.to_string(),
            status,
            bytes: body.len(),
            truncated,
            facts,
        })
    }

    /// The organisation's fitted LTV, when the LTV module is wired and has a
    /// model in `currency`.
    pub(crate) async fn org_ltv(
        &self,
        scope: &TenantScope,
        currency: kiki_core::Currency,
    ) -> Option<kiki_planner::LtvFigure> {
        let ltv = self.ltv.as_ref()?;
        let agg = ltv
            .aggregates(scope, kiki_ltv::GroupBy::All)
            .await
            .ok()
            .flatten()?;
        if !agg.currency.eq_ignore_ascii_case(currency.as_str()) {
            return None;
        }
        let g = agg.groups.first()?;
        if g.value.valued == 0 || g.value.mean_clv_micros <= 0 {
            return None;
        }
        Some(kiki_planner::LtvFigure {
            value: Money::from_micros(g.value.mean_clv_micros, currency),
            source: format!(
                "your fitted LTV model (version {}): mean customer value of {} customers over {} days",
                agg.model_version, g.value.valued, agg.horizon_days
            ),
        })
    }

    /// `POST /v1/campaigns/plan`: a plan, not stored (store its draft with
    /// `POST /v1/campaigns`).
    pub async fn plan(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        req: PlanApiRequest,
    ) -> Result<PlanView> {
        let goal = req
            .goal
            .as_deref()
            .map(kiki_core::trim_schema)
            .map(str::to_owned);
        if goal
            .as_ref()
            .is_some_and(|g| g.is_empty() || g.chars().count() > 5_000)
        {
            return Err(CampaignsError::field(
                "goal",
                "1 to 5000 characters, not only spaces.",
            ));
        }
        let url = req.url.as_deref().map(kiki_core::trim_schema);
        if goal.is_none() && req.form.is_none() && url.is_none() {
            return Err(CampaignsError::field(
                "goal",
                "Give a goal in words, a form or a landing page address (`url`).",
            ));
        }
        let page = match url {
            Some(u) => Some(self.read_landing_page(u).await?),
            None => None,
        };
        let scope = &p.scope;
        let currency = req
            .currency
            .or_else(|| {
                let f = req.form.as_ref()?;
                f.total_budget.or(f.daily_budget).map(|m| m.currency)
            })
            .unwrap_or(kiki_core::Currency::USD);
        let settings = self.settings_in(scope).await?;
        let mut inputs = PlanInputs::new(currency, (self.now() - Duration::hours(12)).date());
        inputs.ltv = self.org_ltv(scope, currency).await;
        inputs.brand = self
            .identity
            .organisation(scope, scope.org_id())
            .await
            .ok()
            .map(|o| o.name);
        // In its own currency: the planner flags a cap it cannot compare.
        inputs.max_daily_budget = settings.max_daily_budget;
        let request = PlanRequest {
            goal: goal.clone(),
            form: req.form.clone(),
            page: page.as_ref().map(|p| p.facts.clone()),
        };
        let Some(llm) = self.llm_for(scope).await? else {
            return Ok(PlanView {
                plan: kiki_planner::plan(&request, &inputs),
                planner: PlannerUsed {
                    kind: "rules".into(),
                    model: None,
                    fallback_reason: None,
                    repaired: false,
                    usage: None,
                },
                page,
            });
        };
        let user = serde_json::to_string_pretty(&json!({
            "goal": goal,
            "form": req.form,
            "landing_page": page.as_ref().map(|p| &p.facts),
            "currency": currency,
        }))?;
        let model = llm.config().model.clone();
        let answer = llm
            .ask_json::<kiki_planner::LlmProposal>(&system_prompt(), &user, |p| p.validate())
            .await;
        let actor = p.actor();
        let org = scope.org_id();
        let (plan, planner, details) = match answer {
            Ok(a) => (
                kiki_planner::plan_with_proposal(&request, &a.value, &model, &inputs),
                PlannerUsed {
                    kind: "llm".into(),
                    model: Some(model.clone()),
                    fallback_reason: None,
                    repaired: a.repaired,
                    usage: Some(a.usage),
                },
                json!({
                    "planner": "llm",
                    "model": model,
                    "repaired": a.repaired,
                    "usage": a.usage,
                    "transcript": a.transcript,
                }),
            ),
            Err(e) => {
                let reason = format!(
                    "The language model {model} did not give a usable plan ({}); the rule planner answered.",
                    kiki_core::DomainError::public_message(&e).trim_end_matches('.')
                );
                tracing::warn!(error = %e, model = %model, "planner model failed; rule planner used");
                (
                    kiki_planner::plan(&request, &inputs),
                    PlannerUsed {
                        kind: "rules".into(),
                        model: None,
                        fallback_reason: Some(reason.clone()),
                        repaired: false,
                        usage: None,
                    },
                    json!({ "planner": "rules", "model": model, "fallback_reason": reason }),
                )
            }
        };
        // The model's prompt and answer, redacted, kept with the audit log.
        let mut tx = self.record.begin().await?;
        tx.audit(
            audit_event(org, actor, "campaigns.plan.asked_model", Some(meta)).details(details),
        )
        .await?;
        tx.commit().await?;
        Ok(PlanView {
            plan,
            planner,
            page,
        })
    }
}

/// At most 200 characters of an error text.
fn short(s: &str) -> String {
    s.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_own_networks_are_internal() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }
}
