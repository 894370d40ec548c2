//! Daily performance history: validation and upsert of uploaded rows, and
//! the history the estimator reads.

use super::*;

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
            for (name, m) in [("spend", r.spend), ("revenue", r.revenue)] {
                if m.currency != r.currency {
                    e.push(FieldError::new(
                        format!("{path}.{name}.currency"),
                        format!("Must be the row currency ({}).", r.currency),
                    ));
                }
            }
            for (name, v) in [
                ("spend", r.spend.micros),
                ("impressions", r.impressions),
                ("clicks", r.clicks),
                ("revenue", r.revenue.micros),
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
        Ok(store::performance::upsert(tx, org, rows, self.now()).await?)
    }

    /// `POST /v1/twin/performance`: upsert plus an audit entry.
    pub async fn upload_performance(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        rows: &[PerformanceRow],
    ) -> Result<PerformanceUploaded> {
        let org = p.scope.org_id();
        let mut tx = self.record.begin().await?;
        let n = self.record_performance_tx(&mut tx, org, rows).await?;
        let first = rows.iter().map(|r| r.day).min().map(day_text);
        let last = rows.iter().map(|r| r.day).max().map(day_text);
        tx.audit(
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
        Ok(store::performance::history(&self.db, org, currency, from, to, platforms).await?)
    }
}
