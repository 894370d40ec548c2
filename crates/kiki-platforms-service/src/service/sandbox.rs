//! The sandbox market behind the port: an [`AdPlatform`] whose platform-side
//! state (campaigns, ad sets, creatives, ads, statuses, budgets) lives in the
//! `sandbox_*` tables and whose numbers come from the pure market model
//! (`kiki_platforms::market`). It behaves like a platform: ids it hands out,
//! `NotFound` for unknown ids, `InvalidRequest` naming the field for a budget
//! below the minimum, daily insights per campaign / ad set / ad.
//!
//! **Delivery.** A day is delivered once per ad set, with the budget and the
//! creatives the ad set had that day: before any change to an ad set (budget,
//! status, ads) and before insights are read, every completed day since the
//! last delivered one is delivered for the ad sets that are live (ad set and
//! campaign active) and within their flight. Today is reported as the share of the day elapsed on the
//! clock (budget pacing within the day), not stored, so numbers keep arriving
//! while someone watches.
//!
//! **Customers.** Every conversion is a synthetic customer of the platform
//! (`kiki_platforms::customers`); [`SandboxPlatform::orders`] lists the orders
//! those customers placed in a date range (first orders and repeats), which
//! the sync ingests as LTV transactions with their acquisition platform.

use std::sync::Arc;

use kiki_core::{Clock, OrgId};
use kiki_platforms::{
    AccountInfo, AccountRef, AdPlatform, AdSetDay, AdSetSpec, AdSpec, CampaignSpec,
    CreativeQuality, CreativeSpec, DeliveryStatus, InsightLevel, InsightRow, InsightsQuery, Market,
    ObjectKind, PlatformError, acquired, repeat_orders, seed_of,
};
use kiki_store::Db;
use kiki_twin::{Industry, Platform};
use time::{Date, Duration};
use uuid::Uuid;

use crate::store::sandbox::{DayRow, SandboxObject};
use crate::store::{self, day_text, parse_day};

/// The smallest daily budget the sandbox accepts, micros of the account's
/// currency (1.00): platforms have minimums, and a client must meet them.
pub const MIN_DAILY_BUDGET_MICROS: i64 = 1_000_000;
/// An ad set's audience when the targeting does not say.
pub const DEFAULT_AUDIENCE: u64 = 2_000_000;
/// The furthest back the sandbox delivers in one go (a year).
const MAX_BACKFILL_DAYS: i64 = 366;

/// The sandbox account of an industry: `sandbox:<industry>`.
pub fn account_id(industry: Industry) -> String {
    format!("sandbox:{}", industry.as_str())
}

/// The industry a sandbox account is a market for.
pub fn industry_of(account_id: &str) -> Option<Industry> {
    account_id
        .strip_prefix("sandbox:")
        .and_then(Industry::parse)
}

/// One synthetic customer's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxOrder {
    pub customer_id: String,
    pub order_id: String,
    pub day: Date,
    pub value_micros: i64,
}

/// The sandbox market for one organisation on one platform.
#[derive(Debug, Clone)]
pub struct SandboxPlatform {
    db: Db,
    clock: Arc<dyn Clock>,
    org: OrgId,
    platform: Platform,
    market: Market,
    currency: String,
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, PlatformError> {
    serde_json::to_string(v).map_err(|e| PlatformError::Transient {
        message: format!("encoding: {e}"),
    })
}

fn transient(e: impl std::fmt::Display) -> PlatformError {
    PlatformError::Transient {
        message: format!("sandbox storage: {e}"),
    }
}

fn status_text(s: DeliveryStatus) -> String {
    s.as_str().to_owned()
}

fn is_active(o: &SandboxObject) -> bool {
    o.status == "active"
}

impl SandboxPlatform {
    pub fn new(
        db: Db,
        clock: Arc<dyn Clock>,
        org: OrgId,
        platform: Platform,
        market: Market,
        currency: String,
    ) -> SandboxPlatform {
        SandboxPlatform {
            db,
            clock,
            org,
            platform,
            market,
            currency,
        }
    }

    fn p(&self) -> &'static str {
        self.platform.as_str()
    }

    fn today(&self) -> Date {
        self.clock.now().date()
    }

    fn industry(account: &AccountRef) -> Industry {
        industry_of(&account.account_id).unwrap_or_default()
    }

