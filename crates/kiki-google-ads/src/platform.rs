//! [`AdPlatform`] for Google Ads: KIKI's campaigns, ad sets, creatives and
//! ads as Search campaigns, ad groups and responsive search ads.
//!
//! | KIKI | Google Ads |
//! |---|---|
//! | campaign | a `SEARCH` campaign with its own (not shared) `CampaignBudget`; bidding by objective: sales → `maximizeConversionValue`, leads → `maximizeConversions`, traffic and awareness → `targetSpend` (maximise clicks) |
//! | campaign daily budget | the budget's `amountMicros`; with none, the sum of the ad sets' daily budgets (Google keeps budgets on the campaign only) |
//! | ad set | a `SEARCH_STANDARD` ad group |
//! | ad set bid | cost cap → the ad group's `targetCpaMicros`, target ROAS → its `targetRoas` (bps / 10,000); bid strategies live on the campaign, so the campaign moves to `maximizeConversions` / `maximizeConversionValue` with that target (Google: "Ad group level target overrides") |
//! | interests | the ad group's `BROAD` keywords |
//! | countries | `LOCATION` criteria on the campaign ([`crate::geo`]) |
//! | ages | negative `AGE_RANGE` criteria on the ad group for the ranges outside the ages |
//! | creative | responsive search ad copy kept by the connector under `rsa:<kiki id>` |
//! | ad | an ad group ad with a `responsiveSearchAd`; its id is Google's `{ad group id}~{ad id}` |
//! | archived | `remove` |

use std::collections::HashMap;

use kiki_platforms::{
    AccountInfo, AccountRef, AdPlatform, AdSetSpec, AdSpec, BidStrategy, BreakdownAnswer,
    BreakdownDimension, BreakdownQuery, CampaignSpec, CreativeSpec, DeliveryStatus, InsightRow,
    InsightsQuery, ObjectKind, Objective, PlatformError, QuotaState, Targeting,
};
use kiki_twin::Platform;
use serde_json::{Value, json};
use time::Date;

use crate::client::{
    AdGroupEntry, Bidding, CampaignEntry, GoogleAds, digits, id_of, invalid, lock,
};
use crate::geo::country_criterion_id;
use crate::insights::{self, day};
use crate::rsa;

/// The longest name Google Ads takes for a campaign, budget or ad group.
const MAX_NAME: usize = 255;

/// Google's age ranges (`AgeRangeTypeEnum`) and the ages they cover.
const AGE_RANGES: &[(&str, u8, u8)] = &[
    ("AGE_RANGE_18_24", 18, 24),
    ("AGE_RANGE_25_34", 25, 34),
    ("AGE_RANGE_35_44", 35, 44),
    ("AGE_RANGE_45_54", 45, 54),
    ("AGE_RANGE_55_64", 55, 64),
    ("AGE_RANGE_65_UP", 65, u8::MAX),
];

fn status_name(s: DeliveryStatus) -> &'static str {
    match s {
        DeliveryStatus::Active => "ENABLED",
        DeliveryStatus::Paused => "PAUSED",
        DeliveryStatus::Archived => "REMOVED",
    }
}

fn name(field: &str, n: &str) -> Result<String, PlatformError> {
    let n = n.trim();
    if n.is_empty() {
        return Err(invalid(field, "is empty; Google Ads needs a name"));
    }
    if n.chars().count() > MAX_NAME {
        return Err(invalid(
            field,
            format!("is longer than Google's {MAX_NAME} characters"),
        ));
    }
    Ok(n.to_owned())
}

fn not_archived(s: DeliveryStatus, what: &str) -> Result<(), PlatformError> {
    if s == DeliveryStatus::Archived {
        return Err(invalid(
            "status",
            format!("a new {what} cannot start archived (removed)"),
        ));
    }
    Ok(())
}

fn dates(start: Option<Date>, end: Option<Date>) -> Result<(), PlatformError> {
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        return Err(invalid(
            "end",
            format!("{} is before start ({})", day(e), day(s)),
        ));
    }
    Ok(())
}

fn bidding_for(objective: Objective) -> Bidding {
    match objective {
        Objective::Sales => Bidding::ConversionValue {
            target_roas_bps: None,
        },
        Objective::Leads => Bidding::Conversions {
            target_cpa_micros: None,
        },
        Objective::Traffic | Objective::Awareness => Bidding::Clicks,
    }
}

