//! The LTV → bidder hookup: copies the LTV service's per-segment CLV
//! (`LtvService::aggregates(org, GroupBy::Segment)`) into the bidder's
//! `bidder_segment_values`, on the `bidder.ltv_sync` schedule and on
//! `POST /v1/bidder/segments/sync-ltv`.
//!
//! The value written is the segment's **mean** CLV: the bidder values a
//! conversion by the expected lifetime value of the user it brings, and the
//! expected value over a segment is its mean (a median would undervalue
//! segments whose value sits in a few large customers). Only the model's
//! segments are upserted: hand-set segments the model does not know and the
//! user→segment members stay as they are.

use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_core::{Currency, DomainError, ErrorCode, Money, TenantScope};
use kiki_explain::RecordError;
use kiki_identity::RequestMeta;
use kiki_ltv::GroupBy;
use kiki_ltv_service::{Aggregates, LtvServiceError};
use kiki_shield::{Actor, AuditEvent};
use kiki_store::{JobContext, JobError, JobHandler, StoreError};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::events::SegmentsChanged;
use crate::service::BidderService;
use crate::store::{self, SegmentValue};

/// The job kind of the scheduled sync.
pub const SYNC_JOB_KIND: &str = "bidder.ltv_sync";
/// Its default schedule (six-field cron): every ten minutes.
pub const SYNC_SCHEDULE: &str = "0 */10 * * * *";
/// The audit action of a sync that wrote values.
pub const AUDIT_SYNCED: &str = "bidder.segments.synced";
/// The longest segment name the bidder stores (as `PUT /v1/bidder/segments`).
const MAX_SEGMENT_NAME: usize = 200;

/// A model segment that was not written, and why.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SkippedSegment {
    /// `None` for the customers without a segment.
    pub segment: Option<String>,
    pub reason: String,
}

/// The outcome of one organisation's sync.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LtvSyncReport {
    /// The LTV model the values come from.
    pub model_id: Uuid,
    pub model_version: i64,
    /// The CLV horizon of that model, in days.
    pub horizon_days: i64,
    /// The model's currency.
    pub currency: String,
    /// The segment values written (mean CLV per segment), by name.
    pub written: Vec<SegmentValue>,
    /// Model segments not written.
    pub skipped: Vec<SkippedSegment>,
}