    async fn object(&self, id: &str, kind: ObjectKind) -> Result<SandboxObject, PlatformError> {
        match store::sandbox::get(&self.db, self.org, self.p(), id)
            .await
            .map_err(transient)?
        {
            Some(o) if o.kind == kind.as_str() => Ok(o),
            _ => Err(PlatformError::NotFound {
                message: format!("no {} with id {id} in this sandbox account", kind.as_str()),
            }),
        }
    }

    async fn insert(
        &self,
        kind: ObjectKind,
        parent: Option<&str>,
        status: DeliveryStatus,
        spec: String,
    ) -> Result<String, PlatformError> {
        let prefix = match kind {
            ObjectKind::Campaign => "c",
            ObjectKind::AdSet => "as",
            ObjectKind::Ad => "ad",
            ObjectKind::Creative => "cr",
        };
        let id = format!("sbx-{prefix}-{}", Uuid::now_v7().simple());
        let o = SandboxObject {
            id: id.clone(),
            kind: kind.as_str().into(),
            parent_id: parent.map(str::to_owned),
            status: status_text(status),
            spec,
            first_live_day: None,
        };
        store::sandbox::insert(&self.db, self.org, self.p(), &o, self.clock.now())
            .await
            .map_err(transient)?;
        Ok(id)
    }

    fn check_budget(micros: i64, field: &str) -> Result<(), PlatformError> {
        if micros < MIN_DAILY_BUDGET_MICROS {
            return Err(PlatformError::InvalidRequest {
                field: Some(field.into()),
                message: "The daily budget is below the sandbox's minimum of 1.00 in the account's currency.".into(),
            });
        }
        Ok(())
    }

    /// Delivers every completed day, up to yesterday, of the live ad sets
    /// under `campaign` (or of the whole account).
    async fn deliver(
        &self,
        industry: Industry,
        campaign: Option<&str>,
    ) -> Result<(), PlatformError> {
        let campaigns = match campaign {
            Some(id) => vec![self.object(id, ObjectKind::Campaign).await?],
            None => store::sandbox::of_kind(&self.db, self.org, self.p(), "campaign", None)
                .await
                .map_err(transient)?,
        };
        for c in campaigns.iter().filter(|c| is_active(c)) {
            let sets = store::sandbox::of_kind(&self.db, self.org, self.p(), "ad_set", Some(&c.id))
                .await
                .map_err(transient)?;
            for s in sets.iter().filter(|s| is_active(s)) {
                self.deliver_ad_set(industry, s).await?;
            }
        }
        Ok(())
    }

    async fn deliver_ad_set(
        &self,
        industry: Industry,
        s: &SandboxObject,
    ) -> Result<(), PlatformError> {
        let today = self.today();
        let Some(live_from) = s.first_live_day.as_deref().and_then(parse_day) else {
            return Ok(());
        };
        let last = store::sandbox::last_day(&self.db, self.org, self.p(), &s.id)
            .await
            .map_err(transient)?
            .as_deref()
            .and_then(parse_day);
        let mut from = match last {
            Some(l) if l >= live_from => l + Duration::days(1),
            _ => live_from,
        };
        from = from.max(today - Duration::days(MAX_BACKFILL_DAYS));
        let spec: AdSetSpec = serde_json::from_str(&s.spec).map_err(transient)?;
        let mut rows = Vec::new();
        let mut d = from;
        while d < today {
            if spec.start.is_some_and(|st| d < st) || spec.end.is_some_and(|e| d > e) {
                // Outside the ad set's flight: nothing delivered, nothing to record.
                d += Duration::days(1);
                continue;
            }
            let (outcome, _) = self
                .market
                .day_with_customers(&self.ad_set_day(industry, s, d).await?);
            rows.push(DayRow {
                ad_set_id: s.id.clone(),
                day: day_text(d),
                spend_micros: outcome.spend_micros,
                impressions: outcome.impressions as i64,
                reach: outcome.reach as i64,
                clicks: outcome.clicks as i64,
                conversions: outcome.conversions as i64,
                conversion_value_micros: outcome.conversion_value_micros,
                frequency: outcome.frequency,
            });
            d += Duration::days(1);
        }
        store::sandbox::insert_days(&self.db, self.org, self.p(), &rows)
            .await
            .map_err(transient)?;
        Ok(())
    }

