//! Exchange rates and converted reads: writing an organisation's dated
//! rates (by hand, or imported from the European Central Bank's euro
//! reference rates through the outbound client), listing them, and
//! converting the roll-ups' sums of a read into one currency
//! (`convert_to`), each day at that day's rate (`kiki_analytics::fx`).
//!
//! Whose rates: the active organisation's; for a pair it has no rate of in
//! the days a read needs, its agency's. An agency's `scope=clients`
//! roll-up therefore converts at the agency's rates, and a client's own
//! read at the client's, falling back to the agency's.

use std::collections::{BTreeMap, BTreeSet};

use kiki_analytics::Sums;
use kiki_analytics::fx::{ConvertError, Converter, Rate, RateBook, RateSource};
use kiki_core::{Currency, OrgId, TenantScope};
use kiki_identity::{Principal, RequestMeta};
use kiki_shield::AuditEvent;
use serde_json::json;
use time::Duration;

use super::{AnalyticsService, Resolved, row_sums, stored_currency};
use crate::domain::fx::{
    CheckedRate, FxCursor, FxRateList, FxRateView, FxRatesWritten, FxView, PutFxRates, parse_ecb,
};
use crate::domain::{GroupRow, MetricSet, day_text, parse_day};
use crate::error::{AnalyticsError, Result};
use crate::store::fx::{FxFilter, FxRow};
use crate::store::{self, DayRow, Grain, Selection};

/// The query of `GET /v1/analytics/fx-rates`, checked.
#[derive(Debug, Clone, Default)]
pub struct FxListQuery {
    pub base: Option<String>,
    pub quote: Option<String>,
    pub since: Option<time::Date>,
    pub until: Option<time::Date>,
    pub limit: usize,
    pub cursor: Option<String>,
}

impl AnalyticsService {
    /// `PUT /v1/analytics/fx-rates`: writes the rates (all or none) with
    /// their audit entry.
    pub async fn put_fx_rates(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        body: &PutFxRates,
    ) -> Result<FxRatesWritten> {
        let rates = body.check().map_err(AnalyticsError::Invalid)?;
        self.write_rates(p, meta, &rates, RateSource::Manual, None)
            .await
    }