/// Why a sync could not run.
#[derive(Debug, thiserror::Error)]
pub enum LtvSyncError {
    #[error(
        "The LTV service is not running in this process; mount the ltv module before the bidder module."
    )]
    NotLinked,
    #[error(
        "No lifetime value model has been fitted for this organisation yet; upload transactions and POST /v1/ltv/fits first."
    )]
    NoModel,
    #[error(transparent)]
    Ltv(#[from] LtvServiceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The change's record (audit entry) failed.
    #[error(transparent)]
    Record(#[from] RecordError),
}

impl DomainError for LtvSyncError {
    fn code(&self) -> ErrorCode {
        match self {
            // The deployment lacks the LTV module: the service is not ready
            // for this request, and the message says what to mount.
            LtvSyncError::NotLinked => ErrorCode::Unavailable,
            LtvSyncError::NoModel => ErrorCode::Conflict,
            LtvSyncError::Ltv(e) => e.code(),
            LtvSyncError::Store(e) => e.code(),
            LtvSyncError::Record(e) => e.code(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            LtvSyncError::NotLinked | LtvSyncError::NoModel => self.to_string(),
            LtvSyncError::Ltv(e) => e.public_message(),
            LtvSyncError::Store(e) => e.public_message(),
            LtvSyncError::Record(e) => e.public_message(),
        }
    }

    fn details(&self) -> Value {
        match self {
            LtvSyncError::NotLinked | LtvSyncError::NoModel => kiki_core::no_details(),
            LtvSyncError::Ltv(e) => e.details(),
            LtvSyncError::Store(e) => e.details(),
            LtvSyncError::Record(e) => e.details(),
        }
    }

    fn is_internal(&self) -> bool {
        match self {
            LtvSyncError::NotLinked | LtvSyncError::NoModel => false,
            LtvSyncError::Ltv(e) => e.is_internal(),
            LtvSyncError::Store(e) => e.is_internal(),
            LtvSyncError::Record(e) => e.is_internal(),
        }
    }
}

/// The bidder segment values of a segment aggregate (pure): each named
/// segment with a valued customer becomes its mean CLV in `bidder_currency`.
/// Everything is skipped when the model's currency is another one (the
/// bidder does not convert CLV).
pub fn segment_values_from(
    agg: &Aggregates,
    bidder_currency: Currency,
) -> (Vec<SegmentValue>, Vec<SkippedSegment>) {
    let mut written = Vec::new();
    let mut skipped = Vec::new();
    let model_currency = Currency::parse(&agg.currency).ok();
    for g in &agg.groups {
        let v = &g.value;
        let reason = if model_currency != Some(bidder_currency) {
            Some(format!(
                "The LTV model is in {} and the bidder in {bidder_currency}.",
                agg.currency
            ))
        } else {
            match v.key.as_deref() {
                None => Some("Customers without a segment.".to_owned()),
                Some(k) if k.trim().is_empty() || k.len() > MAX_SEGMENT_NAME => Some(format!(
                    "A segment name of 1 to {MAX_SEGMENT_NAME} characters is needed."
                )),
                Some(_) if v.valued == 0 => {
                    Some("No customer has a CLV (fit with a spend model).".to_owned())
                }
                Some(_) if v.mean_clv_micros < 0 => Some("The mean CLV is negative.".to_owned()),
                Some(_) => None,
            }
        };
        match (reason, &v.key) {
            (None, Some(k)) => written.push(SegmentValue {
                segment: k.clone(),
                ltv: Money::from_micros(v.mean_clv_micros, bidder_currency),
            }),
            (reason, key) => skipped.push(SkippedSegment {
                segment: key.clone(),
                reason: reason.unwrap_or_default(),
            }),
        }
    }
    written.sort_by(|a, b| a.segment.cmp(&b.segment));
    (written, skipped)
}

impl BidderService {
    /// True when the module list wired the LTV service in (the sync can run).
    pub fn ltv_linked(&self) -> bool {
        self.ltv.is_some()
    }

    /// Copies the current LTV model's mean CLV per segment into `org`'s
    /// bidder segment values, as the system (the scheduled job).
    pub async fn sync_segments_from_ltv(
        &self,
        scope: &TenantScope,
    ) -> Result<LtvSyncReport, LtvSyncError> {
        self.sync_segments_from_ltv_by(scope, Actor::System(SYNC_JOB_KIND.into()), None)
            .await
    }

    /// [`Self::sync_segments_from_ltv`] on behalf of `actor`: one
    /// transaction upserts the values and appends the audit entry; then
    /// every replica is told to reload.
    pub async fn sync_segments_from_ltv_by(
        &self,
        scope: &TenantScope,
        actor: Actor,
        meta: Option<&RequestMeta>,
    ) -> Result<LtvSyncReport, LtvSyncError> {
        let org = scope.org_id();
        let ltv = self.ltv.as_ref().ok_or(LtvSyncError::NotLinked)?;
        let agg = ltv
            .aggregates(scope, GroupBy::Segment)
            .await?
            .ok_or(LtvSyncError::NoModel)?;
        let bidder_currency = self.cfg.engine.currency;
        let (written, skipped) = segment_values_from(&agg, bidder_currency);
        if written.is_empty() && !agg.groups.is_empty() {
            tracing::warn!(
                org.id = %org,
                ltv.model_id = %agg.model_id,
                ltv.currency = %agg.currency,
                bidder.currency = %bidder_currency,
                skipped = skipped.len(),
                "bidder: LTV sync wrote no segment value (currency differs or no valued segment)"
            );
        }
        if !written.is_empty() {
            let now = self.clock.now();
            let mut tx = self.record.begin().await?;
            store::upsert_segment_values(&mut tx, org, &written, now).await?;
            let mut ev = AuditEvent::new(Some(org), actor, AUDIT_SYNCED);
            ev.target_kind = Some("bidder_segments".into());
            if let Some(m) = meta {
                ev.ip = m.ip;
                ev.user_agent = m.user_agent.clone();
                ev.request_id = m.request_id.clone();
            }
            ev.details = json!({
                "source": "ltv",
                "model_id": agg.model_id,
                "model_version": agg.model_version,
                "statistic": "mean_clv",
                "segments": written.iter().map(|v| json!({
                    "segment": v.segment, "ltv": v.ltv,
                })).collect::<Vec<_>>(),
                "skipped": skipped.len(),
            });
            tx.audit(ev).await?;
            tx.publish(
                Some(org),
                &SegmentsChanged {
                    segments: written.len(),
                    source: Some("ltv".into()),
                },
            );
            tx.commit().await?;
        }
        Ok(LtvSyncReport {
            model_id: agg.model_id,
            model_version: agg.model_version,
            horizon_days: agg.horizon_days,
            currency: agg.currency,
            written,
            skipped,
        })
    }
}

/// The `bidder.ltv_sync` job: syncs the job's organisation, or (scheduled,
/// without one) every organisation with an LTV model.
#[derive(Debug)]
pub struct LtvSyncJob {
    svc: Arc<BidderService>,
}

impl LtvSyncJob {
    pub fn new(svc: Arc<BidderService>) -> LtvSyncJob {
        LtvSyncJob { svc }
    }
}

impl JobHandler for LtvSyncJob {
    fn kind(&self) -> &'static str {
        SYNC_JOB_KIND
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let orgs = match ctx.org_id {
                Some(org) => vec![org],
                None => self
                    .svc
                    .ltv
                    .as_ref()
                    .ok_or_else(|| JobError::failed("the LTV module is not running"))?
                    .orgs_with_models()
                    .await
                    .map_err(|e| JobError::failed(e.to_string()))?,
            };
            let (mut synced, mut written, mut failed) = (0u64, 0usize, 0u64);
            for org in &orgs {
                if ctx.cancel.is_cancelled() {
                    return Err(JobError::Cancelled);
                }
                match self.svc.sync_segments_from_ltv(&ctx.scope_for(*org)).await {
                    Ok(r) => {
                        synced += 1;
                        written += r.written.len();
                    }
                    // The model was deleted between the listing and the read.
                    Err(LtvSyncError::NoModel) => {}
                    Err(e) => {
                        failed += 1;
                        tracing::warn!(org.id = %org, error = %e, "bidder: LTV sync of an organisation failed");
                    }
                }
            }
            if failed > 0 && synced == 0 {
                return Err(JobError::failed(format!(
                    "the LTV sync failed for all {failed} organisations"
                )));
            }
            Ok(json!({ "organisations": synced, "segments_written": written, "failed": failed }))
        })
    }
}

