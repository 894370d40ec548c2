//! The rows of `twin_budgets` the campaigns feed (`source = 'campaigns'`).

use kiki_core::{Currency, OrgId};
use kiki_store::{StoreError, Tx};
use sea_query::{Expr, ExprTrait, OnConflict, Query};
use time::OffsetDateTime;

use super::schema::TwinBudgets as B;

/// The platforms whose budget the campaigns feed, with that budget.
pub(crate) async fn fed(tx: &mut Tx<'_>, org: OrgId) -> Result<Vec<(String, i64)>, StoreError> {
    let stmt = Query::select()
        .columns([B::Platform, B::DailyBudgetMicros])
        .from(B::Table)
        .and_where(Expr::col(B::OrgId).eq(org.0))
        .and_where(Expr::col(B::Source).eq("campaigns"))
        .to_owned();
    tx.fetch_all(&stmt).await
}

/// Makes the campaigns' sums the budgets of their platforms: rows of other
/// currencies go, fed platforms take the sum (keeping their bounds, widened to
/// hold it), platforms no longer fed drop out.
pub(crate) async fn feed(
    tx: &mut Tx<'_>,
    org: OrgId,
    lines: Option<(Currency, &[(String, i64)])>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let mut gone = Query::delete()
        .from_table(B::Table)
        .and_where(Expr::col(B::OrgId).eq(org.0))
        .to_owned();
    match lines {
        None => {
            gone.and_where(Expr::col(B::Source).eq("campaigns"));
        }
        Some((currency, lines)) => {
            let fed: Vec<&str> = lines.iter().map(|(p, _)| p.as_str()).collect();
            gone.cond_where(
                Expr::col(B::Currency)
                    .ne(currency.as_str())
                    .or(Expr::col(B::Source)
                        .eq("campaigns")
                        .and(Expr::col(B::Platform).is_not_in(fed))),
            );
        }
    }
    tx.execute(&gone).await?;
    let Some((currency, lines)) = lines else {
        return Ok(());
    };
    for (platform, micros) in lines {
        let stmt = Query::insert()
            .into_table(B::Table)
            .columns([
                B::OrgId,
                B::Platform,
                B::Currency,
                B::DailyBudgetMicros,
                B::MinDailyBudgetMicros,
                B::MaxDailyBudgetMicros,
                B::UpdatedAt,
                B::Source,
            ])
            .values_panic([
                org.0.into(),
                platform.as_str().into(),
                currency.as_str().into(),
                (*micros).into(),
                0i64.into(),
                Option::<i64>::None.into(),
                now.into(),
                "campaigns".into(),
            ])
            .on_conflict(
                OnConflict::columns([B::OrgId, B::Platform])
                    .update_columns([B::DailyBudgetMicros, B::UpdatedAt, B::Source])
                    .to_owned(),
            )
            .to_owned();
        tx.execute(&stmt).await?;
        // Bounds set by hand stay, widened so the budget lies within them.
        let widen_min = Query::update()
            .table(B::Table)
            .value(B::MinDailyBudgetMicros, *micros)
            .and_where(Expr::col(B::OrgId).eq(org.0))
            .and_where(Expr::col(B::Platform).eq(platform.as_str()))
            .and_where(Expr::col(B::MinDailyBudgetMicros).gt(*micros))
            .to_owned();
        tx.execute(&widen_min).await?;
        let widen_max = Query::update()
            .table(B::Table)
            .value(B::MaxDailyBudgetMicros, *micros)
            .and_where(Expr::col(B::OrgId).eq(org.0))
            .and_where(Expr::col(B::Platform).eq(platform.as_str()))
            .and_where(Expr::col(B::MaxDailyBudgetMicros).lt(*micros))
            .to_owned();
        tx.execute(&widen_max).await?;
    }
    Ok(())
}

/// Marks `platforms` as fed by the campaigns again (after a manual
/// replacement of the bounds).
pub(crate) async fn mark_fed(
    tx: &mut Tx<'_>,
    org: OrgId,
    platforms: &[String],
) -> Result<(), StoreError> {
    if platforms.is_empty() {
        return Ok(());
    }
    let stmt = Query::update()
        .table(B::Table)
        .value(B::Source, "campaigns")
        .and_where(Expr::col(B::OrgId).eq(org.0))
        .and_where(Expr::col(B::Platform).is_in(platforms.iter().map(String::as_str)))
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}