    async fn write_rates(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        rates: &[CheckedRate],
        source: RateSource,
        url: Option<&str>,
    ) -> Result<FxRatesWritten> {
        let org = p.scope.org_id();
        let rows: Vec<FxRow> = rates
            .iter()
            .map(|r| FxRow {
                base: r.base.as_str().to_owned(),
                quote: r.quote.as_str().to_owned(),
                day: day_text(r.day),
                rate_nanos: r.rate.nanos(),
                source: source.as_str().to_owned(),
            })
            .collect();
        let first = rates.iter().map(|r| r.day).min().map(day_text);
        let last = rates.iter().map(|r| r.day).max().map(day_text);
        let pairs: BTreeSet<String> = rows
            .iter()
            .map(|r| format!("{}→{}", r.base, r.quote))
            .collect();
        let mut change = self.record.begin().await?;
        store::fx::upsert(change.tx(), org, &rows, self.clock.now()).await?;
        change
            .audit(
                AuditEvent::new(Some(org), p.actor(), "analytics.fx_rates_written")
                    .target("fx_rates", source.as_str())
                    .details(json!({
                        "source": source.as_str(),
                        "rates": rows.len(),
                        "pairs": pairs,
                        "first_day": first,
                        "last_day": last,
                        "url": url,
                    }))
                    .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        change.commit().await?;
        self.invalidate(&p.scope).await;
        Ok(FxRatesWritten {
            written: rows.len(),
            source: source.as_str().to_owned(),
            first_day: first,
            last_day: last,
        })
    }

    /// `GET /v1/analytics/fx-rates`: a page of the active organisation's
    /// rates in order of base, quote and day.
    pub async fn fx_rates(&self, scope: &TenantScope, q: &FxListQuery) -> Result<FxRateList> {
        let after = match &q.cursor {
            Some(text) => {
                let c = FxCursor::parse(text).ok_or_else(|| {
                    AnalyticsError::field(
                        "cursor",
                        "The cursor is not one this API issued; pass `next_cursor` as it came.",
                    )
                })?;
                Some((c.base, c.quote, c.day))
            }
            None => None,
        };
        let f = FxFilter {
            base: q.base.clone(),
            quote: q.quote.clone(),
            since: q.since.map(day_text),
            until: q.until.map(day_text),
            after,
        };
        let mut rows = store::fx::page(&self.db, scope.org_id(), &f, q.limit as u64 + 1).await?;
        let more = rows.len() > q.limit;
        rows.truncate(q.limit);
        let items: Vec<FxRateView> = rows
            .into_iter()
            .map(|r| {
                let rate = Rate::from_nanos(r.rate_nanos).ok_or_else(|| {
                    AnalyticsError::Internal(format!("a stored rate `{}`", r.rate_nanos))
                })?;
                Ok(FxRateView {
                    day: r.day,
                    base: r.base,
                    quote: r.quote,
                    rate: rate.text(),
                    source: r.source,
                })
            })
            .collect::<Result<_>>()?;
        let next_cursor = items.last().filter(|_| more).map(|l| {
            FxCursor {
                base: l.base.clone(),
                quote: l.quote.clone(),
                day: l.day.clone(),
            }
            .text()
        });
        Ok(FxRateList { items, next_cursor })
    }

    /// `POST /v1/analytics/fx-rates/import`: reads the ECB's euro reference
    /// rates from `analytics.fx_ecb_url` and writes them as EUR → X rates
    /// of source `ecb`.
    pub async fn import_ecb(&self, p: &Principal, meta: &RequestMeta) -> Result<FxRatesWritten> {
        let url = self.config.fx_ecb_url.clone();
        let resp = self.outbound.get(&url).send().await.map_err(|e| {
            AnalyticsError::Upstream {
                message: format!(
                    "The European Central Bank's reference rates could not be fetched ({e}); try again later."
                ),
                transient: true,
            }
        })?;
        let status = resp.status();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(AnalyticsError::Upstream {
                message: format!(
                    "The European Central Bank's server answered {status}; try again later."
                ),
                transient: true,
            });
        }
        if !status.is_success() {
            return Err(AnalyticsError::Upstream {
                message: format!(
                    "The European Central Bank's server answered {status} for {url}; check analytics.fx_ecb_url."
                ),
                transient: false,
            });
        }
        let text = resp.text().await.map_err(|e| AnalyticsError::Upstream {
            message: format!(
                "The European Central Bank's answer could not be read ({e}); try again later."
            ),
            transient: true,
        })?;
        let got = parse_ecb(&text).map_err(|why| AnalyticsError::Upstream {
            message: format!(
                "The file at {url} is not the European Central Bank's reference rates: {why}. Nothing was written."
            ),
            transient: false,
        })?;
        let rates: Vec<CheckedRate> = got
            .into_iter()
            .filter(|r| r.currency != Currency::EUR)
            .map(|r| CheckedRate {
                day: r.day,
                base: Currency::EUR,
                quote: r.currency,
                rate: r.rate,
            })
            .collect();
        self.write_rates(p, meta, &rates, RateSource::Ecb, Some(&url))
            .await
    }

