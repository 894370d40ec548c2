//! Budget accounting without waiting on shared storage.
//!
//! The shared [`BudgetLedger`] (in memory here; Redis or PostgreSQL in a
//! multi-replica deployment) is the source of truth for how much of each line
//! item's daily and total budget has been *granted*. A replica never spends
//! budget it was not granted: it holds a local **lease** (a slice of the budget
//! granted in advance) in a [`SpendAccount`], and the bid path only touches that
//! account's atomics:
//!
//! * a bid takes a **hold** of its maximum cost (price / 1000) from the lease,
//!   or does not bid;
//! * a win (or billing) notice **settles** the hold: the clearing price becomes
//!   spend and the unused part returns to the lease;
//! * a loss notice or the hold's expiry **releases** it.
//!
//! Since the sum of leases never exceeds the budget and holds are taken before
//! bidding, spend stays within the daily budget; the only excess possible is a
//! win that arrives after its hold expired (or for a bid this replica did not
//! issue), which is bounded by one in-flight bid each.
//!
//! Refills: with a local ledger (`is_local`) the bid path refills inline, which
//! costs one uncontended mutex. With a remote ledger the bid path only flags that
//! it wants more, and `Bidder::maintain` (a background task in the service)
//! calls `grant`, so no request ever waits for Redis.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use kiki_core::{Currency, Money};

use crate::lineitem::LineItemId;

/// The budget bounds a grant must respect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetLimits {
    pub daily_micros: i64,
    pub total_micros: Option<i64>,
}

/// Spend as the ledger knows it (all replicas).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SpendTotals {
    pub day_micros: i64,
    pub total_micros: i64,
}

/// The shared source of truth for budget grants and spend. Implementations must
/// be synchronous and must not block for long: a remote implementation answers
/// `spent` from a cache and queues `record_spend`/`give_back`.
pub trait BudgetLedger: Send + Sync + std::fmt::Debug + 'static {
    /// Grants up to `want_micros` of the line item's budget for `day`, keeping the
    /// day's grants within the daily limit and all grants within the total.
    /// Returns what was granted (0 when the budget is used up).
    fn grant(&self, line_item: LineItemId, day: u32, want_micros: i64, limits: BudgetLimits)
    -> i64;
    /// Returns an unused part of an earlier grant.
    fn give_back(&self, line_item: LineItemId, day: u32, micros: i64);
    /// Records settled spend.
    fn record_spend(&self, line_item: LineItemId, day: u32, micros: i64);
    /// Spend so far for the day and in total.
    fn spent(&self, line_item: LineItemId, day: u32) -> SpendTotals;
    /// True when calls are in-process and cheap, so refills may happen on the bid path.
    fn is_local(&self) -> bool;
}

#[derive(Debug, Default, Clone, Copy)]
struct LedgerAccount {
    day: u32,
    granted_day: i64,
    spent_day: i64,
    granted_total: i64,
    spent_total: i64,
}

/// The single-process ledger.
#[derive(Debug, Default)]
pub struct InMemoryLedger {
    accounts: Mutex<HashMap<LineItemId, LedgerAccount>>,
}

impl InMemoryLedger {
    pub fn new() -> Self {
        Self::default()
    }

    /// Granted so far for the day (for tests and reports).
    pub fn granted(&self, line_item: LineItemId, day: u32) -> i64 {
        self.accounts
            .lock()
            .get(&line_item)
            .filter(|a| a.day == day)
            .map_or(0, |a| a.granted_day)
    }
}

fn roll(a: &mut LedgerAccount, day: u32) {
    if a.day != day {
        a.day = day;
        a.granted_day = 0;
        a.spent_day = 0;
    }
}

impl BudgetLedger for InMemoryLedger {
    fn grant(&self, line_item: LineItemId, day: u32, want: i64, limits: BudgetLimits) -> i64 {
        if want <= 0 {
            return 0;
        }
        let mut map = self.accounts.lock();
        let a = map.entry(line_item).or_default();
        if day < a.day {
            return 0;
        }
        roll(a, day);
        let mut room = limits.daily_micros - a.granted_day;
        if let Some(total) = limits.total_micros {
            room = room.min(total - a.granted_total);
        }
        let g = want.min(room).max(0);
        a.granted_day += g;
        a.granted_total += g;
        g
    }

