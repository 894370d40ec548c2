//! The SQL half of keyset pagination (`kiki_core::page` is the other): the
//! condition that starts a page after the last row of the previous one, for
//! a list ordered by several columns (the last a unique tie-breaker).

use sea_query::{Cond, Expr, ExprTrait, IntoColumnRef, Order, SelectStatement, Value};

/// Adds "after `key`" to a statement ordered by `columns` (each with its
/// direction): the rows that sort after the key, lexicographically. Columns
/// must be non-null; a nullable sort column needs its own condition.
pub fn after<C, V>(stmt: &mut SelectStatement, columns: &[(C, Order)], key: Vec<V>)
where
    C: IntoColumnRef + Clone,
    V: Into<Value>,
{
    let key: Vec<Value> = key.into_iter().map(Into::into).collect();
    debug_assert_eq!(columns.len(), key.len(), "one key value per sort column");
    let mut any = Cond::any();
    for i in 0..columns.len().min(key.len()) {
        let mut all = Cond::all();
        for (j, (col, _)) in columns.iter().enumerate().take(i) {
            all = all.add(Expr::col(col.clone()).eq(key[j].clone()));
        }
        let (col, order) = &columns[i];
        let beyond = match order {
            Order::Desc => Expr::col(col.clone()).lt(key[i].clone()),
            _ => Expr::col(col.clone()).gt(key[i].clone()),
        };
        any = any.add(all.add(beyond));
    }
    stmt.cond_where(any);
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_query::{Alias, Query, SqliteQueryBuilder};

    #[test]
    fn the_condition_is_lexicographic_in_each_columns_direction() {
        let mut stmt = Query::select()
            .column(Alias::new("id"))
            .from(Alias::new("t"))
            .to_owned();
        after(
            &mut stmt,
            &[
                (Alias::new("at"), Order::Desc),
                (Alias::new("id"), Order::Asc),
            ],
            vec![Value::from(5_i64), Value::from("k")],
        );
        let sql = stmt.to_string(SqliteQueryBuilder);
        assert_eq!(
            sql,
            r#"SELECT "id" FROM "t" WHERE "at" < 5 OR ("at" = 5 AND "id" > 'k')"#
        );
    }
}
