//! Recording decisions and reading them back, tenant-scoped. Lists are
//! newest first by decision time (ties broken by id) with an opaque cursor
//! holding the last row's (time, id), so pages neither skip nor repeat rows
//! when several decisions share a timestamp.

use std::sync::Arc;

use kiki_core::{Clock, OrgId, Page, PageRequest, TenantScope};
use kiki_store::schema::truncate_to_micros;
use kiki_store::{Db, Tx};
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ExplainError;
use crate::schema::Decisions as D;

/// Longest engine, kind or subject name accepted.
const MAX_NAME_CHARS: usize = 100;

/// A decision to record.
#[derive(Debug, Clone)]
pub struct NewDecision {
    /// None for decisions that concern no organisation (platform-wide).
    pub org_id: Option<OrgId>,
    /// The engine that decided, e.g. `identity.throttle`, `bidder.margin_guardian`.
    pub engine: String,
    pub engine_version: String,
    /// What kind of decision, e.g. `account_locked`.
    pub kind: String,
    /// What it is about, e.g. `user` / its id.
    pub subject_kind: String,
    pub subject_id: String,
    /// What the engine saw.
    pub inputs: Value,
    /// What it decided.
    pub output: Value,
    /// 0 to 1, when the engine has a measure of it.
    pub confidence: Option<f64>,
    /// A sentence for people saying why.
    pub explanation: String,
    /// The audit entry of the action this decision caused, if any.
    pub audit_entry_id: Option<Uuid>,
}

/// A recorded decision.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    pub id: Uuid,
    pub org_id: Option<OrgId>,
    pub engine: String,
    pub engine_version: String,
    pub kind: String,
    pub subject_kind: String,
    pub subject_id: String,
    pub inputs: Value,
    pub output: Value,
    pub confidence: Option<f64>,
    pub explanation: String,
    pub audit_entry_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub decided_at: OffsetDateTime,
}

/// Which decisions to list. Every set field must match.
#[derive(Debug, Clone, Default)]
pub struct DecisionFilter {
    pub engine: Option<String>,
    pub kind: Option<String>,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    /// Decisions at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Decisions before this time.
    pub to: Option<OffsetDateTime>,
}

#[derive(Debug, sqlx::FromRow)]
struct DecisionRow {
    id: Uuid,
    org_id: Option<Uuid>,
    engine: String,
    engine_version: String,
    kind: String,
    subject_kind: String,
    subject_id: String,
    inputs: Json<Value>,
    output: Json<Value>,
    confidence: Option<f64>,
    explanation: String,
    audit_entry_id: Option<Uuid>,
    decided_at: OffsetDateTime,
}

impl From<DecisionRow> for Decision {
    /// Records written before the API's one money shape read back in it:
    /// each `<name>_micros` figure whose record names its currency becomes
    /// a money object (see `kiki_core::money::legacy`).
    fn from(r: DecisionRow) -> Self {
        use kiki_core::money::legacy;
        let (mut inputs, mut output) = (r.inputs.0, r.output.0);
        // The output is read in the currency its inputs name.
        let named = inputs
            .get("currency")
            .and_then(Value::as_str)
            .and_then(|c| kiki_core::Currency::parse_exact(c).ok());
        legacy::upgrade_legacy_micros_where_named(&mut inputs);
        match named {
            Some(c) => legacy::upgrade_legacy_micros(&mut output, c),
            None => legacy::upgrade_legacy_micros_where_named(&mut output),
        }
        Decision {
            id: r.id,
            org_id: r.org_id.map(OrgId),
            engine: r.engine,
            engine_version: r.engine_version,
            kind: r.kind,
            subject_kind: r.subject_kind,
            subject_id: r.subject_id,
            inputs,
            output,
            confidence: r.confidence,
            explanation: r.explanation,
            audit_entry_id: r.audit_entry_id,
            decided_at: r.decided_at,
        }
    }
}

const COLUMNS: [D; 13] = [
    D::Id,
    D::OrgId,
    D::Engine,
    D::EngineVersion,
    D::Kind,
    D::SubjectKind,
    D::SubjectId,
    D::Inputs,
    D::Output,
    D::Confidence,
    D::Explanation,
    D::AuditEntryId,
    D::DecidedAt,
];

