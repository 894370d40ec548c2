//! Why the bidder did not bid, with the OpenRTB no-bid reason code (`nbr`) for
//! each. Codes 0–15 are the standard list of OpenRTB 2.6 §5.24 (15 "Insufficient
//! Auction Time" is new in 2.6); 500+ are bidder-specific values, which the spec
//! leaves to be agreed with the exchange, documented in docs/bidder.md.

use serde::{Deserialize, Serialize};

kiki_core::string_enum! {
    /// A reason for not bidding. The declaration order is the order of the decision
    /// pipeline: when several candidates fail at different stages, the request
    /// reports the stage furthest down the pipeline, which is the most informative.
    #[derive(
        Debug,
        Clone,
        Copy,
        PartialEq,
        Eq,
        Hash,
        PartialOrd,
        Ord,
        Serialize,
        Deserialize,
        utoipa::ToSchema,
    )]
    #[serde(rename_all = "snake_case")]
    pub enum NoBidReason {
        /// The request was malformed or broke a rule (the HTTP layer answers 400).
        InvalidRequest = "invalid_request",
        /// No line item is active in the current snapshot.
        NoActiveLineItems = "no_active_line_items",
        /// `tmax` minus elapsed time and the safety margin leaves too little time.
        InsufficientAuctionTime = "insufficient_auction_time",
        /// `regs.coppa = 1`: the bidder never bids on child-directed inventory.
        Coppa = "coppa",
        /// Our seat is not in `wseat`, or is in `bseat`.
        SeatNotAllowed = "seat_not_allowed",
        /// None of the currencies in `cur` can be priced with the FX table.
        UnsupportedCurrency = "unsupported_currency",
        /// GDPR applies, there is no consent, and the policy forbids contextual bids.
        NoConsent = "no_consent",
        /// No line item matches the impression's format, size, geo, device or inventory.
        NoMatchingLineItem = "no_matching_line_item",
        /// Matching line items are outside their flight dates or dayparts.
        NotScheduled = "not_scheduled",
        /// Every matching creative is blocked by `bcat`, `badv`, `bapp` or `battr`.
        BlockedByRequest = "blocked_by_request",
        /// The pacing throttle or the interval spend ceiling held the line items back.
        Paced = "paced",
        /// MarginGuardian refused: the LTV is below the minimum or the cap rounds to zero.
        MarginRefused = "margin_refused",
        /// The best price MarginGuardian allows is below the floor.
        BelowFloor = "below_floor",
        /// A frequency-capped line item needs a user id that is missing or not usable.
        UnmatchedUser = "unmatched_user",
        /// The user has reached the line item's frequency cap.
        FrequencyCapped = "frequency_capped",
        /// The daily or total budget (or the local lease of it) is used up.
        BudgetExhausted = "budget_exhausted",
    }
}

impl NoBidReason {
    /// Every reason in pipeline order.
    /// The OpenRTB `nbr` code sent (or counted) for this reason.
    pub const fn nbr(self) -> u16 {
        match self {
            NoBidReason::InvalidRequest => 2,
            NoBidReason::UnmatchedUser => 8,
            NoBidReason::FrequencyCapped => 9,
            NoBidReason::InsufficientAuctionTime => 15,
            NoBidReason::Coppa => 500,
            NoBidReason::SeatNotAllowed => 501,
            NoBidReason::UnsupportedCurrency => 502,
            NoBidReason::NoConsent => 503,
            NoBidReason::NoActiveLineItems => 510,
            NoBidReason::NoMatchingLineItem => 511,
            NoBidReason::NotScheduled => 512,
            NoBidReason::BlockedByRequest => 513,
            NoBidReason::Paced => 514,
            NoBidReason::MarginRefused => 515,
            NoBidReason::BelowFloor => 516,
            NoBidReason::BudgetExhausted => 517,
        }
    }

    /// Stable snake_case name for metrics labels and logs.
    /// Position in [`NoBidReason::ALL`], for counter arrays.
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for NoBidReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (nbr {})", self.as_str(), self.nbr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_reason_in_declaration_order_with_unique_codes() {
        let mut codes = std::collections::HashSet::new();
        for (i, r) in NoBidReason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
            assert!(codes.insert(r.nbr()), "duplicate nbr {}", r.nbr());
            let standard = r.nbr() <= 15;
            let vendor = r.nbr() >= 500;
            assert!(
                standard || vendor,
                "{r}: codes 16–499 are reserved by the spec"
            );
        }
        assert!(NoBidReason::NoMatchingLineItem < NoBidReason::BudgetExhausted);
    }
}

#[cfg(test)]
mod string_names {
    use super::*;

    /// The strings stored in columns are the names serde writes and reads.
    #[test]
    fn reason_names_are_the_serde_names() {
        assert!(
            kiki_core::serde_name_problems::<NoBidReason>().is_empty(),
            "{:?}",
            kiki_core::serde_name_problems::<NoBidReason>()
        );
    }
}
