//! Bid shading for first-price auctions. In a first-price auction (`at = 1`) the
//! winner pays its own bid, so bidding the full value leaves no surplus; the
//! bidder offers `factor × value` instead. The factor is learned per line item
//! from win-rate feedback: after each batch of bids it moves multiplicatively
//! towards the factor that gives the target win rate,
//!
//! factor ← clamp(factor × exp(η × (target − observed win rate)), min, max),
//!
//! a bounded multiplicative-weights step (Arora, Hazan & Kale 2012, "The
//! Multiplicative Weights Update Method"). Second-price auctions are not shaded:
//! there bidding the value is the dominant strategy (Vickrey 1961).

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::BidderError;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ShadingConfig {
    /// Starting factor. Default 0.85.
    pub initial_factor: f64,
    /// Lowest factor. Default 0.5.
    pub min_factor: f64,
    /// Highest factor. Default 1.0 (never bid above value).
    pub max_factor: f64,
    /// Win rate the factor is steered to. Default 0.30.
    pub target_win_rate: f64,
    /// Step size η. Default 1.0.
    pub learning_rate: f64,
    /// Bids per feedback batch. Default 100.
    pub batch_bids: u64,
}

impl Default for ShadingConfig {
    fn default() -> Self {
        ShadingConfig {
            initial_factor: 0.85,
            min_factor: 0.5,
            max_factor: 1.0,
            target_win_rate: 0.30,
            learning_rate: 1.0,
            batch_bids: 100,
        }
    }
}

impl ShadingConfig {
    pub fn validate(&self) -> Result<(), BidderError> {
        let ok = self.min_factor > 0.0
            && self.min_factor <= self.initial_factor
            && self.initial_factor <= self.max_factor
            && self.max_factor <= 1.0
            && self.target_win_rate > 0.0
            && self.target_win_rate < 1.0
            && self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.batch_bids > 0;
        if ok {
            Ok(())
        } else {
            Err(BidderError::InvalidConfig(
                "shading needs 0 < min_factor <= initial_factor <= max_factor <= 1, \
                 target_win_rate in (0, 1), learning_rate > 0 and batch_bids > 0"
                    .into(),
            ))
        }
    }
}

/// Live shading state of one line item.
#[derive(Debug)]
pub struct ShadeState {
    /// Read on every first-price bid; written once per batch.
    factor_bits: AtomicU64,
    /// Written on every bid: striped, so the factor's cache line stays shared.
    bids: crate::striped::StripedCounter,
    wins: AtomicU64,
}

impl ShadeState {
    pub fn new(cfg: &ShadingConfig) -> Self {
        ShadeState {
            factor_bits: AtomicU64::new(cfg.initial_factor.to_bits()),
            bids: Default::default(),
            wins: AtomicU64::new(0),
        }
    }

    pub fn factor(&self) -> f64 {
        f64::from_bits(self.factor_bits.load(Ordering::Relaxed))
    }

    pub fn on_bid(&self) {
        self.bids.add(1);
    }

    pub fn on_win(&self) {
        self.wins.fetch_add(1, Ordering::Relaxed);
    }

    /// Applies one feedback step when a full batch has been observed. Returns the new factor.
    pub fn update(&self, cfg: &ShadingConfig) -> Option<f64> {
        if self.bids.get() < cfg.batch_bids {
            return None;
        }
        let bids = self.bids.take();
        let wins = self.wins.swap(0, Ordering::Relaxed).min(bids);
        let rate = wins as f64 / bids.max(1) as f64;
        let f = (self.factor() * (cfg.learning_rate * (cfg.target_win_rate - rate)).exp())
            .clamp(cfg.min_factor, cfg.max_factor);
        self.factor_bits.store(f.to_bits(), Ordering::Relaxed);
        Some(f)
    }
}

/// The shaded price: `factor × value`, never below the floor and never above the value.
pub fn shade(value_micros: i64, factor: f64, floor_micros: i64) -> i64 {
    let shaded = (value_micros as f64 * factor).floor() as i64;
    shaded.max(floor_micros).min(value_micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_low_win_rate_raises_the_factor_and_a_high_one_lowers_it() {
        let cfg = ShadingConfig {
            batch_bids: 10,
            ..ShadingConfig::default()
        };
        let s = ShadeState::new(&cfg);
        for _ in 0..10 {
            s.on_bid();
        }
        let up = s.update(&cfg).unwrap();
        assert!(up > 0.85);
        for _ in 0..10 {
            s.on_bid();
            s.on_win();
        }
        let down = s.update(&cfg).unwrap();
        assert!(down < up);
        assert_eq!(s.update(&cfg), None, "no full batch yet");
    }

    #[test]
    fn the_factor_stays_within_its_bounds() {
        let cfg = ShadingConfig {
            batch_bids: 1,
            learning_rate: 50.0,
            ..ShadingConfig::default()
        };
        let s = ShadeState::new(&cfg);
        for _ in 0..20 {
            s.on_bid();
            s.on_win();
            s.update(&cfg);
        }
        assert_eq!(s.factor(), cfg.min_factor);
        for _ in 0..20 {
            s.on_bid();
            s.update(&cfg);
        }
        assert_eq!(s.factor(), cfg.max_factor);
    }

    #[test]
    fn shading_never_goes_below_the_floor_or_above_the_value() {
        assert_eq!(shade(1_000_000, 0.8, 0), 800_000);
        assert_eq!(shade(1_000_000, 0.8, 900_000), 900_000);
        assert_eq!(shade(1_000_000, 0.8, 2_000_000), 1_000_000);
    }
}