    fn give_back(&self, line_item: LineItemId, day: u32, micros: i64) {
        if micros <= 0 {
            return;
        }
        let mut map = self.accounts.lock();
        let a = map.entry(line_item).or_default();
        if a.day == day {
            a.granted_day -= micros;
        }
        a.granted_total -= micros;
    }

    fn record_spend(&self, line_item: LineItemId, day: u32, micros: i64) {
        let mut map = self.accounts.lock();
        let a = map.entry(line_item).or_default();
        if day > a.day {
            roll(a, day);
        }
        if a.day == day {
            a.spent_day += micros;
        }
        a.spent_total += micros;
    }

    fn spent(&self, line_item: LineItemId, day: u32) -> SpendTotals {
        let map = self.accounts.lock();
        match map.get(&line_item) {
            Some(a) => SpendTotals {
                day_micros: if a.day == day { a.spent_day } else { 0 },
                total_micros: a.spent_total,
            },
            None => SpendTotals::default(),
        }
    }

    fn is_local(&self) -> bool {
        true
    }
}

/// This process's lease of one line item's budget, with its holds and spend.
///
/// Aligned to its own 128 bytes (two cache lines, the unit adjacent-line
/// prefetch moves): every bid of the line item writes it, and the fields read
/// for every candidate beside it in [`LineItemRuntime`](crate::snapshot::LineItemRuntime)
/// (the pacing throttle, pCTR × pCVR) stay in lines the other cores keep.
#[derive(Debug)]
#[repr(align(128))]
pub struct SpendAccount {
    day: AtomicU32,
    lease: AtomicI64,
    held: AtomicI64,
    spent_day: AtomicI64,
    refill_wanted: AtomicBool,
    roll: Mutex<()>,
}

impl Default for SpendAccount {
    fn default() -> Self {
        SpendAccount {
            day: AtomicU32::new(0),
            lease: AtomicI64::new(0),
            held: AtomicI64::new(0),
            spent_day: AtomicI64::new(0),
            refill_wanted: AtomicBool::new(true),
            roll: Mutex::new(()),
        }
    }
}

/// A point-in-time view of an account, in bidder-currency micros.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountState {
    pub day: u32,
    pub lease_micros: i64,
    pub held_micros: i64,
    pub spent_day_micros: i64,
}

impl AccountState {
    /// The view the API shows, amounts in the bidder currency.
    pub fn in_currency(self, currency: Currency) -> AccountView {
        let money = |micros| Money::from_micros(micros, currency);
        AccountView {
            day: self.day,
            lease: money(self.lease_micros),
            held: money(self.held_micros),
            spent_day: money(self.spent_day_micros),
        }
    }
}

/// An account as the API shows it: the local lease, the amount held for
/// bids in flight and the day's settled spend, in the bidder currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccountView {
    pub day: u32,
    pub lease: Money,
    pub held: Money,
    pub spent_day: Money,
}

impl SpendAccount {
    pub fn view(&self) -> AccountState {
        AccountState {
            day: self.day.load(Ordering::Acquire),
            lease_micros: self.lease.load(Ordering::Relaxed),
            held_micros: self.held.load(Ordering::Relaxed),
            spent_day_micros: self.spent_day.load(Ordering::Relaxed),
        }
    }

    /// Local settled spend of `day` (0 when the account is on another day).
    pub fn spent_on(&self, day: u32) -> i64 {
        if self.day.load(Ordering::Acquire) == day {
            self.spent_day.load(Ordering::Relaxed)
        } else {
            0
        }
    }

    pub fn wants_refill(&self) -> bool {
        self.refill_wanted.load(Ordering::Relaxed)
    }

    /// Moves the account to `day`, returning yesterday's unused lease to the ledger.
    pub fn roll_to(&self, ledger: &dyn BudgetLedger, id: LineItemId, day: u32) {
        if self.day.load(Ordering::Acquire) >= day {
            return;
        }
        let _g = self.roll.lock();
        let old = self.day.load(Ordering::Acquire);
        if old >= day {
            return;
        }
        let leftover = self.lease.swap(0, Ordering::AcqRel);
        if leftover > 0 {
            ledger.give_back(id, old, leftover);
        }
        self.spent_day.store(0, Ordering::Relaxed);
        self.refill_wanted.store(true, Ordering::Relaxed);
        self.day.store(day, Ordering::Release);
    }