    async fn ad_set_day(
        &self,
        industry: Industry,
        s: &SandboxObject,
        day: Date,
    ) -> Result<AdSetDay, PlatformError> {
        let spec: AdSetSpec = serde_json::from_str(&s.spec).map_err(transient)?;
        let ads = store::sandbox::of_kind(&self.db, self.org, self.p(), "ad", Some(&s.id))
            .await
            .map_err(transient)?;
        let mut creatives = Vec::new();
        for ad in ads.iter().filter(|a| is_active(a)) {
            let a: AdSpec = serde_json::from_str(&ad.spec).map_err(transient)?;
            if let Ok(c) = self
                .object(&a.creative_external_id, ObjectKind::Creative)
                .await
            {
                let cs: CreativeSpec = serde_json::from_str(&c.spec).map_err(transient)?;
                creatives.push(CreativeQuality {
                    seed: seed_of(&cs.kiki_id),
                    approved: cs.approved,
                });
            }
        }
        let live_from = s
            .first_live_day
            .as_deref()
            .and_then(parse_day)
            .unwrap_or(day);
        Ok(AdSetDay {
            platform: self.platform,
            industry,
            seed: seed_of(&s.id),
            day,
            days_live: (day - live_from).whole_days().max(0) as u32,
            daily_budget_micros: spec.daily_budget_micros,
            audience_size: spec.audience_size.unwrap_or(DEFAULT_AUDIENCE),
            creatives,
        })
    }

    /// Orders placed between `since` and `until` (inclusive) by the customers
    /// the account's ad sets acquired: each customer's first order on the day
    /// it converted and its repeat orders after.
    pub async fn orders(
        &self,
        account: &AccountRef,
        since: Date,
        until: Date,
    ) -> Result<Vec<SandboxOrder>, PlatformError> {
        let industry = Self::industry(account);
        self.deliver(industry, None).await?;
        let sets = store::sandbox::of_kind(&self.db, self.org, self.p(), "ad_set", None)
            .await
            .map_err(transient)?;
        let ids: Vec<String> = sets.iter().map(|s| s.id.clone()).collect();
        let days = store::sandbox::days(
            &self.db,
            self.org,
            self.p(),
            &ids,
            "0000-01-01",
            &day_text(until),
        )
        .await
        .map_err(transient)?;
        let mut out = Vec::new();
        for d in days.iter().filter(|d| d.conversions > 0) {
            let Some(day) = parse_day(&d.day) else {
                continue;
            };
            let customers = acquired(
                industry,
                self.platform,
                seed_of(&d.ad_set_id),
                day,
                d.conversions as u64,
            );
            for c in customers {
                if c.acquired >= since {
                    out.push(SandboxOrder {
                        customer_id: c.id.clone(),
                        order_id: format!("{}-0", c.id),
                        day: c.acquired,
                        value_micros: c.first_order_micros,
                    });
                }
                for (k, o) in repeat_orders(industry, &c, until).into_iter().enumerate() {
                    if o.day >= since {
                        out.push(SandboxOrder {
                            customer_id: c.id.clone(),
                            order_id: format!("{}-{}", c.id, k + 1),
                            day: o.day,
                            value_micros: o.value_micros,
                        });
                    }
                }
            }
        }
        out.sort_by(|a, b| (a.day, &a.order_id).cmp(&(b.day, &b.order_id)));
        Ok(out)
    }

    /// Sets an ad set's first live day when it starts delivering.
    async fn mark_live(&self, s: &mut SandboxObject) {
        if s.first_live_day.is_none() && is_active(s) {
            s.first_live_day = Some(day_text(self.today()));
        }
    }

    /// Whether the ad set and its campaign are both active.
    async fn ad_set_runs(&self, s: &SandboxObject) -> Result<bool, PlatformError> {
        if !is_active(s) {
            return Ok(false);
        }
        let Some(parent) = &s.parent_id else {
            return Ok(false);
        };
        Ok(is_active(&self.object(parent, ObjectKind::Campaign).await?))
    }
}

#[async_trait::async_trait]
impl AdPlatform for SandboxPlatform {
    fn platform(&self) -> Platform {
        self.platform
    }

    async fn verify(&self, account: &AccountRef) -> Result<AccountInfo, PlatformError> {
        let industry = industry_of(&account.account_id).ok_or_else(|| PlatformError::NotFound {
            message: format!(
                "{} is not a sandbox account (they are named sandbox:<industry>)",
                account.account_id
            ),
        })?;
        Ok(AccountInfo {
            account_id: account.account_id.clone(),
            name: format!(
                "Sandbox market: {} ({})",
                self.platform.display_name(),
                industry.as_str()
            ),
            currency: self.currency.clone(),
            time_zone: "UTC".into(),
        })
    }

