//! [`MetaAds`]: the port's campaigns, ad sets, creatives, ads and statuses as
//! Marketing API calls (Meta's "Ad Campaign", "Ad Set", "Ad Creative" and
//! "Ad" references). Budgets and bid amounts go in Meta's units of the
//! account currency ([`crate::money`]); dates become times at midnight in the
//! account's time zone (an end date is inclusive: the ad set stops at the
//! next midnight). What a call needs beyond its arguments (the account's
//! currency and zone, a campaign's objective and whether it carries the
//! budget) is read once from Meta and remembered.

use std::collections::HashMap;

use kiki_outbound::OutboundClient;
use kiki_platforms::{
    AccountInfo, AccountRef, AdPlatform, AdSetSpec, AdSpec, BidStrategy, BreakdownAnswer,
    BreakdownQuery, CampaignSpec, CreativeSpec, DeliveryStatus, InsightRow, InsightsQuery,
    ObjectKind, Objective, PlatformError, QuotaState,
};
use kiki_twin::Platform;
use parking_lot::Mutex;
use serde_json::{Value, json};
use time::Date;

use crate::config::MetaConfig;
use crate::graph::{Caller, Graph, Params};
use crate::insights;
use crate::money::micros_to_meta_units;

/// The most requests one Graph batch may hold (Meta's documented limit).
const MAX_BATCH: usize = 50;

/// What the connector remembers of a campaign.
#[derive(Debug, Clone, Copy)]
struct CampaignFacts {
    objective: Objective,
    /// The campaign carries the budget (campaign budget optimisation): its
    /// ad sets must not have their own.
    has_budget: bool,
}

/// The Meta Marketing API connector.
#[derive(Debug)]
pub struct MetaAds {
    graph: Graph,
    accounts: Mutex<HashMap<String, AccountInfo>>,
    campaigns: Mutex<HashMap<String, CampaignFacts>>,
    ad_set_campaigns: Mutex<HashMap<String, String>>,
}

fn invalid(field: &str, message: impl Into<String>) -> PlatformError {
    PlatformError::InvalidRequest {
        field: Some(field.to_owned()),
        message: message.into(),
    }
}

/// The `id` of a create answer.
fn created_id(v: &Value, what: &str) -> Result<String, PlatformError> {
    match v.get("id") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        _ => Err(PlatformError::Transient {
            message: format!("Meta's answer to creating the {what} holds no id"),
        }),
    }
}

/// An update's answer, `{"success": true}`; Meta answering `false` without
/// an error is treated as a failure that may pass.
fn succeeded(v: &Value, what: &str) -> Result<(), PlatformError> {
    match v.get("success") {
        Some(Value::Bool(false)) => Err(PlatformError::Transient {
            message: format!("Meta did not confirm the change to the {what}"),
        }),
        _ => Ok(()),
    }
}

fn status_str(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Active => "ACTIVE",
        DeliveryStatus::Paused => "PAUSED",
        DeliveryStatus::Archived => "ARCHIVED",
    }
}

fn objective_str(o: Objective) -> &'static str {
    match o {
        Objective::Sales => "OUTCOME_SALES",
        Objective::Leads => "OUTCOME_LEADS",
        Objective::Traffic => "OUTCOME_TRAFFIC",
        Objective::Awareness => "OUTCOME_AWARENESS",
    }
}

/// A campaign objective Meta reports, including the pre-ODAX names older
/// campaigns keep.
fn objective_from(s: &str) -> Option<Objective> {
    Some(match s {
        "OUTCOME_SALES" | "CONVERSIONS" | "PRODUCT_CATALOG_SALES" => Objective::Sales,
        "OUTCOME_LEADS" | "LEAD_GENERATION" => Objective::Leads,
        "OUTCOME_TRAFFIC" | "LINK_CLICKS" => Objective::Traffic,
        "OUTCOME_AWARENESS" | "REACH" | "BRAND_AWARENESS" => Objective::Awareness,
        _ => return None,
    })
}