/// The bidding fields of a campaign.
fn bidding_json(b: Bidding) -> (&'static str, Value) {
    match b {
        Bidding::ConversionValue { target_roas_bps } => (
            "maximizeConversionValue",
            match target_roas_bps {
                Some(bps) => json!({ "targetRoas": bps as f64 / 10_000.0 }),
                None => json!({}),
            },
        ),
        Bidding::Conversions { target_cpa_micros } => (
            "maximizeConversions",
            match target_cpa_micros {
                Some(m) => json!({ "targetCpaMicros": m.to_string() }),
                None => json!({}),
            },
        ),
        Bidding::Clicks => ("targetSpend", json!({})),
    }
}

/// The campaign bidding an ad set's bid needs, when it needs one.
fn bidding_for_bid(bid: BidStrategy) -> Option<Bidding> {
    match bid {
        BidStrategy::HighestValue => None,
        BidStrategy::CostCap { micros } => Some(Bidding::Conversions {
            target_cpa_micros: Some(micros),
        }),
        BidStrategy::TargetRoas { bps } => Some(Bidding::ConversionValue {
            target_roas_bps: Some(bps),
        }),
    }
}

fn check_bid(bid: BidStrategy) -> Result<(), PlatformError> {
    match bid {
        BidStrategy::CostCap { micros } if micros <= 0 => Err(invalid(
            "bid.micros",
            "a target cost per conversion must be above zero",
        )),
        BidStrategy::TargetRoas { bps: 0 } => {
            Err(invalid("bid.bps", "a target ROAS must be above zero"))
        }
        _ => Ok(()),
    }
}

/// The ad group's bid fields (`targetCpaMicros`, `targetRoas`).
fn ad_group_bid(bid: BidStrategy, group: &mut serde_json::Map<String, Value>) {
    match bid {
        BidStrategy::CostCap { micros } => {
            group.insert("targetCpaMicros".into(), json!(micros.to_string()));
        }
        BidStrategy::TargetRoas { bps } => {
            group.insert("targetRoas".into(), json!(bps as f64 / 10_000.0));
        }
        BidStrategy::HighestValue => {}
    }
}

/// The geo target constants of the countries, in order, without repeats.
fn geo_targets(t: &Targeting) -> Result<Vec<String>, PlatformError> {
    let mut out: Vec<String> = Vec::new();
    for (i, c) in t.countries.iter().enumerate() {
        let id = country_criterion_id(c).ok_or_else(|| {
            invalid(
                &format!("targeting.countries[{i}]"),
                format!(
                    "`{c}` is not a country the Google Ads connector has a geo target for \
                     (ISO 3166-1 alpha-2 codes of the markets in its table)"
                ),
            )
        })?;
        let g = format!("geoTargetConstants/{id}");
        if !out.contains(&g) {
            out.push(g);
        }
    }
    Ok(out)
}

/// The ad group's keywords: trimmed, without repeats (case-insensitive).
fn keywords(t: &Targeting) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in &t.interests {
        let k = k.split_whitespace().collect::<Vec<_>>().join(" ");
        if !k.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(&k)) {
            out.push(k);
        }
    }
    out
}

/// The age ranges wholly outside the targeted ages.
fn excluded_ages(t: &Targeting) -> Result<Vec<&'static str>, PlatformError> {
    let min = t.age_min.unwrap_or(0);
    let max = t.age_max.unwrap_or(u8::MAX);
    if min > max {
        return Err(invalid(
            "targeting.age_max",
            format!("{max} is below age_min ({min})"),
        ));
    }
    Ok(AGE_RANGES
        .iter()
        .filter(|(_, lo, hi)| *hi < min || *lo > max)
        .map(|(n, _, _)| *n)
        .collect())
}

impl GoogleAds {
    fn campaign_resource(&self, account: &AccountRef, id: &str) -> Result<String, PlatformError> {
        Ok(format!(
            "customers/{}/campaigns/{}",
            self.customer(account)?,
            digits("campaign_id", id)?
        ))
    }

    fn ad_group_resource(&self, account: &AccountRef, id: &str) -> Result<String, PlatformError> {
        Ok(format!(
            "customers/{}/adGroups/{}",
            self.customer(account)?,
            digits("ad_set_id", id)?
        ))
    }

