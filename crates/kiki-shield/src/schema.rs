//! Identifiers of the tables SyncShield owns (migration `0003_shield.sql`).

use sea_query::Iden;

/// `audit_log`: one row per audited action, hash-chained per organisation.
#[derive(Debug, Clone, Copy, Iden)]
pub enum AuditLog {
    Table,
    Id,
    OrgId,
    Chain,
    Seq,
    OccurredAt,
    ActorKind,
    ActorId,
    Action,
    TargetKind,
    TargetId,
    Ip,
    UserAgent,
    RequestId,
    Details,
    PrevHash,
    Hash,
}

/// `audit_heads`: the newest (seq, hash) of each chain.
#[derive(Debug, Clone, Copy, Iden)]
pub enum AuditHeads {
    Table,
    Chain,
    Seq,
    Hash,
    UpdatedAt,
}