/// The ad set's optimisation goal and, for conversion goals, the Pixel event
/// it optimises for.
fn optimization(
    objective: Objective,
    bid: &BidStrategy,
) -> Result<(&'static str, Option<&'static str>), PlatformError> {
    Ok(match (objective, bid) {
        (Objective::Sales, BidStrategy::CostCap { .. }) => {
            ("OFFSITE_CONVERSIONS", Some("PURCHASE"))
        }
        (Objective::Sales, _) => ("VALUE", Some("PURCHASE")),
        (_, BidStrategy::TargetRoas { .. }) => {
            return Err(invalid(
                "bid",
                "a ROAS goal needs value optimisation, which only a sales campaign has",
            ));
        }
        (Objective::Leads, _) => ("OFFSITE_CONVERSIONS", Some("LEAD")),
        (Objective::Traffic, _) => ("LINK_CLICKS", None),
        (Objective::Awareness, _) => ("REACH", None),
    })
}

/// The bid strategy's parameters.
fn bid_params(bid: &BidStrategy, currency: &str, p: &mut Params) -> Result<(), PlatformError> {
    match *bid {
        BidStrategy::HighestValue => p.push(("bid_strategy", "LOWEST_COST_WITHOUT_CAP".into())),
        BidStrategy::CostCap { micros } => {
            let units = micros_to_meta_units(micros, currency);
            if units <= 0 {
                return Err(invalid(
                    "bid.micros",
                    format!("a cost cap must be at least one unit Meta counts in {currency}"),
                ));
            }
            p.push(("bid_strategy", "COST_CAP".into()));
            p.push(("bid_amount", units.to_string()));
        }
        BidStrategy::TargetRoas { bps } => {
            if bps == 0 {
                return Err(invalid("bid.bps", "a ROAS goal must be above zero"));
            }
            // Meta's ROAS floor is the ratio × 10,000: basis points.
            p.push(("bid_strategy", "LOWEST_COST_WITH_MIN_ROAS".into()));
            p.push((
                "bid_constraints",
                json!({ "roas_average_floor": bps }).to_string(),
            ));
        }
    }
    Ok(())
}

/// A daily budget in Meta's units; refused when it rounds to nothing.
fn budget(field: &str, micros: i64, currency: &str) -> Result<String, PlatformError> {
    let units = micros_to_meta_units(micros, currency);
    if units <= 0 {
        return Err(invalid(
            field,
            format!("a daily budget must be at least one unit Meta counts in {currency}"),
        ));
    }
    Ok(units.to_string())
}

/// Midnight starting `day` in the zone `tz`, as Meta takes times
/// (`2025-03-01T00:00:00+0100`).
fn midnight(day: Date, tz: &str) -> Result<String, PlatformError> {
    let zone = jiff::tz::TimeZone::get(tz).map_err(|_| {
        invalid(
            "time_zone",
            format!("the account's time zone `{tz}` is not a known IANA zone"),
        )
    })?;
    let civil = jiff::civil::date(
        day.year() as i16,
        u8::from(day.month()) as i8,
        day.day() as i8,
    );
    let zoned = civil
        .to_zoned(zone)
        .map_err(|e| invalid("time_zone", format!("no midnight on {day} in `{tz}`: {e}")))?;
    Ok(zoned.strftime("%Y-%m-%dT%H:%M:%S%z").to_string())
}

/// The day after an inclusive end date.
fn day_after(day: Date) -> Result<Date, PlatformError> {
    day.next_day()
        .ok_or_else(|| invalid("end", "the end date is the last representable day"))
}