    /// The converter of a read with `convert_to`, loaded with the rates
    /// its days need; `None` without `convert_to`.
    pub(crate) async fn converter(
        &self,
        scope: &TenantScope,
        q: &Resolved,
        also: Option<kiki_analytics::Period>,
    ) -> Result<Option<Converter>> {
        let Some(target) = &q.convert_to else {
            return Ok(None);
        };
        let max_age = self.config.fx_max_age_days;
        // A summary's comparison period lies elsewhere than the range.
        let first = also.map_or(q.period.since, |p| p.since.min(q.period.since));
        let last = also.map_or(q.period.until, |p| p.until.max(q.period.until));
        let since = first - Duration::days(i64::from(max_age));
        let (since, until) = (day_text(since), day_text(last));
        let currencies = vec![target.clone(), kiki_analytics::fx::CROSS.to_owned()];
        let active = q.orgs.first().copied().unwrap_or_else(|| scope.org_id());
        let own = self.rates_of(active, &since, &until, &currencies).await?;
        let mut book = RateBook::new();
        let mut own_pairs = BTreeSet::new();
        for (base, quote, day, rate, source) in &own {
            own_pairs.insert((base.clone(), quote.clone()));
            book.insert(base, quote, *day, *rate, *source);
        }
        let parent = self
            .identity
            .organisation(scope, active)
            .await
            .map_err(|e| AnalyticsError::Internal(format!("reading the organisation: {e}")))?
            .parent_id;
        if let Some(agency) = parent {
            for (base, quote, day, rate, source) in
                self.rates_of(agency, &since, &until, &currencies).await?
            {
                if !own_pairs.contains(&(base.clone(), quote.clone())) {
                    book.insert(&base, &quote, day, rate, source);
                }
            }
        }
        Ok(Some(Converter::new(target, book, max_age)))
    }

    async fn rates_of(
        &self,
        org: OrgId,
        since: &str,
        until: &str,
        currencies: &[String],
    ) -> Result<Vec<(String, String, time::Date, Rate, RateSource)>> {
        store::fx::window(&self.db, org, since, until, currencies)
            .await?
            .into_iter()
            .map(|r| {
                let bad = || {
                    AnalyticsError::Internal(format!("a stored rate of {} on {}", r.base, r.day))
                };
                Ok((
                    r.base.clone(),
                    r.quote.clone(),
                    parse_day(&r.day).ok_or_else(bad)?,
                    Rate::from_nanos(r.rate_nanos).ok_or_else(bad)?,
                    RateSource::parse(&r.source).ok_or_else(bad)?,
                ))
            })
            .collect()
    }

    /// The roll-up's sums per organisation, day, platform and currency, in
    /// the target currency when converting (each row's amounts converted
    /// at its day's rate, rounded half to even once).
    ///
    /// `grain` names the keys the caller needs; converting reads every
    /// organisation, day and platform (each row at its day's rate, as
    /// stated in docs/analytics.md), whatever it asks.
    pub(crate) async fn day_rows(
        &self,
        sel: &Selection,
        fx: &mut Option<Converter>,
        grain: Grain,
    ) -> Result<Vec<DayRow>> {
        let grain = if fx.is_some() { Grain::FULL } else { grain };
        let mut rows = store::days(&self.db, sel, grain).await?;
        let Some(conv) = fx.as_mut() else {
            return Ok(rows);
        };
        let mut missing = Missing::default();
        for r in &mut rows {
            let day = parse_day(&r.day)
                .ok_or_else(|| AnalyticsError::Internal(format!("a stored day `{}`", r.day)))?;
            match conv.convert(
                &r.currency,
                day,
                [r.spend_micros.unwrap_or(0), r.revenue_micros.unwrap_or(0)],
            ) {
                Ok([spend, revenue]) => {
                    r.spend_micros = Some(spend);
                    r.revenue_micros = Some(revenue);
                    r.currency = conv.target().to_owned();
                }
                Err(e) => missing.add(e),
            }
        }
        missing.check(conv)?;
        Ok(rows)
    }

