//! The campaigns context's tables (migrations `0010_campaigns.sql` and
//! `0012_campaign_channels.sql`) and every
//! query on them, crate-private: campaigns, ad sets and status moves
//! (`campaigns.rs`), approvals and comments (`approvals.rs`), settings
//! (`settings.rs`), kill switches (`kill_switch.rs`), creatives
//! (`creatives.rs`), applied budget shifts (`budget_moves.rs`) and the
//! organisation's own language model (`llm.rs`). Every read and write of tenant rows names the
//! organisation. The table identifiers are in `schema.rs`.

pub(crate) mod approvals;
pub(crate) mod budget_moves;
pub(crate) mod campaigns;
pub(crate) mod creatives;
pub(crate) mod kill_switch;
pub(crate) mod llm;
mod schema;
pub(crate) mod settings;

use time::OffsetDateTime;
use uuid::Uuid;

/// The position of a row in a (time desc, id desc) list: the last row of a
/// page, from which the next page starts (`kiki_core::page`).
pub(crate) type Key = (OffsetDateTime, Uuid);

/// Adds "after `key`" on (created_at desc, id desc).
pub(crate) fn after<C: sea_query::IntoColumnRef + Clone>(
    stmt: &mut sea_query::SelectStatement,
    created_at: C,
    id: C,
    key: Option<Key>,
) {
    if let Some((at, id_value)) = key {
        kiki_store::keyset::after(
            stmt,
            &[
                (created_at, sea_query::Order::Desc),
                (id, sea_query::Order::Desc),
            ],
            vec![sea_query::Value::from(at), sea_query::Value::from(id_value)],
        );
    }
}