/// Meta's call-to-action type for KIKI's wording (`"Shop now"`,
/// `"SHOP_NOW"`).
fn call_to_action(text: &str) -> Result<&'static str, PlatformError> {
    const TYPES: &[&str] = &[
        "SHOP_NOW",
        "LEARN_MORE",
        "SIGN_UP",
        "BUY_NOW",
        "ORDER_NOW",
        "SUBSCRIBE",
        "GET_OFFER",
        "GET_QUOTE",
        "APPLY_NOW",
        "BOOK_TRAVEL",
        "CONTACT_US",
        "DOWNLOAD",
        "DONATE_NOW",
        "WATCH_MORE",
        "NO_BUTTON",
    ];
    let key: String = text
        .trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    let key = match key.as_str() {
        "BOOK_NOW" => "BOOK_TRAVEL",
        "BUY" => "BUY_NOW",
        "SHOP" => "SHOP_NOW",
        k => k,
    };
    TYPES.iter().copied().find(|t| *t == key).ok_or_else(|| {
        invalid(
            "call_to_action",
            format!(
                "Meta has no call to action `{text}`; use one of {}",
                TYPES.join(", ")
            ),
        )
    })
}

/// Parameters as an `application/x-www-form-urlencoded` body (a batch
/// item's `body`).
fn urlencoded(p: &Params) -> String {
    serde_urlencoded::to_string(p).unwrap_or_default()
}

impl MetaAds {
    /// The connector, calling Meta through `client` with `config`.
    pub fn new(client: OutboundClient, config: MetaConfig) -> Self {
        MetaAds {
            graph: Graph::new(client, config),
            accounts: Mutex::new(HashMap::new()),
            campaigns: Mutex::new(HashMap::new()),
            ad_set_campaigns: Mutex::new(HashMap::new()),
        }
    }

