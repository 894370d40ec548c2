//! What a notice is in engine terms and what applying it yields: the issued
//! bid, the notice, its status, the price anomalies that refuse it, the
//! [`Effect`]s for the bidder to carry out and the once-per-bid [`Claims`].

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use super::{BidId, NoticeKind};
use crate::freq::FreqKey;
use crate::lineitem::LineItemId;

/// What the ledger remembers about a bid it issued.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IssuedBid {
    pub bid_id: BidId,
    pub line_item: LineItemId,
    /// Budget held for the bid (its maximum cost), bidder currency micros.
    pub hold_micros: i64,
    pub hold_day: u32,
    /// Bid CPM in bidder currency micros.
    pub price_micros: i64,
    /// Frequency key and window when the line item is capped and the user known.
    pub freq: Option<(FreqKey, u32)>,
    pub issued_ms: i64,
    pub test: bool,
}

/// A notice in engine terms: key resolved, price converted to the bidder currency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub key: u64,
    pub line_item: Option<LineItemId>,
    /// Clearing CPM in bidder currency micros, if the notice carried one.
    pub price_micros: Option<i64>,
    pub test: bool,
}

kiki_core::string_enum! {
    /// How a notice was taken.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum NoticeStatus {
        /// First notice of its kind for a known bid; effects applied.
        Applied = "applied",
        /// Already seen; nothing changes.
        Duplicate = "duplicate",
        /// For a bid id this ledger does not know; recorded and flagged.
        Unmatched = "unmatched",
        /// For a bid whose hold had expired; spend counted without a hold.
        Late = "late",
        /// Contradicts an earlier notice (a loss after a win, a win after a loss).
        Conflicting = "conflicting",
        /// For a test bid (`test = 1`): recorded, never spent.
        Test = "test",
        /// Reports a clearing price above the bid's own price, which no auction
        /// (first or second price) can produce: nothing is booked and the bid's
        /// state does not move, so a corrected notice is still taken.
        Refused = "refused",
    }
}

kiki_core::string_enum! {
    /// Why a notice was refused as impossible.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum AnomalyReason {
        /// The clearing price is above the price we bid.
        PriceAboveBid = "price_above_bid",
    }
}

/// A notice that contradicts the bid it names, with what the service needs
/// to record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeAnomaly {
    pub reason: AnomalyReason,
    pub bid_id: BidId,
    pub line_item: LineItemId,
    /// Our bid CPM, bidder currency micros.
    pub bid_price_micros: i64,
    /// The CPM the exchange reported, converted to bidder currency micros.
    pub reported_price_micros: i64,
}

/// An action the bidder must take because of a notice or an expiry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    /// Turn a hold into spend.
    Settle {
        line_item: LineItemId,
        hold_day: u32,
        hold_micros: i64,
        spend_micros: i64,
    },
    /// Return a hold unspent.
    Release {
        line_item: LineItemId,
        hold_day: u32,
        hold_micros: i64,
    },
    /// Spend with no hold behind it.
    SpendUnheld {
        line_item: LineItemId,
        spend_micros: i64,
    },
    /// One impression served (performance and frequency counting).
    CountImpression {
        line_item: LineItemId,
        freq: Option<(FreqKey, u32)>,
    },
    /// A win, for the shading feedback.
    WinFeedback { line_item: LineItemId },
}

/// The answer to one notice.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeOutcome {
    pub kind: NoticeKind,
    pub status: NoticeStatus,
    pub line_item: Option<LineItemId>,
    /// Clearing CPM in bidder currency micros (win/billing).
    pub clearing_micros: Option<i64>,
    /// Cost of the impression (clearing CPM / 1000) when spend was counted.
    pub spend_micros: Option<i64>,
    pub effects: SmallVec<[Effect; 4]>,
    /// Set when the notice was refused ([`NoticeStatus::Refused`]).
    pub anomaly: Option<NoticeAnomaly>,
}

/// What a notice's effects would count once per bid across replicas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Claims {
    /// The outcome counts the bid's spend (settled or unheld).
    pub spend: bool,
    /// The outcome counts the bid's impression (and its win feedback).
    pub impression: bool,
}

impl NoticeOutcome {
    /// Which once-per-bid counts this outcome would make.
    pub fn claims(&self) -> Claims {
        let mut c = Claims::default();
        for e in &self.effects {
            match e {
                Effect::Settle { .. } | Effect::SpendUnheld { .. } => c.spend = true,
                Effect::CountImpression { .. } => c.impression = true,
                Effect::Release { .. } | Effect::WinFeedback { .. } => {}
            }
        }
        c
    }

    /// Drops the counts another replica already made for this bid (`lost` = the
    /// claims this replica did not get): a hold whose spend was counted
    /// elsewhere is released instead of settled, unheld spend and the
    /// impression are not counted again. An outcome left with nothing to count
    /// that would have counted something is a duplicate.
    pub fn counted_elsewhere(&mut self, lost: Claims) {
        if !lost.spend && !lost.impression {
            return;
        }
        let before = self.claims();
        let mut kept: SmallVec<[Effect; 4]> = SmallVec::new();
        for e in self.effects.drain(..) {
            match e {
                Effect::Settle {
                    line_item,
                    hold_day,
                    hold_micros,
                    ..
                } if lost.spend => kept.push(Effect::Release {
                    line_item,
                    hold_day,
                    hold_micros,
                }),
                Effect::SpendUnheld { .. } if lost.spend => {}
                Effect::CountImpression { .. } | Effect::WinFeedback { .. } if lost.impression => {}
                other => kept.push(other),
            }
        }
        self.effects = kept;
        if lost.spend {
            self.spend_micros = None;
        }
        let after = self.claims();
        if (before.spend || before.impression) && !after.spend && !after.impression {
            self.status = NoticeStatus::Duplicate;
        }
    }
}

#[cfg(test)]
mod string_names {
    use super::*;

    /// The strings stored in columns are the names serde writes and reads.
    #[test]
    fn status_names_are_the_serde_names() {
        assert!(
            kiki_core::serde_name_problems::<NoticeStatus>().is_empty(),
            "{:?}",
            kiki_core::serde_name_problems::<NoticeStatus>()
        );
        assert!(
            kiki_core::serde_name_problems::<AnomalyReason>().is_empty(),
            "{:?}",
            kiki_core::serde_name_problems::<AnomalyReason>()
        );
    }
}