    async fn create_campaign(
        &self,
        _account: &AccountRef,
        spec: &CampaignSpec,
    ) -> Result<String, PlatformError> {
        if let Some(b) = spec.daily_budget_micros {
            Self::check_budget(b, "daily_budget")?;
        }
        if spec.name.trim().is_empty() {
            return Err(PlatformError::InvalidRequest {
                field: Some("name".into()),
                message: "A campaign needs a name.".into(),
            });
        }
        self.insert(ObjectKind::Campaign, None, spec.status, json(spec)?)
            .await
    }

    async fn update_campaign(
        &self,
        account: &AccountRef,
        campaign_id: &str,
        spec: &CampaignSpec,
    ) -> Result<(), PlatformError> {
        if let Some(b) = spec.daily_budget_micros {
            Self::check_budget(b, "daily_budget")?;
        }
        let mut c = self.object(campaign_id, ObjectKind::Campaign).await?;
        self.deliver(Self::industry(account), Some(campaign_id))
            .await?;
        c.status = status_text(spec.status);
        c.spec = json(spec)?;
        store::sandbox::update(&self.db, self.org, self.p(), &c, self.clock.now())
            .await
            .map_err(transient)?;
        self.start_children(&c).await
    }

    async fn create_ad_set(
        &self,
        _account: &AccountRef,
        campaign_id: &str,
        spec: &AdSetSpec,
    ) -> Result<String, PlatformError> {
        Self::check_budget(spec.daily_budget_micros, "daily_budget")?;
        self.object(campaign_id, ObjectKind::Campaign).await?;
        let id = self
            .insert(
                ObjectKind::AdSet,
                Some(campaign_id),
                spec.status,
                json(spec)?,
            )
            .await?;
        let mut s = self.object(&id, ObjectKind::AdSet).await?;
        if self.ad_set_runs(&s).await? {
            self.mark_live(&mut s).await;
            store::sandbox::update(&self.db, self.org, self.p(), &s, self.clock.now())
                .await
                .map_err(transient)?;
        }
        Ok(id)
    }

    async fn update_ad_set(
        &self,
        account: &AccountRef,
        ad_set_id: &str,
        spec: &AdSetSpec,
    ) -> Result<(), PlatformError> {
        Self::check_budget(spec.daily_budget_micros, "daily_budget")?;
        let mut s = self.object(ad_set_id, ObjectKind::AdSet).await?;
        // The days so far keep the budget they had.
        if self.ad_set_runs(&s).await? {
            self.deliver_ad_set(Self::industry(account), &s).await?;
        }
        s.status = status_text(spec.status);
        s.spec = json(spec)?;
        if self.ad_set_runs(&s).await? {
            self.mark_live(&mut s).await;
        }
        store::sandbox::update(&self.db, self.org, self.p(), &s, self.clock.now())
            .await
            .map_err(transient)?;
        Ok(())
    }

    async fn upload_creative(
        &self,
        _account: &AccountRef,
        spec: &CreativeSpec,
    ) -> Result<String, PlatformError> {
        if spec.headlines.is_empty() {
            return Err(PlatformError::InvalidRequest {
                field: Some("headlines".into()),
                message: "A creative needs at least one headline.".into(),
            });
        }
        self.insert(
            ObjectKind::Creative,
            None,
            DeliveryStatus::Active,
            json(spec)?,
        )
        .await
    }

    async fn create_ad(
        &self,
        account: &AccountRef,
        ad_set_id: &str,
        spec: &AdSpec,
    ) -> Result<String, PlatformError> {
        let s = self.object(ad_set_id, ObjectKind::AdSet).await?;
        self.object(&spec.creative_external_id, ObjectKind::Creative)
            .await
            .map_err(|_| PlatformError::InvalidRequest {
                field: Some("creative".into()),
                message: format!("no creative {} in this account", spec.creative_external_id),
            })?;
        if self.ad_set_runs(&s).await? {
            self.deliver_ad_set(Self::industry(account), &s).await?;
        }
        self.insert(ObjectKind::Ad, Some(ad_set_id), spec.status, json(spec)?)
            .await
    }