    fn caller<'a>(&self, account: &'a AccountRef) -> Caller<'a> {
        Caller {
            account: Some(&account.account_id),
            token: Some(&account.access_token),
        }
    }

    fn act(account: &AccountRef) -> String {
        format!("act_{}", account.account_id.trim_start_matches("act_"))
    }

    /// The account's currency and zone: remembered from [`Self::verify`],
    /// else read.
    async fn account_info(&self, account: &AccountRef) -> Result<AccountInfo, PlatformError> {
        if let Some(info) = self.accounts.lock().get(&account.account_id) {
            return Ok(info.clone());
        }
        self.verify(account).await
    }

    /// The campaign's objective and budget placement: remembered, else read.
    async fn campaign_facts(
        &self,
        account: &AccountRef,
        campaign_id: &str,
    ) -> Result<CampaignFacts, PlatformError> {
        if let Some(f) = self.campaigns.lock().get(campaign_id) {
            return Ok(*f);
        }
        let v = self
            .graph
            .get(
                self.caller(account),
                campaign_id,
                vec![("fields", "objective,daily_budget,lifetime_budget".into())],
            )
            .await?;
        let objective = v
            .get("objective")
            .and_then(Value::as_str)
            .and_then(objective_from)
            .ok_or_else(|| {
                invalid(
                    "campaign_id",
                    format!(
                        "campaign {campaign_id} has an objective KIKI does not run ({})",
                        v.get("objective").and_then(Value::as_str).unwrap_or("none")
                    ),
                )
            })?;
        let set = |k: &str| match v.get(k) {
            Some(Value::String(s)) => s.parse::<i64>().is_ok_and(|n| n > 0),
            Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n > 0),
            _ => false,
        };
        let facts = CampaignFacts {
            objective,
            has_budget: set("daily_budget") || set("lifetime_budget"),
        };
        self.campaigns.lock().insert(campaign_id.to_owned(), facts);
        Ok(facts)
    }

    /// The campaign an ad set belongs to: remembered, else read.
    async fn ad_set_campaign(
        &self,
        account: &AccountRef,
        ad_set_id: &str,
    ) -> Result<String, PlatformError> {
        if let Some(c) = self.ad_set_campaigns.lock().get(ad_set_id) {
            return Ok(c.clone());
        }
        let v = self
            .graph
            .get(
                self.caller(account),
                ad_set_id,
                vec![("fields", "campaign_id".into())],
            )
            .await?;
        let c = v
            .get("campaign_id")
            .and_then(Value::as_str)
            .ok_or_else(|| PlatformError::Transient {
                message: format!("Meta did not say which campaign ad set {ad_set_id} is in"),
            })?
            .to_owned();
        self.ad_set_campaigns
            .lock()
            .insert(ad_set_id.to_owned(), c.clone());
        Ok(c)
    }

    /// The parameters a campaign is created (with its objective) or updated
    /// with.
    fn campaign_params(
        spec: &CampaignSpec,
        info: &AccountInfo,
        creating: bool,
    ) -> Result<Params, PlatformError> {
        let mut p: Params = vec![("name", spec.name.clone())];
        if creating {
            p.push(("objective", objective_str(spec.objective).into()));
        }
        p.push(("status", status_str(spec.status).into()));
        if creating {
            p.push(("special_ad_categories", "[]".into()));
        }
        if let Some(micros) = spec.daily_budget_micros {
            p.push((
                "daily_budget",
                budget("daily_budget_micros", micros, &info.currency)?,
            ));
            if creating {
                // A campaign budget spends for the most results.
                p.push(("bid_strategy", "LOWEST_COST_WITHOUT_CAP".into()));
            }
        }
        if let Some(start) = spec.start {
            p.push(("start_time", midnight(start, &info.time_zone)?));
        }
        if let Some(end) = spec.end {
            p.push(("stop_time", midnight(day_after(end)?, &info.time_zone)?));
        }
        Ok(p)
    }

    /// The parameters an ad set is created or updated with.
    fn ad_set_params(
        &self,
        account: &AccountRef,
        spec: &AdSetSpec,
        facts: CampaignFacts,
        info: &AccountInfo,
        creating: bool,
    ) -> Result<Params, PlatformError> {
        let t = &spec.targeting;
        if t.countries.is_empty() {
            return Err(invalid(
                "targeting.countries",
                "a Meta ad set needs at least one country",
            ));
        }
        if !t.interests.is_empty() {
            return Err(invalid(
                "targeting.interests",
                "Meta targets interests by its own ids, which KIKI does not look up yet; \
                 leave the interests empty for Meta ad sets",
            ));
        }
        let mut targeting = json!({ "geo_locations": { "countries": t.countries } });
        if let Some(a) = t.age_min {
            targeting["age_min"] = json!(a);
        }
        if let Some(a) = t.age_max {
            targeting["age_max"] = json!(a);
        }
        let (goal, event) = optimization(facts.objective, &spec.bid)?;
        let mut p: Params = vec![("name", spec.name.clone())];
        if !facts.has_budget {
            p.push((
                "daily_budget",
                budget(
                    "daily_budget_micros",
                    spec.daily_budget_micros,
                    &info.currency,
                )?,
            ));
        }
        if creating {
            p.push(("billing_event", "IMPRESSIONS".into()));
            p.push(("optimization_goal", goal.into()));
        }
        bid_params(&spec.bid, &info.currency, &mut p)?;
        if let (true, Some(event)) = (creating, event) {
            let pixel = self
                .graph
                .config
                .pixel_for(&account.account_id)
                .ok_or_else(|| {
                    invalid(
                        "meta.pixel_id",
                        format!(
                            "conversion ad sets optimise for a Meta Pixel; set meta.pixel_id \
                             (or meta.accounts.\"{}\".pixel_id)",
                            account.account_id
                        ),
                    )
                })?;
            p.push((
                "promoted_object",
                json!({ "pixel_id": pixel, "custom_event_type": event }).to_string(),
            ));
        }
        p.push(("targeting", targeting.to_string()));
        if let Some(start) = spec.start {
            p.push(("start_time", midnight(start, &info.time_zone)?));
        }
        if let Some(end) = spec.end {
            p.push(("end_time", midnight(day_after(end)?, &info.time_zone)?));
        }
        p.push(("status", status_str(spec.status).into()));
        Ok(p)
    }

    fn ad_params(ad_set_id: &str, spec: &AdSpec) -> Params {
        vec![
            ("name", spec.name.clone()),
            ("adset_id", ad_set_id.to_owned()),
            (
                "creative",
                json!({ "creative_id": spec.creative_external_id }).to_string(),
            ),
            ("status", status_str(spec.status).into()),
        ]
    }

    /// Creates the ads of one ad set in Graph batch requests (`POST /` with
    /// `batch`, up to 50 a request), one result per spec in order: the ad's
    /// id, or why Meta refused that one. The outer error is the batch
    /// request's own failure (nothing was created, or it is not known what).
    pub async fn create_ads(
        &self,
        account: &AccountRef,
        ad_set_id: &str,
        specs: &[AdSpec],
    ) -> Result<Vec<Result<String, PlatformError>>, PlatformError> {
        let version = self.graph.config.api_version.trim_matches('/').to_owned();
        let relative_url = format!("{version}/{}/ads", Self::act(account));
        let mut out = Vec::with_capacity(specs.len());
        for chunk in specs.chunks(MAX_BATCH) {
            let batch: Vec<Value> = chunk
                .iter()
                .map(|spec| {
                    json!({
                        "method": "POST",
                        "relative_url": relative_url,
                        "body": urlencoded(&Self::ad_params(ad_set_id, spec)),
                    })
                })
                .collect();
            let answer = self
                .graph
                .post(
                    self.caller(account),
                    "",
                    vec![
                        ("batch", Value::Array(batch).to_string()),
                        ("include_headers", "false".into()),
                    ],
                )
                .await?;
            let items = answer.as_array().ok_or_else(|| PlatformError::Transient {
                message: "Meta's answer to a batch request is not a list".into(),
            })?;
            for i in 0..chunk.len() {
                out.push(batch_item(items.get(i)));
            }
        }
        Ok(out)
    }
}

