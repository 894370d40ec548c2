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
//! campaign active) and within their flight (`book.rs`: one read of the
//! objects and one bulk insert per pass). Today is reported as the share of
//! the market's day elapsed (budget pacing within the day), not stored, so
//! numbers keep arriving while someone watches.
//!
//! **Time.** The sandbox reads the market's clock (`super::clock`): the
//! calendar, or accelerated time, where a simulated day passes every
//! `platforms.sandbox_seconds_per_day` real seconds.
//!
//! **Customers.** Every conversion is a synthetic customer of the platform
//! (`kiki_platforms::customers`); [`SandboxPlatform::orders`] lists the orders
//! those customers placed in a date range (first orders and repeats), which
//! the sync ingests as LTV transactions with their acquisition platform.
//!
//! **Countries and devices.** Breakdown insights split each delivered ad-set
//! day across its targeted countries (else a default mix) and the
//! platform's device mix (`kiki_platforms::breakdown`), summed per campaign
//! and day, so they add up to the campaign's insights exactly.

mod book;

use std::sync::Arc;

use kiki_core::{Clock, OrgId};
use kiki_platforms::{
    AccountInfo, AccountRef, AdPlatform, AdSetSpec, AdSpec, BreakdownAnswer, BreakdownQuery,
    CampaignSpec, CreativeSpec, DeliveryStatus, InsightRow, InsightsQuery, Market, ObjectKind,
    PlatformError, acquired, repeat_orders, seed_of,
};
use kiki_store::Db;
use kiki_twin::{Industry, Platform};
use time::Date;

use crate::store::sandbox::SandboxObject;
use crate::store::{self, day_text, parse_day};

/// The smallest daily budget the sandbox accepts, micros of the account's
/// currency (1.00): platforms have minimums, and a client must meet them.
pub const MIN_DAILY_BUDGET_MICROS: i64 = 1_000_000;
/// An ad set's audience when the targeting does not say.
pub const DEFAULT_AUDIENCE: u64 = 2_000_000;
/// The furthest back the sandbox delivers in one go (a year).
pub(crate) const MAX_BACKFILL_DAYS: i64 = 366;

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

pub(crate) fn transient(e: impl std::fmt::Display) -> PlatformError {
    PlatformError::Transient {
        message: format!("sandbox storage: {e}"),
    }
}

fn status_text(s: DeliveryStatus) -> String {
    s.as_str().to_owned()
}

