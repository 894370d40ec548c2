//! The twin's tables (migration `0007_twin.sql`) and every query the context
//! runs on them, crate-private: simulations, gate decisions and market models
//! (`simulations.rs`), daily performance (`performance.rs`), per-organisation
//! settings (`settings.rs`), budgets, rebalancing runs and shifts
//! (`rebalancing.rs`), mirror reports (`mirror.rs`). Every read and write of
//! tenant rows names the organisation. The table identifiers are in
//! `schema.rs`.

pub(crate) mod mirror;
pub(crate) mod performance;
pub(crate) mod rebalancing;
mod schema;
pub(crate) mod settings;
pub(crate) mod simulations;

use sea_query::{Cond, Expr, ExprTrait, IntoColumnRef, SelectStatement};
use time::OffsetDateTime;
use uuid::Uuid;

/// The position of a row in a (time desc, id desc) list: the last row of a
/// page, from which the next page starts.
pub(crate) type Key = (OffsetDateTime, Uuid);

/// Adds the "after this key" condition of a (time desc, id desc) list.
fn after<C: IntoColumnRef + Copy>(stmt: &mut SelectStatement, at_col: C, id_col: C, key: Key) {
    let (t, id) = key;
    stmt.cond_where(
        Cond::any().add(Expr::col(at_col).lt(t)).add(
            Cond::all()
                .add(Expr::col(at_col).eq(t))
                .add(Expr::col(id_col).lt(id)),
        ),
    );
}