/// One item of a batch answer: `{"code", "body"}` with `body` the JSON text
/// of the answer, or `null` when Meta did not finish it.
fn batch_item(item: Option<&Value>) -> Result<String, PlatformError> {
    let Some(item) = item.filter(|i| !i.is_null()) else {
        return Err(PlatformError::Transient {
            message: "Meta did not complete this request of the batch; it may be retried".into(),
        });
    };
    let code = item.get("code").and_then(Value::as_u64).unwrap_or(0) as u16;
    let body = item.get("body").and_then(Value::as_str).unwrap_or("");
    if (200..300).contains(&code) {
        let v: Value = serde_json::from_str(body).map_err(|_| PlatformError::Transient {
            message: "a batch item's answer is not JSON".into(),
        })?;
        created_id(&v, "ad")
    } else {
        Err(crate::error::map_error(code, body.as_bytes(), None))
    }
}

#[async_trait::async_trait]
impl AdPlatform for MetaAds {
    fn platform(&self) -> Platform {
        Platform::Meta
    }

    async fn verify(&self, account: &AccountRef) -> Result<AccountInfo, PlatformError> {
        let v = self
            .graph
            .get(
                self.caller(account),
                &Self::act(account),
                vec![(
                    "fields",
                    "name,currency,timezone_name,account_status".into(),
                )],
            )
            .await?;
        let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        // account_status 1 is ACTIVE; 2 disabled, 3 unsettled, 101 closed, …
        match v.get("account_status").and_then(Value::as_i64) {
            Some(1) | None => {}
            Some(s) => {
                return Err(PlatformError::Permission {
                    message: format!(
                        "Meta reports ad account {} as not active (account_status {s})",
                        account.account_id
                    ),
                });
            }
        }
        let info = AccountInfo {
            account_id: account.account_id.clone(),
            name: field("name"),
            currency: field("currency"),
            time_zone: field("timezone_name"),
        };
        if info.currency.len() != 3 || info.time_zone.is_empty() {
            return Err(PlatformError::Transient {
                message: "Meta's account answer lacks the currency or time zone".into(),
            });
        }
        self.accounts
            .lock()
            .insert(account.account_id.clone(), info.clone());
        Ok(info)
    }

