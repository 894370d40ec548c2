//! A budget shift between two platforms applied to campaigns' ad sets: the
//! amount is split over the campaigns that run on both platforms in
//! proportion to what each spends on the platform the money leaves, and
//! inside a campaign over its ad sets in proportion to their budgets. A
//! campaign's daily budget does not change (the money moves between its own
//! ad sets); every ad set keeps at least one basis point of it, and the
//! shares are recomputed to sum to exactly 10 000.

/// Which side of the shift an ad set is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// On the platform the money leaves.
    From,
    /// On the platform the money goes to.
    To,
    /// Elsewhere: unchanged.
    Other,
}

/// One campaign after the shift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shifted {
    /// The ad sets' new daily budgets, in order.
    pub budgets: Vec<i64>,
    /// Their shares of the campaign's daily budget in basis points (sum 10 000).
    pub shares_bps: Vec<u32>,
    /// How much moved.
    pub moved: i64,
}

/// `total` split over `weights` in proportion, rounding down; the remainder
/// goes to the first parts (largest-remainder would be fairer by a micro;
/// the sum is what matters and it is exact).
pub fn split(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| i128::from((*w).max(0))).sum();
    if sum == 0 || weights.is_empty() {
        let mut out = vec![0; weights.len()];
        if let Some(first) = out.first_mut() {
            *first = total;
        }
        return out;
    }
    let mut out: Vec<i64> = weights
        .iter()
        .map(|w| (i128::from(total) * i128::from((*w).max(0)) / sum) as i64)
        .collect();
    let mut rest = total - out.iter().sum::<i64>();
    let mut i = 0;
    while rest > 0 && !out.is_empty() {
        if weights[i % weights.len()] > 0 {
            out[i % weights.len()] += 1;
            rest -= 1;
        }
        i += 1;
    }
    out
}

/// Shares of `daily` in basis points for `budgets` (which sum to `daily`):
/// each at least 1, summing to exactly 10 000 (the remainder goes to the
/// largest budgets).
pub fn shares_bps(daily: i64, budgets: &[i64]) -> Vec<u32> {
    if budgets.is_empty() || daily <= 0 {
        return vec![0; budgets.len()];
    }
    let mut shares: Vec<u32> = budgets
        .iter()
        .map(|b| ((i128::from(*b) * 10_000 / i128::from(daily)) as u32).max(1))
        .collect();
    let mut order: Vec<usize> = (0..budgets.len()).collect();
    order.sort_by(|a, b| budgets[*b].cmp(&budgets[*a]).then(a.cmp(b)));
    let mut total: i64 = shares.iter().map(|s| i64::from(*s)).sum();
    let mut k = 0;
    while total != 10_000 {
        let i = order[k % order.len()];
        if total < 10_000 {
            shares[i] += 1;
            total += 1;
        } else if shares[i] > 1 {
            shares[i] -= 1;
            total -= 1;
        }
        k += 1;
    }
    shares
}

/// The most that can leave the `From` ad sets of a campaign: each keeps one
/// basis point of the daily budget (rounded up to a micro).
pub fn movable(daily: i64, sets: &[(i64, Side)]) -> i64 {
    let floor = (daily + 9_999) / 10_000;
    sets.iter()
        .filter(|(_, s)| *s == Side::From)
        .map(|(b, _)| (b - floor).max(0))
        .sum()
}

/// Moves up to `amount` from the campaign's `From` ad sets to its `To` ad
/// sets. `None` when the campaign lacks one of the two sides.
pub fn shift_campaign(daily: i64, sets: &[(i64, Side)], amount: i64) -> Option<Shifted> {
    let has = |side| sets.iter().any(|(_, s)| *s == side);
    if !has(Side::From) || !has(Side::To) {
        return None;
    }
    let floor = (daily + 9_999) / 10_000;
    let moved = amount.clamp(0, movable(daily, sets));
    let room: Vec<i64> = sets
        .iter()
        .map(|(b, s)| {
            if *s == Side::From {
                (b - floor).max(0)
            } else {
                0
            }
        })
        .collect();
    let takes = split(moved, &room);
    let to_weights: Vec<i64> = sets
        .iter()
        .map(|(b, s)| if *s == Side::To { (*b).max(1) } else { 0 })
        .collect();
    let gives = split(moved, &to_weights);
    let budgets: Vec<i64> = sets
        .iter()
        .enumerate()
        .map(|(i, (b, _))| b - takes[i] + gives[i])
        .collect();
    Some(Shifted {
        shares_bps: shares_bps(budgets.iter().sum(), &budgets),
        budgets,
        moved,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_exact_and_proportional() {
        assert_eq!(split(100, &[1, 1, 2]), vec![25, 25, 50]);
        assert_eq!(split(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(split(7, &[0, 5]), vec![0, 7]);
        assert_eq!(split(7, &[0, 0]), vec![7, 0]);
    }

    #[test]
    fn shares_sum_to_ten_thousand_and_never_reach_zero() {
        assert_eq!(shares_bps(300, &[100, 100, 100]), vec![3_334, 3_333, 3_333]);
        let s = shares_bps(1_000_000, &[1, 999_999]);
        assert_eq!(s, vec![1, 9_999]);
        assert_eq!(s.iter().sum::<u32>(), 10_000);
    }

    #[test]
    fn a_shift_moves_money_between_a_campaigns_own_ad_sets() {
        // $100 a day: Meta $60 (two ad sets), Google $40; move $10 Meta → Google.
        let sets = [
            (30_000_000, Side::From),
            (30_000_000, Side::From),
            (40_000_000, Side::To),
        ];
        let s = shift_campaign(100_000_000, &sets, 10_000_000).unwrap();
        assert_eq!(s.moved, 10_000_000);
        assert_eq!(s.budgets, vec![25_000_000, 25_000_000, 50_000_000]);
        assert_eq!(s.shares_bps, vec![2_500, 2_500, 5_000]);
        assert_eq!(s.budgets.iter().sum::<i64>(), 100_000_000);
    }

    #[test]
    fn a_shift_leaves_each_ad_set_a_basis_point_and_needs_both_sides() {
        let sets = [(10_000_000, Side::From), (90_000_000, Side::To)];
        let s = shift_campaign(100_000_000, &sets, 50_000_000).unwrap();
        assert_eq!(s.moved, 10_000_000 - 10_000);
        assert_eq!(s.budgets, vec![10_000, 99_990_000]);
        assert_eq!(s.shares_bps, vec![1, 9_999]);
        assert!(shift_campaign(100, &[(100, Side::From), (0, Side::Other)], 10).is_none());
    }
}