fn required(field: &'static str, value: &str) -> Result<(), ExplainError> {
    if value.trim().is_empty() {
        return Err(ExplainError::invalid(
            field,
            format!("A decision needs a non-empty `{field}`."),
        ));
    }
    Ok(())
}

fn short(field: &'static str, value: &str) -> Result<(), ExplainError> {
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(ExplainError::invalid(
            field,
            format!("`{field}` must be at most {MAX_NAME_CHARS} characters."),
        ));
    }
    Ok(())
}

/// Checks what the table cannot: names present and short, confidence a probability.
fn validate(d: &NewDecision) -> Result<(), ExplainError> {
    required("engine", &d.engine)?;
    required("kind", &d.kind)?;
    required("explanation", &d.explanation)?;
    for (field, value) in [
        ("engine", &d.engine),
        ("engine_version", &d.engine_version),
        ("kind", &d.kind),
        ("subject_kind", &d.subject_kind),
    ] {
        short(field, value)?;
    }
    if let Some(c) = d.confidence
        && !(c.is_finite() && (0.0..=1.0).contains(&c))
    {
        return Err(ExplainError::invalid(
            "confidence",
            format!("`confidence` must be between 0 and 1, got {c}."),
        ));
    }
    Ok(())
}

/// Decision records. Cheap to clone.
#[derive(Clone)]
pub struct Decisions {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Decisions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decisions").field("db", &self.db).finish()
    }
}

impl Decisions {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Decisions {
        Decisions { db, clock }
    }

    /// Records a decision inside the caller's transaction, so it exists
    /// exactly when the action it explains commits.
    pub async fn record(&self, tx: &mut Tx<'_>, d: NewDecision) -> Result<Decision, ExplainError> {
        validate(&d)?;
        let decision = Decision {
            id: Uuid::now_v7(),
            org_id: d.org_id,
            engine: d.engine,
            engine_version: d.engine_version,
            kind: d.kind,
            subject_kind: d.subject_kind,
            subject_id: d.subject_id,
            inputs: d.inputs,
            output: d.output,
            confidence: d.confidence,
            explanation: d.explanation,
            audit_entry_id: d.audit_entry_id,
            decided_at: truncate_to_micros(self.clock.now()),
        };
        let stmt = Query::insert()
            .into_table(D::Table)
            .columns(COLUMNS)
            .values_panic([
                decision.id.into(),
                decision.org_id.map(|o| o.0).into(),
                decision.engine.as_str().into(),
                decision.engine_version.as_str().into(),
                decision.kind.as_str().into(),
                decision.subject_kind.as_str().into(),
                decision.subject_id.as_str().into(),
                decision.inputs.clone().into(),
                decision.output.clone().into(),
                decision.confidence.into(),
                decision.explanation.as_str().into(),
                decision.audit_entry_id.into(),
                decision.decided_at.into(),
            ])
            .to_owned();
        tx.execute(&stmt).await?;
        tracing::debug!(
            decision.id = %decision.id,
            decision.engine = %decision.engine,
            decision.kind = %decision.kind,
            "decision recorded"
        );
        Ok(decision)
    }

    /// Records a decision in its own transaction.
    pub async fn record_now(&self, d: NewDecision) -> Result<Decision, ExplainError> {
        let mut tx = self.db.begin().await?;
        let decision = self.record(&mut tx, d).await?;
        tx.commit().await?;
        Ok(decision)
    }

    fn select() -> SelectStatement {
        Query::select().columns(COLUMNS).from(D::Table).to_owned()
    }

