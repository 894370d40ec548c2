//! Win, billing and loss notices: the URL templates the bidder puts in its bids,
//! parsing what the exchange calls back (`${AUCTION_PRICE}` and friends), and a
//! state machine per bid id that makes every notice idempotent.
//!
//! The [`NoticeLedger`] does no accounting itself: applying a notice returns
//! [`Effect`]s (settle a hold, release it, count an impression…) that the bidder
//! carries out on its budget, frequency and shading state. A notice for a bid
//! id the ledger does not know (issued before a restart, or by another replica)
//! is recorded and flagged `unmatched`; its spend is still counted once, from
//! the line item and price the URL carries, because the exchange bills it.

mod ledger;
mod outcome;
#[cfg(test)]
mod tests;
mod urls;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use ledger::{NoticeConfig, NoticeLedger, cost_of_cpm};
pub use outcome::{
    AnomalyReason, Claims, Effect, IssuedBid, Notice, NoticeAnomaly, NoticeOutcome, NoticeStatus,
};
pub(crate) use urls::percent_encode_into;
pub use urls::{MAX_NOTICE_CPM_MICROS, NoticeParams, NoticeUrls, parse_cpm_micros};

kiki_core::string_enum! {
    /// Which notice.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum NoticeKind {
        /// `nurl`: the bid won the auction.
        Win = "win",
        /// `burl`: the impression became billable.
        Billing = "billing",
        /// `lurl`: the bid lost.
        Loss = "loss",
    }
}

impl NoticeKind {
    /// The notice endpoint's last path segment (its name).
    pub fn path(self) -> &'static str {
        self.as_str()
    }
}

/// Which notice turns a hold into spend.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpendTrigger {
    /// The win notice (most exchanges fire only `nurl`).
    #[default]
    Win,
    /// The billing notice (OpenRTB 2.5+: billable means rendered); a win only counts the impression.
    Billing,
}

/// A bid id: 64 bits, written as 16 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BidId(pub u64);

impl fmt::Display for BidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl BidId {
    /// The 16 lower-case hex digits, without the formatting machinery (the bid
    /// path writes every id twice: in the bid and in its notice URLs).
    pub fn hex(self) -> String {
        let mut out = String::with_capacity(16);
        self.push_hex(&mut out);
        out
    }

    /// Appends the 16 lower-case hex digits of the id.
    pub fn push_hex(self, out: &mut String) {
        for b in self.hex_bytes() {
            out.push(char::from(b));
        }
    }

    /// The 16 lower-case hex digits of the id, without allocating.
    pub fn hex_bytes(self) -> [u8; 16] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0; 16];
        for (i, o) in out.iter_mut().enumerate() {
            *o = HEX[((self.0 >> ((15 - i) * 4)) & 15) as usize];
        }
        out
    }

    pub fn parse(s: &str) -> Option<BidId> {
        if s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            u64::from_str_radix(s, 16).ok().map(BidId)
        } else {
            None
        }
    }

    /// The ledger key of any id string: ours parse back exactly; foreign ids are hashed.
    pub fn key_of(s: &str) -> u64 {
        match BidId::parse(s) {
            Some(b) => b.0,
            None => crate::freq::user_hash(s) ^ 0x8000_0000_0000_0000,
        }
    }
}

#[cfg(test)]
mod string_names {
    use super::*;

    /// The strings stored in columns are the names serde writes and reads.
    #[test]
    fn kind_names_are_the_serde_names() {
        assert!(
            kiki_core::serde_name_problems::<NoticeKind>().is_empty(),
            "{:?}",
            kiki_core::serde_name_problems::<NoticeKind>()
        );
    }
}
