//! Chain verification: walks one chain from seq 1 in batches, recomputing
//! each hash and checking the sequence and the links, then compares the last
//! entry with the head. Stops at the first broken link and names its seq.
//!
//! The head is read first and entries are checked up to it, so appends that
//! commit while verification runs are not mistaken for tampering. A final
//! single-statement check finds entries past the current head (rows inserted
//! without moving the head), which no legitimate append leaves behind.

use kiki_core::OrgId;
use kiki_store::Db;
use sea_query::{Expr, ExprTrait, Order, Query, UnionType};
use serde::Serialize;
use uuid::Uuid;

use super::{AUDIT_COLUMNS, AuditRow, GENESIS_HASH, HeadRow, chain_org};
use crate::error::ShieldError;
use crate::schema::{AuditHeads as H, AuditLog as A};

/// Entries read per query.
const BATCH: u64 = 1000;

/// The outcome of verifying one chain.
#[derive(Debug, Clone, Serialize)]
pub struct ChainReport {
    /// The organisation of the chain; None for the platform chain.
    pub org_id: Option<OrgId>,
    /// The chain's stored name: the organisation id, or "platform".
    pub chain: String,
    /// Entries whose hash and links were checked.
    pub entries_checked: u64,
    pub ok: bool,
    pub first_broken: Option<BrokenLink>,
}

/// The first place a chain is broken.
#[derive(Debug, Clone, Serialize)]
pub struct BrokenLink {
    /// The sequence number at which the chain breaks (for a missing entry, its seq).
    pub seq: i64,
    /// The entry at that seq, when there is one.
    pub entry_id: Option<Uuid>,
    /// "hash_mismatch", "prev_hash_mismatch", "sequence_gap" or "head_mismatch".
    pub reason: String,
    /// A sentence for people.
    pub message: String,
}

fn broken(seq: i64, entry_id: Option<Uuid>, reason: &str, message: String) -> BrokenLink {
    BrokenLink {
        seq,
        entry_id,
        reason: reason.to_owned(),
        message,
    }
}

/// Checks one row against what precedes it; `None` when it is sound.
fn check_row(
    row: &AuditRow,
    expected_seq: i64,
    prev_hash: &str,
    chain_org: Option<Option<OrgId>>,
) -> Option<BrokenLink> {
    if row.seq != expected_seq {
        let message = if row.seq == expected_seq + 1 {
            format!(
                "Entry {expected_seq} is missing: the entry after {} has seq {}.",
                expected_seq - 1,
                row.seq
            )
        } else {
            format!(
                "Entries {expected_seq} to {} are missing: the entry after {} has seq {}.",
                row.seq - 1,
                expected_seq - 1,
                row.seq
            )
        };
        return Some(broken(expected_seq, None, "sequence_gap", message));
    }
    if chain_org != Some(row.org_id.map(OrgId)) {
        return Some(broken(
            row.seq,
            Some(row.id),
            "hash_mismatch",
            format!(
                "Entry {} (id {}) has an organisation that does not match its chain `{}`.",
                row.seq, row.id, row.chain
            ),
        ));
    }
    if row.recompute_hash() != row.hash {
        return Some(broken(
            row.seq,
            Some(row.id),
            "hash_mismatch",
            format!(
                "Entry {} (id {}) does not match its hash: its content was changed after it was written.",
                row.seq, row.id
            ),
        ));
    }
    if row.prev_hash != prev_hash {
        return Some(broken(
            row.seq,
            Some(row.id),
            "prev_hash_mismatch",
            format!(
                "Entry {} (id {}) does not link to the entry before it: entries were removed, replaced or reordered.",
                row.seq, row.id
            ),
        ));
    }
    None
}

async fn head_of(db: &Db, chain: &str) -> Result<Option<HeadRow>, ShieldError> {
    let stmt = Query::select()
        .columns([H::Seq, H::Hash])
        .from(H::Table)
        .and_where(Expr::col(H::Chain).eq(chain))
        .to_owned();
    Ok(db.fetch_optional(&stmt).await?)
}

#[derive(Debug, sqlx::FromRow)]
struct SeqId {
    seq: i64,
    id: Uuid,
}