pub(crate) fn is_active(o: &SandboxObject) -> bool {
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

    /// The market's seed of one of this account's objects: its id on this
    /// platform (ids count up per account, so the platform tells two
    /// accounts' first ad sets apart, and their customers too).
    pub(super) fn object_seed(&self, id: &str) -> u64 {
        seed_of(&format!("{}:{id}", self.p()))
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
        // Ids count up per account and kind, as platforms' numeric ids do:
        // an ad set's seed is its id, so the same scenario under the same
        // market seed delivers the same numbers on every run. A concurrent
        // insert that took the number first moves this one to the next.
        let mut n = store::sandbox::count_of_kind(&self.db, self.org, self.p(), kind.as_str())
            .await
            .map_err(transient)?;
        for _ in 0..16 {
            n += 1;
            let id = format!("sbx-{prefix}-{n}");
            let o = SandboxObject {
                id: id.clone(),
                kind: kind.as_str().into(),
                parent_id: parent.map(str::to_owned),
                status: status_text(status),
                spec: spec.clone(),
                first_live_day: None,
            };
            match store::sandbox::insert(&self.db, self.org, self.p(), &o, self.clock.now()).await {
                Ok(()) => return Ok(id),
                // The primary key is the table's only unique index.
                Err(kiki_store::StoreError::UniqueViolation { .. }) => continue,
                Err(e) => return Err(transient(e)),
            }
        }
        Err(PlatformError::Transient {
            message: "the sandbox could not number a new object; try again".into(),
        })
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
        let book = match campaign {
            Some(id) => {
                let c = self.object(id, ObjectKind::Campaign).await?;
                if !is_active(&c) {
                    return Ok(());
                }
                let sets =
                    store::sandbox::of_kind(&self.db, self.org, self.p(), "ad_set", Some(id))
                        .await
                        .map_err(transient)?;
                self.book_of(vec![c], sets).await?
            }
            None => self.book_all().await?,
        };
        self.deliver_book(industry, &book).await?;
        Ok(())
    }

    /// Delivers one ad set's completed days (its campaign is active).
    async fn deliver_ad_set(
        &self,
        industry: Industry,
        s: &SandboxObject,
    ) -> Result<(), PlatformError> {
        let Some(parent) = &s.parent_id else {
            return Ok(());
        };
        let c = self.object(parent, ObjectKind::Campaign).await?;
        let book = self.book_of(vec![c], vec![s.clone()]).await?;
        self.deliver_book(industry, &book).await?;
        Ok(())
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
        let days = store::sandbox::days(
            &self.db,
            self.org,
            self.p(),
            "0000-01-01",
            &day_text(until),
            true,
        )
        .await
        .map_err(transient)?;
        let mut out = Vec::new();
        for d in &days {
            let Some(day) = parse_day(&d.day) else {
                continue;
            };
            let customers = acquired(
                industry,
                self.platform,
                self.object_seed(&d.ad_set_id),
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
        // The copy the platform shows: TikTok's in-feed ads carry their ad
        // text only, every other platform at least one headline.
        if self.p() == "tiktok" {
            if spec
                .primary_text
                .as_deref()
                .is_none_or(|t| t.trim().is_empty())
            {
                return Err(PlatformError::InvalidRequest {
                    field: Some("primary_text".into()),
                    message: "A TikTok creative needs its ad text.".into(),
                });
            }
        } else if spec.headlines.is_empty() {
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
        let (book, days) = self
            .days_between(account, query.since, query.until, &query.campaign_ids)
            .await?;
        let mut out = book::roll_up(query.level, &book, &days);
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

    /// The same delivered days as [`insights`](AdPlatform::insights), each ad
    /// set's day split across countries or devices by the market's model
    /// (`kiki_platforms::breakdown`) and summed per campaign: the rows of a
    /// campaign's day add up to its insights exactly. Every sandbox platform
    /// reports both dimensions.
    async fn fetch_breakdown_insights(
        &self,
        account: &AccountRef,
        query: &BreakdownQuery,
    ) -> Result<BreakdownAnswer, PlatformError> {
        let (book, days) = self
            .days_between(account, query.since, query.until, &query.campaign_ids)
            .await?;
        Ok(BreakdownAnswer::Reported {
            rows: book::split_up(self, query.dimension, &book, &days)?,
        })
    }
}

impl SandboxPlatform {
    /// Delivers what is due, then the ad-set days between two days of the
    /// wanted campaigns (all when none is named), today so far included.
    async fn days_between(
        &self,
        account: &AccountRef,
        since: Date,
        until: Date,
        campaign_ids: &[String],
    ) -> Result<(book::Book, Vec<store::sandbox::DayRow>), PlatformError> {
        if until < since {
            return Err(PlatformError::InvalidRequest {
                field: Some("time_range".into()),
                message: "`until` is before `since`".into(),
            });
        }
        let industry = Self::industry(account);
        let book = self.book_all().await?;
        let delivered = self.deliver_book(industry, &book).await?;
        let wanted = |s: &SandboxObject| {
            campaign_ids.is_empty()
                || s.parent_id
                    .as_ref()
                    .is_some_and(|c| campaign_ids.contains(c))
        };
        let wanted_sets: std::collections::HashSet<&str> = book
            .sets
            .iter()
            .filter(|s| wanted(s))
            .map(|s| s.id.as_str())
            .collect();
        let mut days: Vec<_> = store::sandbox::days(
            &self.db,
            self.org,
            self.p(),
            &day_text(since),
            &day_text(until),
            false,
        )
        .await
        .map_err(transient)?
        .into_iter()
        .filter(|d| wanted_sets.contains(d.ad_set_id.as_str()))
        .collect();
        // Today so far: the day's delivery paced over the hours elapsed
        // (unless the day is already stored: a market clock set back).
        let today = self.today();
        if since <= today && today <= until {
            for s in book.sets.iter().filter(|s| wanted(s) && book.delivers(s)) {
                if delivered.get(&s.id).is_some_and(|last| *last >= today) {
                    continue;
                }
                if let Some(row) = self.today_so_far(industry, &book, s)? {
                    days.push(row);
                }
            }
        }
        Ok((book, days))
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