    async fn set_status(
        &self,
        account: &AccountRef,
        kind: ObjectKind,
        id: &str,
        status: DeliveryStatus,
    ) -> Result<(), PlatformError> {
        let industry = Self::industry(account);
        let mut o = self.object(id, kind).await?;
        if o.status == "archived" && status != DeliveryStatus::Archived {
            return Err(PlatformError::InvalidRequest {
                field: Some("status".into()),
                message: format!("the {} is archived and cannot run again", kind.as_str()),
            });
        }
        // Deliver the days so far under the old status.
        match kind {
            ObjectKind::Campaign => self.deliver(industry, Some(id)).await?,
            ObjectKind::AdSet if self.ad_set_runs(&o).await? => {
                self.deliver_ad_set(industry, &o).await?
            }
            ObjectKind::Ad => {
                if let Some(parent) = &o.parent_id {
                    let s = self.object(parent, ObjectKind::AdSet).await?;
                    if self.ad_set_runs(&s).await? {
                        self.deliver_ad_set(industry, &s).await?;
                    }
                }
            }
            _ => {}
        }
        o.status = status_text(status);
        if kind == ObjectKind::AdSet && self.ad_set_runs(&o).await? {
            self.mark_live(&mut o).await;
        }
        store::sandbox::update(&self.db, self.org, self.p(), &o, self.clock.now())
            .await
            .map_err(transient)?;
        if kind == ObjectKind::Campaign {
            self.start_children(&o).await?;
        }
        Ok(())
    }

    async fn insights(
        &self,
        account: &AccountRef,
        query: &InsightsQuery,
    ) -> Result<Vec<InsightRow>, PlatformError> {
        if query.until < query.since {
            return Err(PlatformError::InvalidRequest {
                field: Some("time_range".into()),
                message: "`until` is before `since`".into(),
            });
        }
        let industry = Self::industry(account);
        self.deliver(industry, None).await?;
        let campaigns = store::sandbox::of_kind(&self.db, self.org, self.p(), "campaign", None)
            .await
            .map_err(transient)?;
        let today = self.today();
        let now = self.clock.now();
        let elapsed = (now - today.midnight().assume_utc()).as_seconds_f64() / 86_400.0;
        let mut out = Vec::new();
        for c in campaigns
            .iter()
            .filter(|c| query.campaign_ids.is_empty() || query.campaign_ids.contains(&c.id))
        {
            let sets = store::sandbox::of_kind(&self.db, self.org, self.p(), "ad_set", Some(&c.id))
                .await
                .map_err(transient)?;
            let ids: Vec<String> = sets.iter().map(|s| s.id.clone()).collect();
            let mut days = store::sandbox::days(
                &self.db,
                self.org,
                self.p(),
                &ids,
                &day_text(query.since),
                &day_text(query.until),
            )
            .await
            .map_err(transient)?;
            // Today so far: the day's delivery paced over the hours elapsed.
            if query.since <= today && today <= query.until && is_active(c) {
                for s in sets
                    .iter()
                    .filter(|s| is_active(s) && s.first_live_day.is_some())
                {
                    let spec: AdSetSpec = serde_json::from_str(&s.spec).map_err(transient)?;
                    if spec.start.is_some_and(|st| today < st)
                        || spec.end.is_some_and(|e| today > e)
                    {
                        continue;
                    }
                    let (o, _) = self
                        .market
                        .day_with_customers(&self.ad_set_day(industry, s, today).await?);
                    let f = elapsed.clamp(0.0, 1.0);
                    let part = |v: u64| (v as f64 * f).floor() as i64;
                    let conversions = part(o.conversions);
                    let value = if o.conversions > 0 {
                        (o.conversion_value_micros as f64 * conversions as f64
                            / o.conversions as f64)
                            .round() as i64
                    } else {
                        0
                    };
                    days.push(DayRow {
                        ad_set_id: s.id.clone(),
                        day: day_text(today),
                        spend_micros: (o.spend_micros as f64 * f).round() as i64,
                        impressions: part(o.impressions),
                        reach: part(o.reach),
                        clicks: part(o.clicks),
                        conversions,
                        conversion_value_micros: value,
                        frequency: o.frequency,
                    });
                }
            }
            rows_for(query.level, &c.id, &sets, &days, &mut out, self).await?;
        }
        out.sort_by(|a, b| {
            (a.day, &a.campaign_id, &a.ad_set_id, &a.ad_id).cmp(&(
                b.day,
                &b.campaign_id,
                &b.ad_set_id,
                &b.ad_id,
            ))
        });
        Ok(out)
    }
}