    async fn create_campaign(
        &self,
        account: &AccountRef,
        spec: &CampaignSpec,
    ) -> Result<String, PlatformError> {
        let info = self.account_info(account).await?;
        let p = Self::campaign_params(spec, &info, true)?;
        let v = self
            .graph
            .post(
                self.caller(account),
                &format!("{}/campaigns", Self::act(account)),
                p,
            )
            .await?;
        let id = created_id(&v, "campaign")?;
        self.campaigns.lock().insert(
            id.clone(),
            CampaignFacts {
                objective: spec.objective,
                has_budget: spec.daily_budget_micros.is_some(),
            },
        );
        Ok(id)
    }

    async fn update_campaign(
        &self,
        account: &AccountRef,
        campaign_id: &str,
        spec: &CampaignSpec,
    ) -> Result<(), PlatformError> {
        let info = self.account_info(account).await?;
        let p = Self::campaign_params(spec, &info, false)?;
        let v = self
            .graph
            .post(self.caller(account), campaign_id, p)
            .await?;
        succeeded(&v, "campaign")?;
        if let Some(f) = self.campaigns.lock().get_mut(campaign_id)
            && spec.daily_budget_micros.is_some()
        {
            f.has_budget = true;
        }
        Ok(())
    }

    async fn create_ad_set(
        &self,
        account: &AccountRef,
        campaign_id: &str,
        spec: &AdSetSpec,
    ) -> Result<String, PlatformError> {
        let info = self.account_info(account).await?;
        let facts = self.campaign_facts(account, campaign_id).await?;
        let mut p: Params = vec![("campaign_id", campaign_id.to_owned())];
        p.extend(self.ad_set_params(account, spec, facts, &info, true)?);
        let v = self
            .graph
            .post(
                self.caller(account),
                &format!("{}/adsets", Self::act(account)),
                p,
            )
            .await?;
        let id = created_id(&v, "ad set")?;
        self.ad_set_campaigns
            .lock()
            .insert(id.clone(), campaign_id.to_owned());
        Ok(id)
    }

    async fn update_ad_set(
        &self,
        account: &AccountRef,
        ad_set_id: &str,
        spec: &AdSetSpec,
    ) -> Result<(), PlatformError> {
        let info = self.account_info(account).await?;
        let campaign_id = self.ad_set_campaign(account, ad_set_id).await?;
        let facts = self.campaign_facts(account, &campaign_id).await?;
        let p = self.ad_set_params(account, spec, facts, &info, false)?;
        let v = self.graph.post(self.caller(account), ad_set_id, p).await?;
        succeeded(&v, "ad set")
    }

    async fn upload_creative(
        &self,
        account: &AccountRef,
        spec: &CreativeSpec,
    ) -> Result<String, PlatformError> {
        let page_id = self
            .graph
            .config
            .page_for(&account.account_id)
            .ok_or_else(|| {
                invalid(
                    "meta.page_id",
                    format!(
                        "Meta ads are published as a Facebook Page; set meta.page_id (or \
                         meta.accounts.\"{}\".page_id)",
                        account.account_id
                    ),
                )
            })?;
        let headline = spec
            .headlines
            .first()
            .filter(|h| !h.trim().is_empty())
            .ok_or_else(|| invalid("headlines", "a Meta link ad needs a headline"))?;
        let mut link_data = json!({
            "link": spec.link_url,
            "name": headline,
        });
        if let Some(m) = spec
            .primary_text
            .as_deref()
            .filter(|m| !m.trim().is_empty())
        {
            link_data["message"] = json!(m);
        }
        if let Some(d) = spec.descriptions.first().filter(|d| !d.trim().is_empty()) {
            link_data["description"] = json!(d);
        }
        if let Some(cta) = spec
            .call_to_action
            .as_deref()
            .filter(|c| !c.trim().is_empty())
        {
            link_data["call_to_action"] = json!({
                "type": call_to_action(cta)?,
                "value": { "link": spec.link_url },
            });
        }
        let story = json!({ "page_id": page_id, "link_data": link_data });
        let v = self
            .graph
            .post(
                self.caller(account),
                &format!("{}/adcreatives", Self::act(account)),
                vec![
                    ("name", spec.name.clone()),
                    ("object_story_spec", story.to_string()),
                ],
            )
            .await?;
        created_id(&v, "creative")
    }

