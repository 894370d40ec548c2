//! Daily performance history: validation and upsert of uploaded rows, and
//! the history the estimator reads.

use super::*;

#[derive(Debug, sqlx::FromRow)]
pub(super) struct PerfRow {
    platform: String,
    ad_set_id: String,
    day: String,
    spend_micros: i64,
    impressions: i64,
    clicks: i64,
    conversions: f64,
    revenue_micros: i64,
}

impl TwinService {
    fn validate_rows(&self, rows: &[PerformanceRow]) -> Vec<FieldError> {
        let mut e = Vec::new();
        if rows.is_empty() {
            e.push(FieldError::new("rows", "Give at least one row."));
        }
        if rows.len() > self.config.max_performance_rows {
            e.push(FieldError::new(
                "rows",
                format!(
                    "At most {} rows per request; send the rest in another.",
                    self.config.max_performance_rows
                ),
            ));
            return e;
        }
        let mut seen = BTreeSet::new();
        for (i, r) in rows.iter().enumerate() {
            let path = format!("rows[{i}]");
            if Platform::parse(&r.platform).is_none() {
                e.push(FieldError::new(
                    format!("{path}.platform"),
                    Platform::unknown_message(&r.platform),
                ));
            }
            if let Some(a) = &r.ad_set_id
                && (a.trim().is_empty() || a.chars().count() > 200)
            {
                e.push(FieldError::new(
                    format!("{path}.ad_set_id"),
                    "The ad set id must be 1 to 200 characters.",
                ));
            }
            for (name, v) in [
                ("spend_micros", r.spend_micros),
                ("impressions", r.impressions),
                ("clicks", r.clicks),
                ("revenue_micros", r.revenue_micros),
            ] {
                if v < 0 {
                    e.push(FieldError::new(
                        format!("{path}.{name}"),
                        "The value must not be negative.",
                    ));
                }
            }
            if r.clicks > r.impressions {
                e.push(FieldError::new(
                    format!("{path}.clicks"),
                    "Clicks must not exceed impressions.",
                ));
            }
            if !(r.conversions.is_finite() && r.conversions >= 0.0) {
                e.push(FieldError::new(
                    format!("{path}.conversions"),
                    "Conversions must be a finite number, zero or more.",
                ));
            }
            let key = (
                r.platform.clone(),
                r.ad_set_id.clone().unwrap_or_default(),
                r.day,
            );
            if !seen.insert(key) {
                e.push(FieldError::new(
                    path,
                    "The same platform, ad set and day appear twice; merge the rows.",
                ));
            }
        }
        e
    }

    /// Validates and upserts performance rows per (org, platform, ad set,
    /// day). The campaigns and commerce services call this directly.
    pub async fn record_performance(&self, org: OrgId, rows: &[PerformanceRow]) -> Result<u64> {
        let mut tx = self.db.begin().await?;
        let n = self.record_performance_tx(&mut tx, org, rows).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn record_performance_tx(
        &self,
        tx: &mut Tx<'_>,
        org: OrgId,
        rows: &[PerformanceRow],
    ) -> Result<u64> {
        let errors = self.validate_rows(rows);
        if !errors.is_empty() {
            return Err(TwinServiceError::Invalid(errors));
        }
        let now = self.now();
        let mut n = 0;
        for chunk in rows.chunks(400) {
            let mut stmt = Query::insert()
                .into_table(P::Table)
                .columns([
                    P::Id,
                    P::OrgId,
                    P::Platform,
                    P::AdSetId,
                    P::Day,
                    P::Currency,
                    P::SpendMicros,
                    P::Impressions,
                    P::Clicks,
                    P::Conversions,
                    P::RevenueMicros,
                    P::UpdatedAt,
                ])
                .on_conflict(
                    OnConflict::columns([P::OrgId, P::Platform, P::AdSetId, P::Day])
                        .update_columns([
                            P::Currency,
                            P::SpendMicros,
                            P::Impressions,
                            P::Clicks,
                            P::Conversions,
                            P::RevenueMicros,
                            P::UpdatedAt,
                        ])
                        .to_owned(),
                )
                .to_owned();
            for r in chunk {
                stmt.values_panic([
                    Uuid::now_v7().into(),
                    org.0.into(),
                    r.platform.as_str().into(),
                    r.ad_set_id.clone().unwrap_or_default().into(),
                    day_text(r.day).into(),
                    r.currency.as_str().into(),
                    r.spend_micros.into(),
                    r.impressions.into(),
                    r.clicks.into(),
                    r.conversions.into(),
                    r.revenue_micros.into(),
                    now.into(),
                ]);
            }
            n += tx.execute(&stmt).await?;
        }
        Ok(n)
    }

    /// `POST /v1/twin/performance`: upsert plus an audit entry.
    pub async fn upload_performance(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        rows: &[PerformanceRow],
    ) -> Result<PerformanceUploaded> {
        let org = p.scope.org_id();
        let mut tx = self.db.begin().await?;
        let n = self.record_performance_tx(&mut tx, org, rows).await?;
        let first = rows.iter().map(|r| r.day).min().map(day_text);
        let last = rows.iter().map(|r| r.day).max().map(day_text);
        self.audit
            .append(
                &mut tx,
                audit_event(org, p.actor(), "twin.performance.recorded", Some(meta))
                    .details(json!({ "rows": rows.len(), "first_day": first, "last_day": last })),
            )
            .await?;
        tx.commit().await?;
        Ok(PerformanceUploaded { upserted: n })
    }

    /// Performance rows of an organisation in `currency` with `from <= day < to`.
    pub(crate) async fn history(
        &self,
        org: OrgId,
        currency: Currency,
        from: Date,
        to: Date,
        platforms: Option<&[Platform]>,
    ) -> Result<Vec<DailyPerformance>> {
        let mut stmt = Query::select()
            .columns([
                P::Platform,
                P::AdSetId,
                P::Day,
                P::SpendMicros,
                P::Impressions,
                P::Clicks,
                P::Conversions,
                P::RevenueMicros,
            ])
            .from(P::Table)
            .and_where(Expr::col(P::OrgId).eq(org.0))
            .and_where(Expr::col(P::Currency).eq(currency.as_str()))
            .and_where(Expr::col(P::Day).gte(day_text(from)))
            .and_where(Expr::col(P::Day).lt(day_text(to)))
            .order_by(P::Day, Order::Asc)
            .to_owned();
        if let Some(ps) = platforms {
            stmt.and_where(Expr::col(P::Platform).is_in(ps.iter().map(|p| p.as_str())));
        }
        let rows: Vec<PerfRow> = self.db.fetch_all(&stmt).await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                Some(DailyPerformance {
                    platform: r.platform,
                    ad_set_id: (!r.ad_set_id.is_empty()).then_some(r.ad_set_id),
                    date: parse_day(&r.day)?,
                    spend_micros: r.spend_micros,
                    impressions: u64::try_from(r.impressions).unwrap_or(0),
                    clicks: u64::try_from(r.clicks).unwrap_or(0),
                    conversions: r.conversions,
                    revenue_micros: r.revenue_micros,
                })
            })
            .collect())
    }
}
