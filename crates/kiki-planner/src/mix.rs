//! How a plan splits its daily budget across channels when the allocator
//! has not proposed a mix: a default table by industry × campaign kind, and
//! the arithmetic that turns any set of weights into basis-point shares
//! summing to exactly 10 000.
//!
//! The table is a set of planning defaults, not measurements: search where
//! people look for the product, the social feeds where a product is shown
//! to people who were not looking, LinkedIn where the buyer is a business,
//! and the app platforms' install inventory for apps. The allocator's
//! what-if mix, built from the twin's priors and the organisation's own
//! history, replaces it as soon as it exists.

use kiki_campaigns::CampaignKind;
use kiki_creative::Channel;

use crate::industry::Industry;

/// Every share of a mix adds up to this many basis points.
pub const TOTAL_BPS: u32 = 10_000;

/// The default split for a campaign of `kind` in `industry`, in basis
/// points summing to 10 000 (a planning default; see the module docs).
pub fn default_channel_mix(industry: Industry, kind: CampaignKind) -> Vec<(Channel, u32)> {
    use Channel::{Google, Linkedin, Meta, Pinterest, Tiktok};
    let mix: &[(Channel, u32)] = match (kind, industry) {
        (CampaignKind::AppInstalls, _) => &[(Meta, 4_000), (Google, 3_500), (Tiktok, 2_500)],
        (
            CampaignKind::Leads,
            Industry::Saas | Industry::ProfessionalServices | Industry::Finance,
        ) => &[(Google, 5_000), (Linkedin, 3_500), (Meta, 1_500)],
        (CampaignKind::Leads, Industry::Education) => {
            &[(Google, 4_500), (Meta, 4_000), (Tiktok, 1_500)]
        }
        (CampaignKind::Leads, _) => &[(Google, 5_500), (Meta, 4_500)],
        (CampaignKind::Shopping, Industry::Ecommerce) => &[
            (Meta, 4_500),
            (Google, 3_500),
            (Tiktok, 1_000),
            (Pinterest, 1_000),
        ],
        (CampaignKind::Shopping, Industry::Health) => {
            &[(Meta, 4_500), (Google, 4_000), (Pinterest, 1_500)]
        }
        (CampaignKind::Shopping, Industry::Saas | Industry::ProfessionalServices) => {
            &[(Google, 5_500), (Linkedin, 2_500), (Meta, 2_000)]
        }
        (CampaignKind::Shopping, Industry::MobileApps) => {
            &[(Meta, 4_000), (Google, 3_500), (Tiktok, 2_500)]
        }
        (CampaignKind::Shopping, _) => &[(Meta, 5_000), (Google, 5_000)],
    };
    mix.to_vec()
}

/// Basis-point shares proportional to `weights`, summing to exactly
/// 10 000: each share is rounded down, the basis points left over go to the
/// largest remainders (earlier entries first on ties), and every entry with
/// a positive weight keeps at least 1 bp. Zero weights get 0; all-zero or
/// empty weights split evenly. At most 10 000 entries.
pub fn shares_bps(weights: &[u64]) -> Vec<u32> {
    let n = weights.len();
    if n == 0 {
        return Vec::new();
    }
    let total: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    let weights: Vec<u128> = if total == 0 {
        vec![1; n]
    } else {
        weights.iter().map(|&w| u128::from(w)).collect()
    };
    let total: u128 = weights.iter().sum();
    let scale = u128::from(TOTAL_BPS);
    let mut shares: Vec<u32> = weights
        .iter()
        .map(|&w| u32::try_from(w * scale / total).unwrap_or(TOTAL_BPS))
        .collect();
    let given: u32 = shares.iter().sum();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let ra = weights[a] * scale % total;
        let rb = weights[b] * scale % total;
        rb.cmp(&ra).then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take((TOTAL_BPS - given) as usize) {
        shares[i] += 1;
    }
    // Every channel that has a weight runs: take its 1 bp from the largest.
    let starved: Vec<usize> = (0..n)
        .filter(|&i| weights[i] > 0 && shares[i] == 0)
        .collect();
    for i in starved {
        let largest = (0..n).max_by_key(|&j| (shares[j], n - j)).unwrap_or(i);
        if shares[largest] > 1 {
            shares[largest] -= 1;
            shares[i] = 1;
        }
    }
    shares
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_down_and_hand_out_the_remainder_to_the_largest_remainders() {
        assert_eq!(shares_bps(&[1, 1, 1]), [3_334, 3_333, 3_333]);
        assert_eq!(shares_bps(&[2, 1]), [6_667, 3_333]);
        assert_eq!(shares_bps(&[0, 0]), [5_000, 5_000]);
        assert_eq!(shares_bps(&[u64::MAX, 1]), [9_999, 1]);
        assert_eq!(shares_bps(&[5, 0]), [10_000, 0]);
        assert!(shares_bps(&[]).is_empty());
    }

    #[test]
    fn every_default_mix_sums_to_the_whole_budget() {
        for industry in Industry::ALL {
            for kind in [
                CampaignKind::Shopping,
                CampaignKind::Leads,
                CampaignKind::AppInstalls,
            ] {
                let mix = default_channel_mix(industry, kind);
                assert_eq!(
                    mix.iter().map(|(_, s)| s).sum::<u32>(),
                    TOTAL_BPS,
                    "{industry:?} {kind:?}"
                );
                let mut channels: Vec<Channel> = mix.iter().map(|(c, _)| *c).collect();
                channels.sort();
                channels.dedup();
                assert_eq!(channels.len(), mix.len());
            }
        }
    }
}
