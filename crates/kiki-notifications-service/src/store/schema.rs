//! Identifiers of the tables in migration `0026_notifications.sql`.

use sea_query::Iden;

#[derive(Debug, Clone, Copy, Iden)]
pub enum Notifications {
    Table,
    Id,
    OrgId,
    Kind,
    Severity,
    SubjectType,
    SubjectId,
    Title,
    Body,
    Link,
    Occurrences,
    CreatedAt,
    UpdatedAt,
    ReadAt,
    ResolvedAt,
    DismissedAt,
    EmailedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum NotificationSettings {
    Table,
    OrgId,
    RoasTarget,
    BudgetTolerancePct,
    KindsOff,
    UpdatedBy,
    UpdatedAt,
}
