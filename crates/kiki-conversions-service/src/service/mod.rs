//! The conversion use cases. A conversion is reported by a [`Reporter`] —
//! a signed-in caller or API key (the authentication layer's principal), a
//! request signed with the organisation's secret, or the browser snippet
//! with the organisation's site key — and recorded only for that
//! organisation's own click ids; every change commits with its audit entry
//! through the recorder, and a recorded conversion is credited to the
//! clicked line item (the bidder's pCVR) in the same transaction.
//!
//! - `mod.rs`: the service, recording, the list, the daily summary and the
//!   daily conversions per line item (what analytics rolls up).
//! - `keys.rs`: the signing secret, the site key and the snippet's
//!   origins; authentication by signature and by site key; the site key's
//!   rate limit.

mod keys;

use std::collections::HashMap;
use std::sync::Arc;

use kiki_bidder_service::BidderService;
use kiki_core::{Clock, Currency, Money, OrgId, Page, PageRequest, TenantScope};
use kiki_explain::Recorder;
use kiki_identity::{Principal, RequestMeta};
use kiki_server::Platform;
use kiki_shield::{Actor, AuditEvent, Keyring};
use kiki_store::{Cache, Db};
use serde_json::json;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::config::ConversionsConfig;
use crate::domain::{
    Attribution, CheckedConversion, ConversionRequest, ConversionView, DailyConversions,
    DailySummary, LineItemConversions, Source, attribution,
};
use crate::error::{ConversionsError, Result};
use crate::events::ConversionRecorded;
use crate::store::{self, ConversionRow, Filter, Key};

/// Who reports a conversion, and for which organisation. Built only by the
/// authentication layer's principal ([`Reporter::principal`]) or by this
/// service from a verified signature or site key, never from a request's
/// fields.
#[derive(Debug, Clone)]
pub struct Reporter {
    org: OrgId,
    actor: Actor,
    source: Source,
    /// `user:<id>`, `api_key:<id>`, `signature:<key id>` or `site`.
    by: String,
}

impl Reporter {
    /// A signed-in person or an API key, acting in its active organisation.
    pub fn principal(p: &Principal) -> Reporter {
        let actor = p.actor();
        let by = match actor.id() {
            Some(id) => format!("{}:{id}", actor.kind()),
            None => actor.kind().to_owned(),
        };
        Reporter {
            org: p.scope.org_id(),
            actor,
            source: Source::Api,
            by,
        }
    }

    /// The organisation the conversion is recorded for.
    pub fn org(&self) -> OrgId {
        self.org
    }

    pub fn source(&self) -> Source {
        self.source
    }
}

/// Whether a report recorded a new conversion or repeated a recorded one.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    New(ConversionView),
    /// The order was recorded before with the same value and click: the
    /// first conversion, counted once.
    Repeat(ConversionView),
}

/// The filters of the list and the daily summary.
#[derive(Debug, Clone, Default)]
pub struct ConversionFilter {
    pub campaign_id: Option<Uuid>,
    /// First UTC day (included).
    pub since: Option<Date>,
    /// Last UTC day (included).
    pub until: Option<Date>,
}

impl ConversionFilter {
    /// The store's filter. A range whose last day is before its first holds
    /// no day: it selects nothing.
    fn store_filter(&self) -> Filter {
        Filter {
            campaign: self.campaign_id,
            since: self.since.map(|d| d.to_string()),
            until: self.until.map(|d| d.to_string()),
        }
    }
}

/// The conversions service. Cheap to share behind an `Arc`.
pub struct ConversionsService {
    db: Db,
    record: Recorder,
    clock: Arc<dyn Clock>,
    keyring: Keyring,
    cache: Cache,
    bidder: Arc<BidderService>,
    config: ConversionsConfig,
    /// The snippet, with the attribution window written in.
    snippet: String,
    /// Each site key's rate bucket when Redis is not there to share one:
    /// the theoretical arrival time of the next request (GCRA).
    local_rate: parking_lot::Mutex<HashMap<OrgId, OffsetDateTime>>,
}

impl std::fmt::Debug for ConversionsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConversionsService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// An audit event stamped with the request.
fn audit_event(org: OrgId, actor: Actor, action: &str, meta: &RequestMeta) -> AuditEvent {
    AuditEvent::new(Some(org), actor, action).context(
        meta.ip,
        meta.user_agent.clone(),
        meta.request_id.clone(),
    )
}