#[cfg(test)]
mod tests {
    use kiki_core::error::public_face_problems;
    use kiki_ltv::SegmentValue as Group;
    use kiki_ltv_service::GroupValue;

    use super::*;

    /// One value of every variant with the status the edge answers. Each arm
    /// names its status and builds the next variant; the match has no
    /// wildcard, so a new variant does not compile until it is listed here.
    fn every_sync_error() -> Vec<(LtvSyncError, u16)> {
        let mut all = Vec::new();
        let mut next = Some(LtvSyncError::NotLinked);
        while let Some(e) = next.take() {
            let (status, following) = match &e {
                LtvSyncError::NotLinked => (503, Some(LtvSyncError::NoModel)),
                LtvSyncError::NoModel => (
                    409,
                    Some(LtvSyncError::Ltv(LtvServiceError::Corrupt(
                        "ltv_models.params is not JSON".into(),
                    ))),
                ),
                LtvSyncError::Ltv(_) => (
                    500,
                    Some(LtvSyncError::Store(StoreError::UniqueViolation {
                        constraint: Some("bidder_segment_values_pkey".into()),
                    })),
                ),
                LtvSyncError::Store(_) => (
                    409,
                    Some(LtvSyncError::Record(RecordError::Audit(
                        kiki_shield::ShieldError::Store(StoreError::PoolTimeout),
                    ))),
                ),
                LtvSyncError::Record(_) => (503, None),
            };
            all.push((e, status));
            next = following;
        }
        all
    }

    #[test]
    fn every_sync_error_has_its_status_a_sentence_and_no_internal_text() {
        let all = every_sync_error();
        assert_eq!(all.len(), 5);
        for (e, status) in &all {
            let problems = public_face_problems(e, *status);
            assert!(problems.is_empty(), "{e:?}: {problems:?}");
        }
        assert!(
            !LtvSyncError::NotLinked.is_internal(),
            "the message says what to mount"
        );
    }

    fn group(key: Option<&str>, valued: u64, mean: i64) -> GroupValue {
        GroupValue {
            value: Group {
                key: key.map(str::to_owned),
                count: valued.max(1),
                valued,
                total_clv_micros: mean * valued as i64,
                mean_clv_micros: mean,
                p25_clv_micros: mean / 2,
                p50_clv_micros: mean,
                p75_clv_micros: mean * 2,
                expected_purchases: 1.0,
                mean_p_alive: 0.5,
            },
            p25_p_alive: 0.5,
            p50_p_alive: 0.5,
            p75_p_alive: 0.5,
        }
    }

    fn agg(currency: &str, groups: Vec<GroupValue>) -> Aggregates {
        Aggregates {
            model_id: Uuid::nil(),
            model_version: 1,
            currency: currency.into(),
            horizon_days: 365,
            by: GroupBy::Segment,
            groups,
        }
    }

    #[test]
    fn named_valued_segments_take_their_mean_and_the_rest_is_skipped() {
        let a = agg(
            "USD",
            vec![
                group(Some("vip"), 10, 90_000_000),
                group(None, 3, 5_000_000),
                group(Some("cold"), 0, 0),
                group(Some("standard"), 20, 12_500_000),
            ],
        );
        let (written, skipped) = segment_values_from(&a, Currency::USD);
        assert_eq!(
            written,
            vec![
                SegmentValue {
                    segment: "standard".into(),
                    ltv: Money::from_micros(12_500_000, Currency::USD)
                },
                SegmentValue {
                    segment: "vip".into(),
                    ltv: Money::from_micros(90_000_000, Currency::USD)
                },
            ]
        );
        let names: Vec<Option<&str>> = skipped.iter().map(|s| s.segment.as_deref()).collect();
        assert_eq!(names, vec![None, Some("cold")]);
    }

    #[test]
    fn a_model_in_another_currency_writes_nothing() {
        let a = agg("EUR", vec![group(Some("vip"), 10, 90_000_000)]);
        let (written, skipped) = segment_values_from(&a, Currency::USD);
        assert!(written.is_empty());
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].reason.contains("EUR"), "{}", skipped[0].reason);
    }
}