    fn ad_resource(&self, account: &AccountRef, id: &str) -> Result<String, PlatformError> {
        let (group, ad) = id.split_once('~').ok_or_else(|| {
            invalid(
                "id",
                format!("`{id}` is not a Google ad id (`{{ad group id}}~{{ad id}}`)"),
            )
        })?;
        Ok(format!(
            "customers/{}/adGroupAds/{}~{}",
            self.customer(account)?,
            digits("id", group)?,
            digits("id", ad)?
        ))
    }

    /// The campaign's days in the field names of the configured version.
    fn schedule(
        &self,
        c: &mut serde_json::Map<String, Value>,
        mask: &mut Vec<&'static str>,
        spec: &CampaignSpec,
        update: bool,
    ) {
        let times = self.config.uses_date_times();
        if let Some(s) = spec.start {
            if times {
                c.insert(
                    "startDateTime".into(),
                    json!(format!("{} 00:00:00", day(s))),
                );
                mask.push("startDateTime");
            } else {
                c.insert("startDate".into(), json!(day(s)));
                mask.push("startDate");
            }
        }
        match (spec.end, times) {
            (Some(e), true) => {
                c.insert("endDateTime".into(), json!(format!("{} 23:59:59", day(e))));
                mask.push("endDateTime");
            }
            (Some(e), false) => {
                c.insert("endDate".into(), json!(day(e)));
                mask.push("endDate");
            }
            // Running on: from v23 an update clears the end; before, the end
            // is Google's "indefinitely", 2037-12-30.
            (None, true) if update => mask.push("endDateTime"),
            (None, false) if update => {
                c.insert("endDate".into(), json!("2037-12-30"));
                mask.push("endDate");
            }
            (None, _) => {}
        }
    }

    /// The campaign's budget resource and amount: from the ledger, else
    /// read from Google.
    async fn campaign_budget(
        &self,
        account: &AccountRef,
        campaign_id: &str,
    ) -> Result<(String, i64), PlatformError> {
        let key = (account.account_id.clone(), campaign_id.to_owned());
        if let Some(e) = lock(&self.ledger).campaigns.get(&key) {
            return Ok((e.budget.clone(), e.amount_micros));
        }
        let rows = self
            .search(
                account,
                &format!(
                    "SELECT campaign.campaign_budget, campaign_budget.amount_micros FROM campaign WHERE campaign.id = {}",
                    digits("campaign_id", campaign_id)?
                ),
            )
            .await?;
        let row = rows.first().ok_or_else(|| PlatformError::NotFound {
            message: format!(
                "Google Ads has no campaign {campaign_id} in account {}",
                account.account_id
            ),
        })?;
        let budget = row
            .pointer("/campaign/campaignBudget")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let amount = insights::int64(
            row.pointer("/campaignBudget/amountMicros"),
            "campaign_budget.amount_micros",
        )?;
        Ok((budget, amount))
    }

    async fn set_budget(
        &self,
        account: &AccountRef,
        budget: &str,
        amount: i64,
    ) -> Result<(), PlatformError> {
        self.mutate(
            account,
            "campaignBudgets",
            vec![json!({
                "update": { "resourceName": budget, "amountMicros": amount.to_string() },
                "updateMask": "amountMicros"
            })],
        )
        .await?;
        Ok(())
    }

    /// Adds the location criteria the campaign lacks.
    async fn add_locations(
        &self,
        account: &AccountRef,
        campaign_id: &str,
        targets: &[String],
    ) -> Result<(), PlatformError> {
        if targets.is_empty() {
            return Ok(());
        }
        let rows = self
            .search(
                account,
                &format!(
                    "SELECT campaign_criterion.location.geo_target_constant FROM campaign_criterion \
                     WHERE campaign.id = {} AND campaign_criterion.type = LOCATION \
                     AND campaign_criterion.negative = FALSE",
                    digits("campaign_id", campaign_id)?
                ),
            )
            .await?;
        let have: Vec<&str> = rows
            .iter()
            .filter_map(|r| {
                r.pointer("/campaignCriterion/location/geoTargetConstant")
                    .and_then(Value::as_str)
            })
            .collect();
        let campaign = self.campaign_resource(account, campaign_id)?;
        let ops: Vec<Value> = targets
            .iter()
            .filter(|t| !have.contains(&t.as_str()))
            .map(|t| json!({ "create": { "campaign": campaign, "location": { "geoTargetConstant": t } } }))
            .collect();
        if !ops.is_empty() {
            self.mutate(account, "campaignCriteria", ops).await?;
        }
        Ok(())
    }

