//! A campaign's ad sets as the ad-platform port asks for them
//! (`kiki_platforms::CampaignSpec` / `AdSetSpec` / `CreativeSpec`): the
//! objective from the campaign's kind, the ad set's share of the daily
//! budget, its bid strategy (a cost cap keeps its cap; value-based bidding
//! asks the platform for the highest value, with the campaign's ROI target
//! as a ROAS floor when there is one), targeting and the schedule's dates.
//! Pure: the campaigns service calls it and hands the result to the
//! platforms service.

use kiki_creative::AdCopy;
use kiki_platforms::{
    AdSetSpec, BidStrategy as PortBid, CampaignSpec, CreativeSpec, DeliveryStatus, Objective,
    Targeting,
};

use crate::model::{AdSet, BidStrategy, CampaignDraft, CampaignKind};

/// The campaign on a platform.
pub fn campaign_spec(draft: &CampaignDraft, status: DeliveryStatus) -> CampaignSpec {
    CampaignSpec {
        name: draft.name.clone(),
        objective: match draft.kind {
            CampaignKind::Shopping => Objective::Sales,
            CampaignKind::Leads => Objective::Leads,
            CampaignKind::AppInstalls => Objective::Traffic,
        },
        status,
        daily_budget_micros: None,
        start: Some(draft.schedule.start),
        end: draft.schedule.end,
    }
}

/// One ad set on its platform, with its daily budget in micros.
pub fn ad_set_spec(
    draft: &CampaignDraft,
    set: &AdSet,
    daily_budget_micros: i64,
    status: DeliveryStatus,
) -> AdSetSpec {
    let bid = match (set.bid_strategy, set.bid_cap) {
        (BidStrategy::CostCap, Some(cap)) => PortBid::CostCap { micros: cap.micros },
        (BidStrategy::ValueBased, _) => match draft.target_roi {
            Some(roi) if roi.is_finite() && roi > 0.0 => PortBid::TargetRoas {
                bps: (roi * 10_000.0).round().min(f64::from(u32::MAX)) as u32,
            },
            _ => PortBid::HighestValue,
        },
        _ => PortBid::HighestValue,
    };
    let t = &set.targeting;
    let mut interests = t.interests.clone();
    interests.extend(t.keywords.iter().cloned());
    AdSetSpec {
        name: set.name.clone(),
        status,
        daily_budget_micros,
        bid,
        targeting: Targeting {
            countries: t.countries.clone(),
            age_min: t.age_min,
            age_max: t.age_max,
            interests,
        },
        audience_size: None,
        start: Some(draft.schedule.start),
        end: draft.schedule.end,
    }
}

/// An approved creative as the port takes it.
pub fn creative_spec(
    id: &str,
    name: &str,
    copy: &AdCopy,
    link_url: &str,
    approved: bool,
) -> CreativeSpec {
    CreativeSpec {
        kiki_id: id.to_owned(),
        name: name.to_owned(),
        headlines: copy.headlines.clone(),
        descriptions: copy.descriptions.clone(),
        primary_text: copy.primary_text.clone(),
        call_to_action: None,
        link_url: link_url.to_owned(),
        approved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::{Currency, Money};

    fn draft() -> CampaignDraft {
        serde_json::from_value(serde_json::json!({
            "name": "Spring", "objective": "New customers", "kind": "shopping",
            "landing_url": "https://shop.example.com", "brand_name": "Shop",
            "industry": "ecommerce", "currency": "USD",
            "daily_budget": {"micros": 100_000_000, "currency": "USD"},
            "schedule": {"start": "2026-03-01", "time_zone": "UTC"},
            "target_roi": 3.0,
            "asset_source": "generated",
            "ad_sets": [
                {"name": "Prospecting", "channel": "meta", "budget_share_bps": 6000,
                 "bid_strategy": "value_based",
                 "targeting": {"countries": ["US"], "interests": ["skincare"], "keywords": ["serum"]}},
                {"name": "Search", "channel": "google", "budget_share_bps": 4000,
                 "bid_strategy": "cost_cap", "bid_cap": {"micros": 25_000_000, "currency": "USD"}}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn the_draft_maps_onto_the_port() {
        let d = draft();
        let c = campaign_spec(&d, DeliveryStatus::Active);
        assert_eq!(c.objective, Objective::Sales);
        assert_eq!(c.start.unwrap().to_string(), "2026-03-01");
        let a = ad_set_spec(&d, &d.ad_sets[0], 60_000_000, DeliveryStatus::Paused);
        assert_eq!(a.bid, PortBid::TargetRoas { bps: 30_000 });
        assert_eq!(a.targeting.interests, ["skincare", "serum"]);
        assert_eq!(a.targeting.countries, ["US"]);
        let b = ad_set_spec(&d, &d.ad_sets[1], 40_000_000, DeliveryStatus::Active);
        assert_eq!(
            b.bid,
            PortBid::CostCap {
                micros: Money::from_micros(25_000_000, Currency::USD).micros
            }
        );
    }
}