/// The first entry past the chain's current head (or any entry when there is
/// no head), read in one statement so a concurrent append cannot fake one.
async fn first_past_head(db: &Db, chain: &str) -> Result<Option<SeqId>, ShieldError> {
    let head_seq = Query::select()
        .column(H::Seq)
        .from(H::Table)
        .and_where(Expr::col(H::Chain).eq(chain))
        .to_owned();
    let stmt = Query::select()
        .columns([A::Seq, A::Id])
        .from(A::Table)
        .and_where(Expr::col(A::Chain).eq(chain))
        .and_where(Expr::col(A::Seq).gt(Expr::expr(sea_query::Func::coalesce([
            Expr::SubQuery(None, Box::new(head_seq.into())),
            Expr::val(0i64),
        ]))))
        .order_by(A::Seq, Order::Asc)
        .limit(1)
        .to_owned();
    Ok(db.fetch_optional(&stmt).await?)
}

/// Verifies the chain stored under `chain`.
pub(crate) async fn verify_chain(db: &Db, chain: &str) -> Result<ChainReport, ShieldError> {
    let org = chain_org(chain).ok();
    let mut report = ChainReport {
        org_id: org.flatten(),
        chain: chain.to_owned(),
        entries_checked: 0,
        ok: true,
        first_broken: None,
    };
    let head = head_of(db, chain).await?;
    let head_seq = head.as_ref().map_or(0, |h| h.seq);

    let mut last_seq = 0i64;
    let mut last_hash = GENESIS_HASH.to_owned();
    let mut last_id = None;
    while last_seq < head_seq {
        let stmt = Query::select()
            .columns(AUDIT_COLUMNS)
            .from(A::Table)
            .and_where(Expr::col(A::Chain).eq(chain))
            .and_where(Expr::col(A::Seq).gt(last_seq))
            .and_where(Expr::col(A::Seq).lte(head_seq))
            .order_by(A::Seq, Order::Asc)
            .limit(BATCH)
            .to_owned();
        let rows: Vec<AuditRow> = db.fetch_all(&stmt).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            if let Some(b) = check_row(&row, last_seq + 1, &last_hash, org) {
                return Ok(fail(report, b));
            }
            report.entries_checked += 1;
            last_seq = row.seq;
            last_id = Some(row.id);
            last_hash = row.hash;
        }
    }

    if let Some(h) = &head {
        if last_seq < h.seq {
            let missing_from = last_seq + 1;
            let message = if missing_from == h.seq {
                format!(
                    "Entry {} is missing: the chain head records {} entries, the log ends at {last_seq}.",
                    h.seq, h.seq
                )
            } else {
                format!(
                    "Entries {missing_from} to {} are missing: the chain head records {} entries, the log ends at {last_seq}.",
                    h.seq, h.seq
                )
            };
            return Ok(fail(
                report,
                broken(missing_from, None, "head_mismatch", message),
            ));
        }
        if last_hash != h.hash {
            return Ok(fail(
                report,
                broken(
                    last_seq,
                    last_id,
                    "head_mismatch",
                    format!(
                        "Entry {last_seq} is not the entry the chain head records: the newest entry was replaced."
                    ),
                ),
            ));
        }
    }
    if let Some(extra) = first_past_head(db, chain).await? {
        return Ok(fail(
            report,
            broken(
                extra.seq,
                Some(extra.id),
                "head_mismatch",
                format!(
                    "Entry {} (id {}) lies past the chain head: it was inserted outside the audit log.",
                    extra.seq, extra.id
                ),
            ),
        ));
    }
    Ok(report)
}

fn fail(mut report: ChainReport, b: BrokenLink) -> ChainReport {
    report.ok = false;
    report.first_broken = Some(b);
    report
}

#[derive(Debug, sqlx::FromRow)]
struct ChainRow {
    chain: String,
}

/// Every chain with a head or an entry: the platform chain first, then by name.
pub(crate) async fn all_chains(db: &Db) -> Result<Vec<String>, ShieldError> {
    let stmt = Query::select()
        .column(H::Chain)
        .from(H::Table)
        .union(
            UnionType::Distinct,
            Query::select().column(A::Chain).from(A::Table).to_owned(),
        )
        .to_owned();
    let rows: Vec<ChainRow> = db.fetch_all(&stmt).await?;
    let mut chains: Vec<String> = rows.into_iter().map(|r| r.chain).collect();
    chains.sort_by(|a, b| {
        (a != super::PLATFORM_CHAIN)
            .cmp(&(b != super::PLATFORM_CHAIN))
            .then_with(|| a.cmp(b))
    });
    chains.dedup();
    Ok(chains)
}
