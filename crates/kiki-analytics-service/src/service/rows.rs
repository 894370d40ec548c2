//! The daily rows report: a page of the stored rows with a cursor, the
//! number of rows a selection holds, and every row of a selection as CSV
//! chunks read one keyset page at a time (the download's memory does not
//! grow with its size). Organisations are read one after the other, in id
//! order; within one, by platform, object and day.

use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;
use kiki_core::{Currency, Money, OrgId, TenantScope};

use super::{AnalyticsService, Resolved, stored_currency};
use crate::domain::rows::{CSV_HEADER, DailyRowView, RowsCursor, RowsPage, csv_line};
use crate::domain::{Filters, Level, parse_day};
use crate::error::{AnalyticsError, Result};
use crate::store::rows::{self as rows_store, RowKey, StoredRow};

/// Rows a download reads from the database at a time.
pub const DOWNLOAD_PAGE_ROWS: u64 = 5_000;

fn view(org: OrgId, r: StoredRow) -> Result<DailyRowView> {
    let currency: Currency = stored_currency(&r.currency)?;
    let day = parse_day(&r.day)
        .ok_or_else(|| AnalyticsError::Internal(format!("a stored day `{}`", r.day)))?;
    Ok(DailyRowView {
        day,
        organisation_id: org.0,
        platform: r.platform,
        external_id: r.external_id,
        campaign_id: r.campaign_id,
        ad_set_id: r.ad_set_id,
        ad_id: r.ad_id,
        currency,
        spend: Money::from_micros(r.spend_micros, currency),
        revenue: Money::from_micros(r.revenue_micros, currency),
        conversions: r.conversions_micros as f64 / kiki_analytics::metrics::CONVERSION_SCALE as f64,
        conversions_micros: r.conversions_micros,
        impressions: r.impressions,
        clicks: r.clicks,
    })
}

/// The selection's organisations in reading order.
fn reading_order(q: &Resolved) -> Vec<OrgId> {
    let mut orgs = q.orgs.clone();
    orgs.sort_by_key(|o| o.0);
    orgs.dedup();
    orgs
}

/// Reads up to `limit` rows from `start` on: the rows, and where the next
/// read starts (`None` once every organisation is read).
async fn read(
    svc: &AnalyticsService,
    q: &Resolved,
    level: Level,
    start: Option<RowsCursor>,
    limit: u64,
) -> Result<(Vec<DailyRowView>, Option<RowsCursor>)> {
    let orgs = reading_order(q);
    let (mut i, mut after) = match &start {
        None => (0, None),
        Some(c) => match orgs.iter().position(|o| o.0 == c.org) {
            Some(i) => (
                i,
                Some(RowKey {
                    platform: c.platform.clone(),
                    external_id: c.external_id.clone(),
                    day: c.day.clone(),
                }),
            ),
            // An organisation no longer in the scope: the pages go on
            // after it.
            None => (orgs.iter().take_while(|o| o.0 < c.org).count(), None),
        },
    };
    let mut out = Vec::new();
    while i < orgs.len() && (out.len() as u64) < limit {
        let want = limit - out.len() as u64;
        let page = rows_store::page(
            &svc.db,
            orgs[i],
            &q.sel,
            level.as_str(),
            after.as_ref(),
            want,
        )
        .await?;
        let full = page.len() as u64 == want;
        for r in page {
            out.push(view(orgs[i], r)?);
        }
        if full {
            // The next read starts after this page's last row.
            break;
        }
        i += 1;
        after = None;
    }
    let next = match (out.last(), (out.len() as u64) < limit) {
        // Fewer rows than asked: nothing is left.
        (_, true) | (None, _) => None,
        (Some(last), false) => Some(RowsCursor {
            org: last.organisation_id,
            platform: last.platform.clone(),
            external_id: last.external_id.clone(),
            day: crate::domain::day_text(last.day),
        }),
    };
    Ok((out, next))
}

impl AnalyticsService {
    /// A page of the stored daily rows of a level, after `cursor`.
    pub async fn rows(
        &self,
        scope: &TenantScope,
        f: &Filters,
        level: Level,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<RowsPage> {
        let start = match cursor {
            None => None,
            Some(t) => Some(RowsCursor::parse(t).ok_or_else(|| {
                AnalyticsError::field(
                    "cursor",
                    "The cursor is not one this API issued; pass `next_cursor` as it came.",
                )
            })?),
        };
        let q = self.resolve(scope, f).await?;
        let (rows, next) = read(self, &q, level, start, limit as u64).await?;
        Ok(RowsPage {
            period: q.period.into(),
            level,
            rows,
            next_cursor: next.map(|c| c.text()),
        })
    }

    /// How many rows of a level the selection holds.
    pub async fn rows_count(&self, q: &Resolved, level: Level) -> Result<i64> {
        Ok(rows_store::count(&self.db, &q.orgs, &q.sel, level.as_str()).await?)
    }

    /// Every row of the selection as CSV: the header, then one chunk per
    /// page of [`DOWNLOAD_PAGE_ROWS`] rows.
    pub fn rows_csv(
        self: Arc<Self>,
        q: Resolved,
        level: Level,
    ) -> impl Stream<Item = Result<Bytes>> + Send + 'static {
        enum State {
            Header,
            From(Option<RowsCursor>),
            Done,
        }
        futures::stream::try_unfold(State::Header, move |state| {
            let svc = self.clone();
            let q = q.clone();
            async move {
                let start = match state {
                    State::Done => return Ok(None),
                    State::Header => {
                        return Ok(Some((
                            Bytes::from_static(CSV_HEADER.as_bytes()),
                            State::From(None),
                        )));
                    }
                    State::From(c) => c,
                };
                let (rows, next) = read(&svc, &q, level, start, DOWNLOAD_PAGE_ROWS).await?;
                let mut text = String::with_capacity(rows.len() * 160);
                for r in &rows {
                    csv_line(&mut text, level, r);
                }
                let state = match next {
                    Some(c) => State::From(Some(c)),
                    None => State::Done,
                };
                Ok(Some((Bytes::from(text), state)))
            }
        })
    }
}