    async fn create_ad(
        &self,
        account: &AccountRef,
        ad_set_id: &str,
        spec: &AdSpec,
    ) -> Result<String, PlatformError> {
        let v = self
            .graph
            .post(
                self.caller(account),
                &format!("{}/ads", Self::act(account)),
                Self::ad_params(ad_set_id, spec),
            )
            .await?;
        created_id(&v, "ad")
    }

    async fn set_status(
        &self,
        account: &AccountRef,
        kind: ObjectKind,
        id: &str,
        status: DeliveryStatus,
    ) -> Result<(), PlatformError> {
        if kind == ObjectKind::Creative {
            return Err(invalid(
                "kind",
                "a Meta creative has no delivery status; pause or archive its ads",
            ));
        }
        let v = self
            .graph
            .post(
                self.caller(account),
                id,
                vec![("status", status_str(status).into())],
            )
            .await?;
        succeeded(&v, kind.as_str())
    }

    async fn insights(
        &self,
        account: &AccountRef,
        query: &InsightsQuery,
    ) -> Result<Vec<InsightRow>, PlatformError> {
        if query.until < query.since {
            return Err(invalid("until", "the period ends before it starts"));
        }
        let caller = self.caller(account);
        let mut page = self
            .graph
            .get(
                caller,
                &format!("{}/insights", Self::act(account)),
                insights::query_params(query),
            )
            .await?;
        let mut rows = Vec::new();
        loop {
            rows.extend(insights::parse_page(&page, query.level)?);
            match page
                .get("paging")
                .and_then(|p| p.get("next"))
                .and_then(Value::as_str)
            {
                Some(next) if !next.is_empty() => {
                    page = self.graph.get_next(caller, next).await?;
                }
                _ => break,
            }
        }
        Ok(rows)
    }

    async fn fetch_breakdown_insights(
        &self,
        account: &AccountRef,
        query: &BreakdownQuery,
    ) -> Result<BreakdownAnswer, PlatformError> {
        if query.until < query.since {
            return Err(invalid("until", "the period ends before it starts"));
        }
        let caller = self.caller(account);
        let mut page = self
            .graph
            .get(
                caller,
                &format!("{}/insights", Self::act(account)),
                insights::breakdown_params(query),
            )
            .await?;
        let mut rows = Vec::new();
        loop {
            rows.extend(insights::parse_breakdown_page(&page, query.dimension)?);
            match page
                .get("paging")
                .and_then(|p| p.get("next"))
                .and_then(Value::as_str)
            {
                Some(next) if !next.is_empty() => {
                    page = self.graph.get_next(caller, next).await?;
                }
                _ => break,
            }
        }
        Ok(BreakdownAnswer::Reported {
            rows: insights::merge_breakdown(rows),
        })
    }