    /// Gives the whole unused lease back to the ledger (graceful shutdown);
    /// returns the amount. Holds stay: their notices settle or release them.
    pub fn return_lease(&self, ledger: &dyn BudgetLedger, id: LineItemId) -> i64 {
        let _g = self.roll.lock();
        let day = self.day.load(Ordering::Acquire);
        let mut cur = self.lease.load(Ordering::Acquire);
        while cur > 0 {
            match self
                .lease
                .compare_exchange_weak(cur, 0, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    ledger.give_back(id, day, cur);
                    self.refill_wanted.store(true, Ordering::Relaxed);
                    return cur;
                }
                Err(now) => cur = now,
            }
        }
        0
    }

    /// Takes `amount` from the lease for an in-flight bid. Refills inline from a local ledger.
    pub fn try_hold(
        &self,
        ledger: &dyn BudgetLedger,
        id: LineItemId,
        limits: BudgetLimits,
        day: u32,
        amount: i64,
        lease_chunk: i64,
    ) -> bool {
        if amount <= 0 {
            return true;
        }
        self.roll_to(ledger, id, day);
        let mut refilled = false;
        loop {
            let cur = self.lease.load(Ordering::Acquire);
            if cur >= amount {
                if self
                    .lease
                    .compare_exchange_weak(cur, cur - amount, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    self.held.fetch_add(amount, Ordering::Relaxed);
                    return true;
                }
                continue;
            }
            if ledger.is_local() && !refilled {
                refilled = true;
                if self.refill(ledger, id, limits, day, lease_chunk.max(amount)) == 0 {
                    return false;
                }
                continue;
            }
            self.refill_wanted.store(true, Ordering::Relaxed);
            return false;
        }
    }

    /// Asks the ledger for more lease; returns what was granted.
    pub fn refill(
        &self,
        ledger: &dyn BudgetLedger,
        id: LineItemId,
        limits: BudgetLimits,
        day: u32,
        want: i64,
    ) -> i64 {
        self.roll_to(ledger, id, day);
        let _g = self.roll.lock();
        if self.day.load(Ordering::Acquire) != day {
            return 0;
        }
        let granted = ledger.grant(id, day, want, limits);
        self.lease.fetch_add(granted, Ordering::AcqRel);
        self.refill_wanted.store(false, Ordering::Relaxed);
        granted
    }

    /// A win (or billing) for a held bid: `actual` becomes spend, the rest of the
    /// hold returns to the lease (or to the ledger when the hold is from an earlier day).
    pub fn settle(
        &self,
        ledger: &dyn BudgetLedger,
        id: LineItemId,
        hold_day: u32,
        hold: i64,
        actual: i64,
    ) {
        self.held.fetch_sub(hold, Ordering::Relaxed);
        ledger.record_spend(id, hold_day, actual);
        if self.day.load(Ordering::Acquire) == hold_day {
            self.spent_day.fetch_add(actual, Ordering::Relaxed);
            self.lease.fetch_add(hold - actual, Ordering::AcqRel);
        } else if hold > actual {
            ledger.give_back(id, hold_day, hold - actual);
        }
    }

    /// A lost or expired bid: the whole hold returns.
    pub fn release(&self, ledger: &dyn BudgetLedger, id: LineItemId, hold_day: u32, hold: i64) {
        self.held.fetch_sub(hold, Ordering::Relaxed);
        if self.day.load(Ordering::Acquire) == hold_day {
            self.lease.fetch_add(hold, Ordering::AcqRel);
        } else {
            ledger.give_back(id, hold_day, hold);
        }
    }

    /// Spend with no hold (a late win after expiry, or a bid another replica issued).
    /// It comes out of the lease, which may go negative: that is the bounded excess.
    pub fn spend_unheld(&self, ledger: &dyn BudgetLedger, id: LineItemId, day: u32, actual: i64) {
        self.roll_to(ledger, id, day);
        ledger.record_spend(id, day, actual);
        if self.day.load(Ordering::Acquire) == day {
            self.spent_day.fetch_add(actual, Ordering::Relaxed);
            self.lease.fetch_sub(actual, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: BudgetLimits = BudgetLimits {
        daily_micros: 1_000,
        total_micros: Some(1_500),
    };

    #[test]
    fn returning_the_lease_gives_the_unused_part_back_to_the_ledger() {
        let l = InMemoryLedger::new();
        let id = LineItemId::new();
        let a = SpendAccount::default();
        assert_eq!(a.refill(&l, id, LIMITS, 1, 300), 300);
        assert!(a.try_hold(&l, id, LIMITS, 1, 100, 0));
        assert_eq!(a.return_lease(&l, id), 200);
        assert_eq!(l.granted(id, 1), 100);
        assert_eq!(a.view().lease_micros, 0);
        assert_eq!(a.return_lease(&l, id), 0);
    }

    #[test]
    fn the_ledger_never_grants_beyond_the_daily_or_total_budget() {
        let l = InMemoryLedger::new();
        let id = LineItemId::new();
        assert_eq!(l.grant(id, 1, 600, LIMITS), 600);
        assert_eq!(l.grant(id, 1, 600, LIMITS), 400);
        assert_eq!(l.grant(id, 1, 1, LIMITS), 0);
        l.give_back(id, 1, 100);
        assert_eq!(l.granted(id, 1), 900);
        assert_eq!(
            l.grant(id, 2, 1_000, LIMITS),
            600,
            "total 1 500 less 900 already granted"
        );
    }

    #[test]
    fn holds_never_exceed_the_budget_and_settling_returns_the_unused_part() {
        let l = InMemoryLedger::new();
        let id = LineItemId::new();
        let a = SpendAccount::default();
        let mut held = 0;
        while a.try_hold(&l, id, LIMITS, 1, 300, 100) {
            held += 300;
        }
        assert_eq!(held, 900, "a fourth hold of 300 would pass the daily 1 000");
        a.settle(&l, id, 1, 300, 120);
        a.release(&l, id, 1, 300);
        assert!(a.try_hold(&l, id, LIMITS, 1, 400, 100));
        let v = a.view();
        assert_eq!((v.held_micros, v.spent_day_micros), (700, 120));
        assert_eq!(l.spent(id, 1).day_micros, 120);
    }

    #[test]
    fn a_new_day_returns_yesterdays_lease_and_starts_from_zero() {
        let l = InMemoryLedger::new();
        let id = LineItemId::new();
        let a = SpendAccount::default();
        assert!(a.try_hold(&l, id, LIMITS, 1, 100, 500));
        a.settle(&l, id, 1, 100, 100);
        assert!(a.try_hold(&l, id, LIMITS, 2, 100, 500));
        assert_eq!(a.spent_on(2), 0);
        assert_eq!(l.granted(id, 2), 500);
        // A hold from day 2 settled after moving to day 3 goes to day 2's books.
        a.roll_to(&l, id, 3);
        a.settle(&l, id, 2, 100, 40);
        assert_eq!(l.spent(id, 3).day_micros, 0);
        assert_eq!(l.spent(id, 3).total_micros, 140);
    }

    #[test]
    fn unheld_spend_is_counted_and_drives_the_lease_negative() {
        let l = InMemoryLedger::new();
        let id = LineItemId::new();
        let a = SpendAccount::default();
        a.spend_unheld(&l, id, 1, 50);
        assert_eq!(a.view().lease_micros, -50);
        assert_eq!(l.spent(id, 1).day_micros, 50);
    }

    #[derive(Debug, Default)]
    struct Remote(InMemoryLedger);
    impl BudgetLedger for Remote {
        fn grant(&self, id: LineItemId, day: u32, want: i64, limits: BudgetLimits) -> i64 {
            self.0.grant(id, day, want, limits)
        }
        fn give_back(&self, id: LineItemId, day: u32, m: i64) {
            self.0.give_back(id, day, m)
        }
        fn record_spend(&self, id: LineItemId, day: u32, m: i64) {
            self.0.record_spend(id, day, m)
        }
        fn spent(&self, id: LineItemId, day: u32) -> SpendTotals {
            self.0.spent(id, day)
        }
        fn is_local(&self) -> bool {
            false
        }
    }

    #[test]
    fn with_a_remote_ledger_the_bid_path_only_flags_a_refill() {
        let l = Remote::default();
        let id = LineItemId::new();
        let a = SpendAccount::default();
        a.roll_to(&l, id, 1);
        assert!(!a.try_hold(&l, id, LIMITS, 1, 10, 100));
        assert!(a.wants_refill());
        assert_eq!(l.0.granted(id, 1), 0, "no ledger call on the bid path");
        assert_eq!(a.refill(&l, id, LIMITS, 1, 100), 100);
        assert!(a.try_hold(&l, id, LIMITS, 1, 10, 100));
    }
}
