//! The margin-aware CPA ceiling: the most a new customer may cost for the
//! campaign to reach its target return on profit.
//!
//! A customer brings `ltv` of revenue over the forecast horizon, of which
//! `margin` is contribution (gross profit). Acquiring them at cost `cpa`
//! returns `ltv × margin / cpa` of profit per unit of spend; reaching the
//! target `roi` therefore needs `cpa ≤ ltv × margin / roi`. With a 100 %
//! margin this is the revenue-based ceiling `ltv / roas`.

use kiki_core::Money;

/// The highest CPA at which `ltv` with contribution `margin_bps` (basis
/// points, 0–10 000) reaches a profit return of `roi_milli` (thousandths:
/// 3 000 = 3×). `None` when the margin or the target is zero or out of range,
/// or the arithmetic overflows.
pub fn max_cpa(ltv: Money, margin_bps: u32, roi_milli: u32) -> Option<Money> {
    if margin_bps == 0 || margin_bps > 10_000 || roi_milli == 0 || ltv.is_negative() {
        return None;
    }
    // ltv × (margin_bps / 10 000) / (roi_milli / 1 000)
    ltv.mul_ratio(i64::from(margin_bps), i64::from(roi_milli) * 10)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::Currency;

    #[test]
    fn the_ceiling_is_ltv_times_margin_over_the_target() {
        let ltv = Money::from_major(120, Currency::USD).unwrap();
        // 120 × 30 % / 3 = 12
        assert_eq!(
            max_cpa(ltv, 3_000, 3_000),
            Some(Money::from_major(12, Currency::USD).unwrap())
        );
        // 100 % margin: the revenue-based ceiling 120 / 2 = 60
        assert_eq!(
            max_cpa(ltv, 10_000, 2_000),
            Some(Money::from_major(60, Currency::USD).unwrap())
        );
        assert_eq!(max_cpa(ltv, 0, 3_000), None);
        assert_eq!(max_cpa(ltv, 3_000, 0), None);
        assert_eq!(max_cpa(ltv, 10_001, 3_000), None);
    }
}