impl SandboxPlatform {
    /// A campaign that becomes active starts its active ad sets' delivery.
    async fn start_children(&self, c: &SandboxObject) -> Result<(), PlatformError> {
        if !is_active(c) {
            return Ok(());
        }
        let sets = store::sandbox::of_kind(&self.db, self.org, self.p(), "ad_set", Some(&c.id))
            .await
            .map_err(transient)?;
        for mut s in sets
            .into_iter()
            .filter(|s| is_active(s) && s.first_live_day.is_none())
        {
            self.mark_live(&mut s).await;
            store::sandbox::update(&self.db, self.org, self.p(), &s, self.clock.now())
                .await
                .map_err(transient)?;
        }
        Ok(())
    }
}

/// Rolls delivered ad-set days up to the level asked for. Ads split their
/// ad set's day evenly (the market models the ad set's creatives together).
async fn rows_for(
    level: InsightLevel,
    campaign: &str,
    sets: &[SandboxObject],
    days: &[DayRow],
    out: &mut Vec<InsightRow>,
    sb: &SandboxPlatform,
) -> Result<(), PlatformError> {
    let row = |d: &DayRow, day: Date| InsightRow {
        day,
        campaign_id: campaign.to_owned(),
        ad_set_id: None,
        ad_id: None,
        spend_micros: d.spend_micros,
        impressions: d.impressions.max(0) as u64,
        clicks: d.clicks.max(0) as u64,
        conversions: d.conversions as f64,
        conversion_value_micros: d.conversion_value_micros,
        reach: Some(d.reach.max(0) as u64),
        frequency: Some(d.frequency),
    };
    match level {
        InsightLevel::Campaign => {
            let mut by_day: std::collections::BTreeMap<Date, InsightRow> = Default::default();
            for d in days {
                let Some(day) = parse_day(&d.day) else {
                    continue;
                };
                let r = row(d, day);
                by_day
                    .entry(day)
                    .and_modify(|t| {
                        t.spend_micros += r.spend_micros;
                        t.impressions += r.impressions;
                        t.clicks += r.clicks;
                        t.conversions += r.conversions;
                        t.conversion_value_micros += r.conversion_value_micros;
                        t.reach = Some(t.reach.unwrap_or(0) + r.reach.unwrap_or(0));
                    })
                    .or_insert(r);
            }
            for (_, mut r) in by_day {
                r.frequency = match r.reach {
                    Some(reach) if reach > 0 => Some(r.impressions as f64 / reach as f64),
                    _ => None,
                };
                out.push(r);
            }
        }
        InsightLevel::AdSet => {
            for d in days {
                let Some(day) = parse_day(&d.day) else {
                    continue;
                };
                let mut r = row(d, day);
                r.ad_set_id = Some(d.ad_set_id.clone());
                out.push(r);
            }
        }
        InsightLevel::Ad => {
            for s in sets {
                let ads: Vec<SandboxObject> =
                    store::sandbox::of_kind(&sb.db, sb.org, sb.p(), "ad", Some(&s.id))
                        .await
                        .map_err(transient)?
                        .into_iter()
                        .filter(is_active)
                        .collect();
                if ads.is_empty() {
                    continue;
                }
                let n = ads.len() as i64;
                for d in days.iter().filter(|d| d.ad_set_id == s.id) {
                    let Some(day) = parse_day(&d.day) else {
                        continue;
                    };
                    for (k, ad) in ads.iter().enumerate() {
                        let k = k as i64;
                        // Integer shares that add up to the ad set's day.
                        let share = |v: i64| v / n + i64::from(k < v % n);
                        let share_u = |v: u64| share(v as i64).max(0) as u64;
                        let base = row(d, day);
                        out.push(InsightRow {
                            ad_set_id: Some(s.id.clone()),
                            ad_id: Some(ad.id.clone()),
                            spend_micros: share(d.spend_micros),
                            impressions: share_u(base.impressions),
                            clicks: share_u(base.clicks),
                            conversions: share(d.conversions) as f64,
                            conversion_value_micros: share(d.conversion_value_micros),
                            reach: None,
                            frequency: None,
                            ..base
                        });
                    }
                }
            }
        }
    }
    Ok(())
}