impl ConversionRow {
    fn view(self) -> Result<ConversionView> {
        let currency = Currency::parse(&self.currency)
            .map_err(|_| ConversionsError::Corrupt(format!("currency `{}`", self.currency)))?;
        let source = Source::parse(&self.source)
            .ok_or_else(|| ConversionsError::Corrupt(format!("source `{}`", self.source)))?;
        Ok(ConversionView {
            id: self.id,
            order_id: self.order_id,
            campaign_id: self.campaign_id,
            line_item_id: self.line_item_id,
            creative_id: self.creative_id,
            bid_id: self.bid_id,
            clicked_at: self.clicked_at,
            value: Money::from_micros(self.value_micros, currency),
            occurred_at: self.occurred_at,
            customer_id: self.customer_id,
            source,
            recorded_by: self.recorded_by,
            recorded_at: self.recorded_at,
        })
    }

    /// The first report of an order answers a repeat with the same value
    /// and click; anything else is a conflict naming the order.
    fn repeated_by(self, c: &CheckedConversion) -> Result<Recorded> {
        let same = self.value_micros == c.value.micros
            && self.currency == c.value.currency.as_str()
            && self.click_id == c.click_id;
        if same {
            Ok(Recorded::Repeat(self.view()?))
        } else {
            Err(ConversionsError::OrderConflict {
                order_id: self.order_id,
                conversion_id: self.id,
            })
        }
    }
}