    /// Decisions of the scope's active organisation, newest first, filtered,
    /// cursor-paginated.
    pub async fn list(
        &self,
        scope: &TenantScope,
        filter: &DecisionFilter,
        page: &PageRequest,
    ) -> Result<Page<Decision>, ExplainError> {
        let limit = page.limit();
        let mut stmt = Self::select()
            .and_where(Expr::col(D::OrgId).eq(scope.org_id().0))
            .order_by(D::DecidedAt, Order::Desc)
            .order_by(D::Id, Order::Desc)
            .limit(u64::from(limit) + 1)
            .to_owned();
        for (col, value) in [
            (D::Engine, &filter.engine),
            (D::Kind, &filter.kind),
            (D::SubjectKind, &filter.subject_kind),
            (D::SubjectId, &filter.subject_id),
        ] {
            if let Some(v) = value {
                stmt.and_where(Expr::col(col).eq(v.as_str()));
            }
        }
        if let Some(from) = filter.from {
            stmt.and_where(Expr::col(D::DecidedAt).gte(from));
        }
        if let Some(to) = filter.to {
            stmt.and_where(Expr::col(D::DecidedAt).lt(to));
        }
        let after: Option<(OffsetDateTime, Uuid)> = page
            .after()
            .map_err(|e| ExplainError::invalid("cursor", e.message))?;
        if let Some((t, id)) = after {
            kiki_store::keyset::after(
                &mut stmt,
                &[(D::DecidedAt, Order::Desc), (D::Id, Order::Desc)],
                vec![sea_query::Value::from(t), sea_query::Value::from(id)],
            );
        }
        let rows: Vec<DecisionRow> = self.db.fetch_all(&stmt).await?;
        let items: Vec<Decision> = rows.into_iter().map(Decision::from).collect();
        Ok(Page::keyset(items, limit, |d| (d.decided_at, d.id)))
    }

    /// One decision of the scope's active organisation (platform-wide
    /// decisions, with no organisation, are never returned here). An agency
    /// reads a client's decision with that client active (`X-Kiki-Org`).
    pub async fn get(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> Result<Option<Decision>, ExplainError> {
        let stmt = Self::select()
            .and_where(Expr::col(D::Id).eq(id))
            .and_where(Expr::col(D::OrgId).eq(scope.org_id().0))
            .to_owned();
        let row: Option<DecisionRow> = self.db.fetch_optional(&stmt).await?;
        Ok(row.map(Decision::from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn valid() -> NewDecision {
        NewDecision {
            org_id: None,
            engine: "identity.throttle".into(),
            engine_version: "1".into(),
            kind: "account_locked".into(),
            subject_kind: "user".into(),
            subject_id: "u1".into(),
            inputs: json!({}),
            output: json!({}),
            confidence: Some(1.0),
            explanation: "Too many failed sign-ins.".into(),
            audit_entry_id: None,
        }
    }

    #[test]
    fn invalid_decisions_name_the_field() {
        let cases: Vec<(NewDecision, &str)> = vec![
            (
                NewDecision {
                    engine: " ".into(),
                    ..valid()
                },
                "engine",
            ),
            (
                NewDecision {
                    kind: String::new(),
                    ..valid()
                },
                "kind",
            ),
            (
                NewDecision {
                    explanation: "\n".into(),
                    ..valid()
                },
                "explanation",
            ),
            (
                NewDecision {
                    confidence: Some(1.01),
                    ..valid()
                },
                "confidence",
            ),
            (
                NewDecision {
                    confidence: Some(-0.1),
                    ..valid()
                },
                "confidence",
            ),
            (
                NewDecision {
                    confidence: Some(f64::NAN),
                    ..valid()
                },
                "confidence",
            ),
            (
                NewDecision {
                    confidence: Some(f64::INFINITY),
                    ..valid()
                },
                "confidence",
            ),
            (
                NewDecision {
                    subject_kind: "x".repeat(101),
                    ..valid()
                },
                "subject_kind",
            ),
        ];
        for (d, field) in cases {
            match validate(&d) {
                Err(ExplainError::Invalid { field: f, message }) => {
                    assert_eq!(f, field, "{message}");
                    assert!(message.contains(field), "{message}");
                }
                other => panic!("expected Invalid for {field}, got {other:?}"),
            }
        }
    }

    #[test]
    fn valid_decisions_pass_including_the_confidence_bounds() {
        for c in [None, Some(0.0), Some(0.5), Some(1.0)] {
            assert!(
                validate(&NewDecision {
                    confidence: c,
                    ..valid()
                })
                .is_ok(),
                "{c:?}"
            );
        }
    }
}