    fn quota(&self, account_id: &str) -> Option<QuotaState> {
        self.graph
            .quotas
            .state(account_id, std::time::Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimisation_follows_the_objective_and_the_bid() {
        let roas = BidStrategy::TargetRoas { bps: 25_000 };
        let cap = BidStrategy::CostCap { micros: 10_000_000 };
        let hv = BidStrategy::HighestValue;
        assert_eq!(
            optimization(Objective::Sales, &hv).unwrap(),
            ("VALUE", Some("PURCHASE"))
        );
        assert_eq!(
            optimization(Objective::Sales, &roas).unwrap(),
            ("VALUE", Some("PURCHASE"))
        );
        assert_eq!(
            optimization(Objective::Sales, &cap).unwrap(),
            ("OFFSITE_CONVERSIONS", Some("PURCHASE"))
        );
        assert_eq!(
            optimization(Objective::Leads, &hv).unwrap(),
            ("OFFSITE_CONVERSIONS", Some("LEAD"))
        );
        assert_eq!(
            optimization(Objective::Traffic, &hv).unwrap(),
            ("LINK_CLICKS", None)
        );
        assert_eq!(
            optimization(Objective::Awareness, &cap).unwrap(),
            ("REACH", None)
        );
        assert!(optimization(Objective::Traffic, &roas).is_err());
    }

    #[test]
    fn bids_go_to_meta_in_its_units() {
        let mut p = Params::new();
        bid_params(&BidStrategy::CostCap { micros: 12_500_000 }, "USD", &mut p).unwrap();
        assert_eq!(
            p,
            vec![
                ("bid_strategy", "COST_CAP".into()),
                ("bid_amount", "1250".into())
            ]
        );
        let mut p = Params::new();
        bid_params(
            &BidStrategy::CostCap {
                micros: 1_500_000_000,
            },
            "JPY",
            &mut p,
        )
        .unwrap();
        assert_eq!(p[1], ("bid_amount", "1500".into()));
        let mut p = Params::new();
        bid_params(&BidStrategy::TargetRoas { bps: 25_000 }, "USD", &mut p).unwrap();
        assert_eq!(
            p[1],
            ("bid_constraints", r#"{"roas_average_floor":25000}"#.into())
        );
        assert!(bid_params(&BidStrategy::CostCap { micros: 5_000 }, "USD", &mut p).is_err());
    }

    #[test]
    fn days_are_midnights_in_the_account_zone() {
        let d = time::macros::date!(2025 - 03 - 01);
        assert_eq!(
            midnight(d, "America/Los_Angeles").unwrap(),
            "2025-03-01T00:00:00-0800"
        );
        assert_eq!(
            midnight(d, "Asia/Tokyo").unwrap(),
            "2025-03-01T00:00:00+0900"
        );
        assert!(midnight(d, "Mars/Olympus").is_err());
    }

    #[test]
    fn calls_to_action_are_meta_types() {
        assert_eq!(call_to_action("Shop now").unwrap(), "SHOP_NOW");
        assert_eq!(call_to_action("LEARN_MORE").unwrap(), "LEARN_MORE");
        assert_eq!(call_to_action("sign-up").unwrap(), "SIGN_UP");
        let e = call_to_action("Dance!").unwrap_err();
        assert!(
            matches!(e, PlatformError::InvalidRequest { field: Some(f), .. } if f == "call_to_action")
        );
    }

    #[test]
    fn batch_items_map_one_by_one() {
        assert_eq!(
            batch_item(Some(&json!({"code": 200, "body": "{\"id\":\"77\"}"}))).unwrap(),
            "77"
        );
        let e = batch_item(Some(&json!({"code": 400,
            "body": "{\"error\":{\"code\":100,\"message\":\"bad\",\"error_data\":{\"blame_field_specs\":[[\"creative\"]]}}}"})))
        .unwrap_err();
        assert!(
            matches!(e, PlatformError::InvalidRequest { field: Some(f), .. } if f == "creative")
        );
        assert_eq!(
            batch_item(Some(&Value::Null)).unwrap_err().code(),
            "transient"
        );
        assert_eq!(batch_item(None).unwrap_err().code(), "transient");
    }
}