    /// Object rows of a level over the range, converted day by day and
    /// summed per object in the target currency.
    pub(crate) async fn converted_group_rows(
        &self,
        sel: &Selection,
        level: crate::domain::Level,
        conv: &mut Converter,
    ) -> Result<Vec<(GroupRow, Sums)>> {
        type Key = (
            uuid::Uuid,
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let mut per: BTreeMap<Key, Sums> = BTreeMap::new();
        let mut missing = Missing::default();
        for r in store::fx::objects_by_day(&self.db, sel, level.as_str()).await? {
            let day = parse_day(&r.day)
                .ok_or_else(|| AnalyticsError::Internal(format!("a stored day `{}`", r.day)))?;
            let mut s = row_sums(
                r.spend_micros,
                r.revenue_micros,
                r.conversions_micros,
                r.impressions,
                r.clicks,
            );
            match conv.convert(&r.currency, day, [s.spend_micros, s.revenue_micros]) {
                Ok([spend, revenue]) => {
                    s.spend_micros = spend;
                    s.revenue_micros = revenue;
                }
                Err(e) => {
                    missing.add(e);
                    continue;
                }
            }
            per.entry((
                r.org_id,
                r.platform,
                r.external_id,
                r.campaign_id,
                r.ad_set_id,
                r.ad_id,
            ))
            .or_default()
            .add(&s);
        }
        missing.check(conv)?;
        let currency = stored_currency(conv.target())?;
        Ok(per
            .into_iter()
            .map(
                |((org, platform, external_id, campaign_id, ad_set_id, ad_id), s)| {
                    (
                        GroupRow {
                            platform: Some(platform),
                            organisation_id: Some(org),
                            external_id: Some(external_id),
                            campaign_id,
                            ad_set_id,
                            ad_id,
                            creative: None,
                            country: None,
                            device: None,
                            metrics: MetricSet::of(currency, &s),
                        },
                        s,
                    )
                },
            )
            .collect())
    }
}

/// The `fx` object of a converted answer.
pub(crate) fn fx_view(fx: &Option<Converter>) -> Option<FxView> {
    fx.as_ref().map(|c| FxView::of(c.target(), c.used()))
}

/// The first day each currency could not be converted, gathered over a
/// read so the answer names them all (never a partial sum).
#[derive(Debug, Default)]
pub(crate) struct Missing {
    no_rate: BTreeMap<String, time::Date>,
    overflow: BTreeMap<String, time::Date>,
}

impl Missing {
    pub(crate) fn add(&mut self, e: ConvertError) {
        let (map, currency, day) = match e {
            ConvertError::NoRate { currency, day } => (&mut self.no_rate, currency, day),
            ConvertError::Overflow { currency, day } => (&mut self.overflow, currency, day),
        };
        let d = map.entry(currency).or_insert(day);
        *d = (*d).min(day);
    }

    pub(crate) fn check(self, conv: &Converter) -> Result<()> {
        let target = conv.target();
        let mut parts: Vec<String> = self
            .no_rate
            .iter()
            .map(|(c, d)| {
                format!(
                    "{c} has no usable rate to {target} on {} (none on that day or in the {} days before it, direct, inverse or across EUR)",
                    day_text(*d),
                    conv.max_age_days()
                )
            })
            .collect();
        parts.extend(self.overflow.iter().map(|(c, d)| {
            format!(
                "{c} on {} cannot be converted to {target} exactly (the amount or rate is too large)",
                day_text(*d)
            )
        }));
        if parts.is_empty() {
            return Ok(());
        }
        Err(AnalyticsError::field(
            "convert_to",
            format!(
                "{}. Add the rates (PUT /v1/analytics/fx-rates, or import the ECB's) and ask again.",
                parts.join("; ")
            ),
        ))
    }
}

/// Under `convert_to` a summary's basis names the rates every amount was
/// converted at (the roll-up's rows and the baselines at each day's rate,
/// the new customers' predicted CLV at the period's last day's).
pub(crate) fn mark_converted(out: &mut [crate::domain::CurrencySummary], fx: &Option<Converter>) {
    let Some(conv) = fx else { return };
    let sentence = kiki_analytics::fx::sentence(conv.target(), conv.used());
    for s in out.iter_mut() {
        for f in std::iter::once(&mut s.current).chain(s.previous.as_mut()) {
            f.basis.fx = Some(sentence.clone());
        }
    }
}