impl ConversionsService {
    pub fn new(
        platform: &Platform,
        bidder: Arc<BidderService>,
        config: ConversionsConfig,
    ) -> ConversionsService {
        ConversionsService {
            db: platform.db.clone(),
            record: platform.recorder(),
            clock: platform.clock.clone(),
            keyring: platform.keyring.clone(),
            cache: platform.cache.clone(),
            bidder,
            snippet: crate::domain::snippet(config.attribution_window_days),
            config,
            local_rate: parking_lot::Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &ConversionsConfig {
        &self.config
    }

    /// The order-confirmation snippet (JavaScript).
    pub fn snippet(&self) -> &str {
        &self.snippet
    }

    /// Records a reported order as a conversion of the click it names: once
    /// per order id in the organisation (a repeat with the same value and
    /// click answers the first conversion; another value or click is a
    /// conflict), only for a click id the bidder issued for the reporter's
    /// organisation (anything else reads like an id never issued), within
    /// the attribution window. The conversion, its credit to the clicked
    /// line item (pCVR), its audit entry and `conversions.recorded` commit
    /// together.
    pub async fn record(
        &self,
        by: &Reporter,
        meta: &RequestMeta,
        req: &ConversionRequest,
    ) -> Result<Recorded> {
        let now = self.clock.now();
        let c = req.checked(now).map_err(ConversionsError::Invalid)?;
        let org = by.org;
        if let Some(first) = store::conversion_by_order(&self.db, org, &c.order_id).await? {
            return first.repeated_by(&c);
        }
        let click = match self.bidder.read_click(&c.click_id).await? {
            Some(k) if k.org() == org => k,
            _ => return Err(ConversionsError::unknown_click()),
        };
        match attribution(click.clicked_at(), c.occurred_at, self.config.window_secs()) {
            Attribution::Attributed => {}
            Attribution::BeforeClick => {
                return Err(ConversionsError::field(
                    "occurred_at",
                    "Before the ad click it would be attributed to.",
                ));
            }
            Attribution::OutsideWindow => {
                return Err(ConversionsError::field(
                    "click_id",
                    format!(
                        "The click was more than {} days before the order: outside the attribution window.",
                        self.config.attribution_window_days
                    ),
                ));
            }
        }
        let row = ConversionRow {
            id: Uuid::now_v7(),
            org_id: org.0,
            order_id: c.order_id.clone(),
            click_id: c.click_id.clone(),
            campaign_id: click.campaign(),
            line_item_id: click.line_item().0,
            creative_id: click.creative().to_owned(),
            bid_id: click.bid(),
            clicked_at: click.clicked_at(),
            value_micros: c.value.micros,
            currency: c.value.currency.to_string(),
            occurred_at: c.occurred_at,
            // The UTC day, whatever offset the report was written in.
            occurred_day: c
                .occurred_at
                .to_offset(time::UtcOffset::UTC)
                .date()
                .to_string(),
            customer_id: c.customer_id.clone(),
            source: by.source.as_str().to_owned(),
            recorded_by: by.by.clone(),
            recorded_at: now,
        };
        let mut tx = self.record.begin().await?;
        match store::insert_conversion(&mut tx, &row).await {
            Ok(()) => {}
            Err(e) if store::is_order_taken(&e) => {
                // Reported twice at once: the other report won.
                drop(tx);
                let first = store::conversion_by_order(&self.db, org, &c.order_id)
                    .await?
                    .ok_or_else(|| ConversionsError::Corrupt("an order taken and gone".into()))?;
                return first.repeated_by(&c);
            }
            Err(e) => return Err(e.into()),
        }
        self.bidder
            .credit_conversion(&mut tx, &click, c.occurred_at)
            .await?;
        tx.audit(
            audit_event(org, by.actor.clone(), "conversions.recorded", meta)
                .target("conversion", row.id)
                .details(json!({
                    "order_id": row.order_id,
                    "campaign_id": row.campaign_id,
                    "line_item_id": row.line_item_id,
                    "value": c.value,
                    "source": row.source,
                    "recorded_by": row.recorded_by,
                })),
        )
        .await?;
        tx.publish(
            Some(org),
            &ConversionRecorded {
                conversion_id: row.id,
                order_id: row.order_id.clone(),
                campaign_id: row.campaign_id,
                line_item_id: row.line_item_id,
                creative_id: row.creative_id.clone(),
                value: c.value,
                occurred_at: row.occurred_at,
                source: by.source,
            },
        );
        tx.commit().await?;
        Ok(Recorded::New(row.view()?))
    }

    /// The organisation's conversions, latest order first.
    pub async fn list(
        &self,
        scope: &TenantScope,
        filter: &ConversionFilter,
        page: &PageRequest,
    ) -> Result<Page<ConversionView>> {
        let f = filter.store_filter();
        let key: Option<Key> = page
            .after()
            .map_err(|e| ConversionsError::Invalid(vec![e]))?;
        let rows = store::list_conversions(&self.db, scope.org_id(), &f, page.fetch(), key).await?;
        let views = rows
            .into_iter()
            .map(ConversionRow::view)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::keyset(views, page.limit(), |v| (v.occurred_at, v.id)))
    }

    /// Conversions and their value per UTC day and campaign (and currency),
    /// from `since` to `until` (default: the 30 days to today). Only days
    /// with conversions have a row, so any range is cheap to answer.
    pub async fn daily(
        &self,
        scope: &TenantScope,
        filter: &ConversionFilter,
    ) -> Result<DailySummary> {
        let today = self.clock.now().date();
        let until = filter.until.unwrap_or(today);
        let since = filter
            .since
            .unwrap_or_else(|| until.saturating_sub(time::Duration::days(29)));
        let resolved = ConversionFilter {
            campaign_id: filter.campaign_id,
            since: Some(since),
            until: Some(until),
        };
        let f = resolved.store_filter();
        let rows = store::daily(&self.db, scope.org_id(), &f).await?;
        let mut days = Vec::with_capacity(rows.len());
        for r in rows {
            let bad = |what: &str| ConversionsError::Corrupt(format!("{what} of a daily row"));
            let day = Date::parse(
                &r.occurred_day,
                &time::format_description::well_known::Iso8601::DATE,
            )
            .map_err(|_| bad("day"))?;
            let currency = Currency::parse(&r.currency).map_err(|_| bad("currency"))?;
            days.push(DailyConversions {
                day,
                campaign_id: r.campaign_id,
                conversions: r.conversions,
                value: Money::from_micros(r.value_micros.unwrap_or(0), currency),
            });
        }
        Ok(DailySummary { since, until, days })
    }

    /// The most days one [`ConversionsService::daily_by_line_item`] read
    /// covers.
    pub const LINE_ITEM_DAYS_MAX: i64 = 366;

    /// Conversions and their value per UTC day, campaign, clicked line item
    /// and currency, from `since` to `until` (both included), oldest day
    /// first. Only groups with conversions have a row (one per day, line
    /// item and currency), and the range is at most
    /// [`Self::LINE_ITEM_DAYS_MAX`] days.
    pub async fn daily_by_line_item(
        &self,
        scope: &TenantScope,
        since: Date,
        until: Date,
    ) -> Result<Vec<LineItemConversions>> {
        if until < since {
            return Err(ConversionsError::field(
                "until",
                "Must not be before since.",
            ));
        }
        if (until - since).whole_days() + 1 > Self::LINE_ITEM_DAYS_MAX {
            return Err(ConversionsError::field(
                "since",
                format!("A range holds at most {} days.", Self::LINE_ITEM_DAYS_MAX),
            ));
        }
        let f = ConversionFilter {
            campaign_id: None,
            since: Some(since),
            until: Some(until),
        }
        .store_filter();
        let rows = store::daily_by_line_item(&self.db, scope.org_id(), &f).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let bad = |what: &str| ConversionsError::Corrupt(format!("{what} of a daily row"));
            let day = Date::parse(
                &r.occurred_day,
                &time::format_description::well_known::Iso8601::DATE,
            )
            .map_err(|_| bad("day"))?;
            let currency = Currency::parse(&r.currency).map_err(|_| bad("currency"))?;
            out.push(LineItemConversions {
                day,
                campaign_id: r.campaign_id,
                line_item_id: r.line_item_id,
                conversions: r.conversions,
                value: Money::from_micros(r.value_micros.unwrap_or(0), currency),
            });
        }
        Ok(out)
    }
}