    /// The ad group's campaign: from the ledger, else read from Google.
    async fn campaign_of(
        &self,
        account: &AccountRef,
        ad_group_id: &str,
    ) -> Result<String, PlatformError> {
        let key = (account.account_id.clone(), ad_group_id.to_owned());
        if let Some(e) = lock(&self.ledger).ad_groups.get(&key) {
            return Ok(e.campaign_id.clone());
        }
        let rows = self
            .search(
                account,
                &format!(
                    "SELECT campaign.id FROM ad_group WHERE ad_group.id = {}",
                    digits("ad_set_id", ad_group_id)?
                ),
            )
            .await?;
        rows.first()
            .and_then(|r| r.pointer("/campaign/id"))
            .and_then(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .or_else(|| v.as_i64().map(|n| n.to_string()))
            })
            .ok_or_else(|| PlatformError::NotFound {
                message: format!(
                    "Google Ads has no ad group {ad_group_id} in account {}",
                    account.account_id
                ),
            })
    }

    /// Moves the campaign's bidding to what the ad set's bid needs, when the
    /// ledger shows it bids otherwise.
    async fn align_bidding(
        &self,
        account: &AccountRef,
        campaign_id: &str,
        bid: BidStrategy,
    ) -> Result<(), PlatformError> {
        let Some(wanted) = bidding_for_bid(bid) else {
            return Ok(());
        };
        let key = (account.account_id.clone(), campaign_id.to_owned());
        let current = lock(&self.ledger).campaigns.get(&key).map(|e| e.bidding);
        let same_kind = matches!(
            (current, wanted),
            (
                Some(Bidding::Conversions {
                    target_cpa_micros: Some(_)
                }),
                Bidding::Conversions { .. }
            ) | (
                Some(Bidding::ConversionValue {
                    target_roas_bps: Some(_)
                }),
                Bidding::ConversionValue { .. }
            )
        );
        if current.is_none() || same_kind {
            // Unknown campaigns keep their bidding; the ad group's target
            // applies where the campaign's strategy takes one.
            return Ok(());
        }
        let (field, value) = bidding_json(wanted);
        let target = match wanted {
            Bidding::Conversions { .. } => "targetCpaMicros",
            _ => "targetRoas",
        };
        self.mutate(
            account,
            "campaigns",
            vec![json!({
                "update": { "resourceName": self.campaign_resource(account, campaign_id)?, field: value },
                "updateMask": format!("{field}.{target}")
            })],
        )
        .await?;
        if let Some(e) = lock(&self.ledger).campaigns.get_mut(&key) {
            e.bidding = wanted;
        }
        Ok(())
    }

    /// Status update or removal of one resource.
    async fn status_op(
        &self,
        account: &AccountRef,
        resources: &str,
        resource_name: String,
        status: DeliveryStatus,
    ) -> Result<(), PlatformError> {
        let op = match status {
            DeliveryStatus::Archived => json!({ "remove": resource_name }),
            s => json!({
                "update": { "resourceName": resource_name, "status": status_name(s) },
                "updateMask": "status"
            }),
        };
        self.mutate(account, resources, vec![op]).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl AdPlatform for GoogleAds {
    fn platform(&self) -> Platform {
        Platform::Google
    }

    async fn verify(&self, account: &AccountRef) -> Result<AccountInfo, PlatformError> {
        let rows = self
            .search(
                account,
                "SELECT customer.descriptive_name, customer.currency_code, customer.time_zone FROM customer",
            )
            .await?;
        let c = rows
            .first()
            .and_then(|r| r.get("customer"))
            .ok_or_else(|| PlatformError::NotFound {
                message: format!(
                    "Google Ads answered no customer row for account {}",
                    account.account_id
                ),
            })?;
        let text = |k: &str| {
            c.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok(AccountInfo {
            account_id: account.account_id.trim().to_owned(),
            name: text("descriptiveName"),
            currency: text("currencyCode"),
            time_zone: text("timeZone"),
        })
    }

    async fn create_campaign(
        &self,
        account: &AccountRef,
        spec: &CampaignSpec,
    ) -> Result<String, PlatformError> {
        let customer = self.customer(account)?.to_owned();
        let campaign_name = name("name", &spec.name)?;
        not_archived(spec.status, "campaign")?;
        dates(spec.start, spec.end)?;
        if let Some(b) = spec.daily_budget_micros
            && b <= 0
        {
            return Err(invalid(
                "daily_budget_micros",
                "a daily budget must be above zero",
            ));
        }
        let amount = spec.daily_budget_micros.unwrap_or(0);
        // Budget names are unique in an account; the clock keeps them apart.
        let stamp = (self.clock)().unix_timestamp_nanos();
        let mut budget_name: String = campaign_name.chars().take(MAX_NAME - 40).collect();
        budget_name.push_str(&format!(" — KIKI budget {stamp}"));
        let budget = self
            .mutate_one(
                account,
                "campaignBudgets",
                json!({ "create": {
                    "name": budget_name,
                    "amountMicros": amount.to_string(),
                    "deliveryMethod": "STANDARD",
                    "explicitlyShared": false
                }}),
            )
            .await?;
        let bidding = bidding_for(spec.objective);
        let mut c = serde_json::Map::new();
        c.insert("name".into(), json!(campaign_name));
        c.insert("status".into(), json!(status_name(spec.status)));
        c.insert("advertisingChannelType".into(), json!("SEARCH"));
        c.insert("campaignBudget".into(), json!(budget));
        let (field, value) = bidding_json(bidding);
        c.insert(field.into(), value);
        c.insert(
            "networkSettings".into(),
            json!({
                "targetGoogleSearch": true,
                "targetSearchNetwork": true,
                "targetContentNetwork": false,
                "targetPartnerSearchNetwork": false
            }),
        );
        if self.config.version_number().is_none_or(|v| v >= 19) {
            // Required on new campaigns since September 2025 (Google Ads API,
            // "EU political ads"); KIKI runs commercial campaigns only.
            c.insert(
                "containsEuPoliticalAdvertising".into(),
                json!("DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING"),
            );
        }
        self.schedule(&mut c, &mut Vec::new(), spec, false);
        let created = self
            .mutate_one(account, "campaigns", json!({ "create": c }))
            .await;
        let campaign = match created {
            Ok(c) => c,
            Err(e) => {
                // Leave no orphan budget behind; the campaign's error is the answer.
                if let Err(cleanup) = self
                    .mutate(
                        account,
                        "campaignBudgets",
                        vec![json!({ "remove": budget })],
                    )
                    .await
                {
                    tracing::warn!(error = %cleanup, "the budget of a refused Google Ads campaign could not be removed");
                }
                return Err(e);
            }
        };
        let id = id_of(&campaign);
        lock(&self.ledger).campaigns.insert(
            (account.account_id.clone(), id.clone()),
            CampaignEntry {
                budget,
                amount_micros: amount,
                sums_ad_sets: spec.daily_budget_micros.is_none(),
                bidding,
            },
        );
        tracing::debug!(google_ads.customer = %customer, google_ads.campaign = %id, "created a Google Ads campaign");
        Ok(id)
    }

    async fn update_campaign(
        &self,
        account: &AccountRef,
        campaign_id: &str,
        spec: &CampaignSpec,
    ) -> Result<(), PlatformError> {
        let resource = self.campaign_resource(account, campaign_id)?;
        let campaign_id = campaign_id.trim();
        if spec.status == DeliveryStatus::Archived {
            return self
                .status_op(account, "campaigns", resource, DeliveryStatus::Archived)
                .await;
        }
        let campaign_name = name("name", &spec.name)?;
        dates(spec.start, spec.end)?;
        if let Some(b) = spec.daily_budget_micros
            && b <= 0
        {
            return Err(invalid(
                "daily_budget_micros",
                "a daily budget must be above zero",
            ));
        }
        let mut c = serde_json::Map::new();
        let mut mask = vec!["name", "status"];
        c.insert("resourceName".into(), json!(resource));
        c.insert("name".into(), json!(campaign_name));
        c.insert("status".into(), json!(status_name(spec.status)));
        self.schedule(&mut c, &mut mask, spec, true);
        self.mutate(
            account,
            "campaigns",
            vec![json!({ "update": c, "updateMask": mask.join(",") })],
        )
        .await?;
        if let Some(amount) = spec.daily_budget_micros {
            let (budget, current) = self.campaign_budget(account, campaign_id).await?;
            if current != amount {
                self.set_budget(account, &budget, amount).await?;
            }
            if let Some(e) = lock(&self.ledger)
                .campaigns
                .get_mut(&(account.account_id.clone(), campaign_id.to_owned()))
            {
                e.amount_micros = amount;
                e.sums_ad_sets = false;
            }
        }
        Ok(())
    }

    async fn create_ad_set(
        &self,
        account: &AccountRef,
        campaign_id: &str,
        spec: &AdSetSpec,
    ) -> Result<String, PlatformError> {
        let campaign = self.campaign_resource(account, campaign_id)?;
        let campaign_id = campaign_id.trim();
        let group_name = name("name", &spec.name)?;
        not_archived(spec.status, "ad set")?;
        if spec.daily_budget_micros < 0 {
            return Err(invalid(
                "daily_budget_micros",
                "a daily budget cannot be negative",
            ));
        }
        check_bid(spec.bid)?;
        let targets = geo_targets(&spec.targeting)?;
        let excluded = excluded_ages(&spec.targeting)?;
        let mut g = serde_json::Map::new();
        g.insert("name".into(), json!(group_name));
        g.insert("campaign".into(), json!(campaign));
        g.insert("status".into(), json!(status_name(spec.status)));
        g.insert("type".into(), json!("SEARCH_STANDARD"));
        ad_group_bid(spec.bid, &mut g);
        let group = self
            .mutate_one(account, "adGroups", json!({ "create": g }))
            .await?;
        let id = id_of(&group);
        self.align_bidding(account, campaign_id, spec.bid).await?;
        let mut criteria: Vec<Value> = keywords(&spec.targeting)
            .into_iter()
            .map(|k| {
                json!({ "create": {
                    "adGroup": group, "status": "ENABLED",
                    "keyword": { "text": k, "matchType": "BROAD" }
                }})
            })
            .collect();
        criteria.extend(excluded.iter().map(|a| {
            json!({ "create": {
                "adGroup": group, "negative": true, "ageRange": { "type": a }
            }})
        }));
        if !criteria.is_empty() {
            self.mutate(account, "adGroupCriteria", criteria).await?;
        }
        self.add_locations(account, campaign_id, &targets).await?;
        // The ad set's budget joins the campaign's when the campaign's budget
        // is the sum of its ad sets'.
        let key = (account.account_id.clone(), campaign_id.to_owned());
        let summed = lock(&self.ledger)
            .campaigns
            .get(&key)
            .filter(|e| e.sums_ad_sets)
            .map(|e| (e.budget.clone(), e.amount_micros));
        if let Some((budget, amount)) = summed
            && spec.daily_budget_micros > 0
        {
            let total = amount.saturating_add(spec.daily_budget_micros);
            self.set_budget(account, &budget, total).await?;
            if let Some(e) = lock(&self.ledger).campaigns.get_mut(&key) {
                e.amount_micros = total;
            }
        }
        lock(&self.ledger).ad_groups.insert(
            (account.account_id.clone(), id.clone()),
            AdGroupEntry {
                campaign_id: campaign_id.to_owned(),
                daily_budget_micros: spec.daily_budget_micros,
            },
        );
        Ok(id)
    }

    async fn update_ad_set(
        &self,
        account: &AccountRef,
        ad_set_id: &str,
        spec: &AdSetSpec,
    ) -> Result<(), PlatformError> {
        let group = self.ad_group_resource(account, ad_set_id)?;
        let ad_set_id = ad_set_id.trim();
        if spec.status == DeliveryStatus::Archived {
            return self
                .status_op(account, "adGroups", group, DeliveryStatus::Archived)
                .await;
        }
        let group_name = name("name", &spec.name)?;
        if spec.daily_budget_micros < 0 {
            return Err(invalid(
                "daily_budget_micros",
                "a daily budget cannot be negative",
            ));
        }
        check_bid(spec.bid)?;
        let targets = geo_targets(&spec.targeting)?;
        let mut g = serde_json::Map::new();
        g.insert("resourceName".into(), json!(group));
        g.insert("name".into(), json!(group_name));
        g.insert("status".into(), json!(status_name(spec.status)));
        // Both targets are in the mask: the one not set is cleared.
        ad_group_bid(spec.bid, &mut g);
        self.mutate(
            account,
            "adGroups",
            vec![json!({ "update": g, "updateMask": "name,status,targetCpaMicros,targetRoas" })],
        )
        .await?;
        let campaign_id = self.campaign_of(account, ad_set_id).await?;
        self.align_bidding(account, &campaign_id, spec.bid).await?;
        // Keywords: add the new, remove the gone.
        let rows = self
            .search(
                account,
                &format!(
                    "SELECT ad_group_criterion.resource_name, ad_group_criterion.keyword.text \
                     FROM ad_group_criterion WHERE ad_group.id = {ad_set_id} \
                     AND ad_group_criterion.type = KEYWORD AND ad_group_criterion.status != REMOVED \
                     AND ad_group_criterion.negative = FALSE"
                ),
            )
            .await?;
        let existing: Vec<(String, String)> = rows
            .iter()
            .filter_map(|r| {
                let c = r.get("adGroupCriterion")?;
                Some((
                    c.get("resourceName")?.as_str()?.to_owned(),
                    c.pointer("/keyword/text")?.as_str()?.to_owned(),
                ))
            })
            .collect();
        let wanted = keywords(&spec.targeting);
        let mut ops: Vec<Value> = wanted
            .iter()
            .filter(|k| !existing.iter().any(|(_, t)| t.eq_ignore_ascii_case(k)))
            .map(|k| {
                json!({ "create": {
                    "adGroup": group, "status": "ENABLED",
                    "keyword": { "text": k, "matchType": "BROAD" }
                }})
            })
            .collect();
        ops.extend(
            existing
                .iter()
                .filter(|(_, t)| !wanted.iter().any(|k| k.eq_ignore_ascii_case(t)))
                .map(|(r, _)| json!({ "remove": r })),
        );
        if !ops.is_empty() {
            self.mutate(account, "adGroupCriteria", ops).await?;
        }
        // Countries are the campaign's, shared by its ad groups: add only.
        self.add_locations(account, &campaign_id, &targets).await?;
        // Budget: the campaign's moves by the ad set's change, when the
        // campaign's budget is the sum of its ad sets' and the share is known.
        let group_key = (account.account_id.clone(), ad_set_id.to_owned());
        let campaign_key = (account.account_id.clone(), campaign_id.clone());
        let plan = {
            let ledger = lock(&self.ledger);
            match (
                ledger.ad_groups.get(&group_key),
                ledger.campaigns.get(&campaign_key),
            ) {
                (Some(g), Some(c)) if c.sums_ad_sets => {
                    Some((c.budget.clone(), c.amount_micros, g.daily_budget_micros))
                }
                _ => None,
            }
        };
        match plan {
            Some((budget, amount, old)) if old != spec.daily_budget_micros => {
                let total = amount.saturating_add(spec.daily_budget_micros - old).max(0);
                self.set_budget(account, &budget, total).await?;
                let mut ledger = lock(&self.ledger);
                if let Some(c) = ledger.campaigns.get_mut(&campaign_key) {
                    c.amount_micros = total;
                }
                if let Some(g) = ledger.ad_groups.get_mut(&group_key) {
                    g.daily_budget_micros = spec.daily_budget_micros;
                }
            }
            Some(_) => {}
            None => tracing::debug!(
                google_ads.ad_group = ad_set_id,
                "the ad group's budget share is not in the ledger; the campaign budget is left as it is"
            ),
        }
        Ok(())
    }

    async fn upload_creative(
        &self,
        account: &AccountRef,
        spec: &CreativeSpec,
    ) -> Result<String, PlatformError> {
        self.customer(account)?;
        let kiki_id = spec.kiki_id.trim();
        if kiki_id.is_empty() {
            return Err(invalid("kiki_id", "is empty"));
        }
        let copy = rsa::validate(spec)?;
        let key = format!("rsa:{kiki_id}");
        lock(&self.creatives).insert((account.account_id.clone(), key.clone()), copy);
        Ok(key)
    }

    async fn create_ad(
        &self,
        account: &AccountRef,
        ad_set_id: &str,
        spec: &AdSpec,
    ) -> Result<String, PlatformError> {
        let group = self.ad_group_resource(account, ad_set_id)?;
        not_archived(spec.status, "ad")?;
        let copy = lock(&self.creatives)
            .get(&(account.account_id.clone(), spec.creative_external_id.clone()))
            .cloned()
            .ok_or_else(|| {
                invalid(
                    "creative_external_id",
                    format!(
                        "`{}` is not responsive search ad copy this connector holds for account {}; \
                         upload the creative (again) first",
                        spec.creative_external_id, account.account_id
                    ),
                )
            })?;
        let text = |items: &[String]| {
            items
                .iter()
                .map(|t| json!({ "text": t }))
                .collect::<Vec<_>>()
        };
        let ad = self
            .mutate_one(
                account,
                "adGroupAds",
                json!({ "create": {
                    "adGroup": group,
                    "status": status_name(spec.status),
                    "ad": {
                        "finalUrls": [copy.final_url],
                        "responsiveSearchAd": {
                            "headlines": text(&copy.headlines),
                            "descriptions": text(&copy.descriptions)
                        }
                    }
                }}),
            )
            .await?;
        Ok(id_of(&ad))
    }

    async fn set_status(
        &self,
        account: &AccountRef,
        kind: ObjectKind,
        id: &str,
        status: DeliveryStatus,
    ) -> Result<(), PlatformError> {
        match kind {
            ObjectKind::Campaign => {
                let r = self.campaign_resource(account, id)?;
                self.status_op(account, "campaigns", r, status).await
            }
            ObjectKind::AdSet => {
                let r = self.ad_group_resource(account, id)?;
                self.status_op(account, "adGroups", r, status).await
            }
            ObjectKind::Ad => {
                let r = self.ad_resource(account, id)?;
                self.status_op(account, "adGroupAds", r, status).await
            }
            ObjectKind::Creative => match status {
                DeliveryStatus::Archived => {
                    lock(&self.creatives).remove(&(account.account_id.clone(), id.to_owned()));
                    Ok(())
                }
                _ => Err(invalid(
                    "kind",
                    "Google Ads has no creative apart from its ads; pause or resume the ad",
                )),
            },
        }
    }

    async fn insights(
        &self,
        account: &AccountRef,
        query: &InsightsQuery,
    ) -> Result<Vec<InsightRow>, PlatformError> {
        let gaql = insights::gaql(query)?;
        let rows = self.search_stream(account, &gaql).await?;
        rows.iter().map(|r| insights::row(query.level, r)).collect()
    }

    async fn fetch_breakdown_insights(
        &self,
        account: &AccountRef,
        query: &BreakdownQuery,
    ) -> Result<BreakdownAnswer, PlatformError> {
        let gaql = insights::breakdown_gaql(query)?;
        let rows = self.search_stream(account, &gaql).await?;
        let countries = match query.dimension {
            BreakdownDimension::Country => {
                let ids = insights::country_criteria(&rows);
                if ids.is_empty() {
                    HashMap::new()
                } else {
                    let found = self.search(account, &insights::geo_gaql(&ids)?).await?;
                    insights::country_codes(&found)
                }
            }
            BreakdownDimension::Device => HashMap::new(),
        };
        let parsed = rows
            .iter()
            .map(|r| insights::breakdown_row(query.dimension, r, &countries))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(BreakdownAnswer::Reported {
            rows: insights::merge_breakdown(parsed),
        })
    }

    fn quota(&self, account_id: &str) -> Option<QuotaState> {
        Some(self.quota.state(account_id.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_outside_the_target_are_excluded() {
        let t = Targeting {
            age_min: Some(25),
            age_max: Some(44),
            ..Targeting::default()
        };
        assert_eq!(
            excluded_ages(&t).unwrap(),
            vec![
                "AGE_RANGE_18_24",
                "AGE_RANGE_45_54",
                "AGE_RANGE_55_64",
                "AGE_RANGE_65_UP"
            ]
        );
        assert!(excluded_ages(&Targeting::default()).unwrap().is_empty());
        let t = Targeting {
            age_min: Some(30),
            age_max: Some(20),
            ..Targeting::default()
        };
        assert!(excluded_ages(&t).is_err());
    }

    #[test]
    fn unknown_countries_are_refused_naming_the_field() {
        let t = Targeting {
            countries: vec!["US".into(), "us".into(), "ZZ".into()],
            ..Targeting::default()
        };
        match geo_targets(&t) {
            Err(PlatformError::InvalidRequest { field, .. }) => {
                assert_eq!(field.as_deref(), Some("targeting.countries[2]"))
            }
            other => panic!("{other:?}"),
        }
        let t = Targeting {
            countries: vec!["US".into(), "us".into()],
            ..Targeting::default()
        };
        assert_eq!(geo_targets(&t).unwrap(), vec!["geoTargetConstants/2840"]);
    }

    #[test]
    fn keywords_are_trimmed_and_unique() {
        let t = Targeting {
            interests: vec![
                " running  shoes ".into(),
                "Running Shoes".into(),
                "".into(),
                "trail".into(),
            ],
            ..Targeting::default()
        };
        assert_eq!(keywords(&t), vec!["running shoes", "trail"]);
    }
}
