//! Identifiers of the table decision records live in (migration `0003_shield.sql`).

use sea_query::Iden;

/// `decisions`: one row per automated decision.
#[derive(Debug, Clone, Copy, Iden)]
pub enum Decisions {
    Table,
    Id,
    OrgId,
    Engine,
    EngineVersion,
    Kind,
    SubjectKind,
    SubjectId,
    Inputs,
    Output,
    Confidence,
    Explanation,
    AuditEntryId,
    DecidedAt,
}
