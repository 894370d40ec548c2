//! Creative variants: a campaign's ads grouped by the creative they show
//! (`GET /v1/analytics/variants`, and the `by=variant` breakdown), summed
//! from the ad-level roll-up rows. The creative of an ad comes from its
//! KIKI id ([`creative_of_ad`]); the variant's label (variation number,
//! headline) from the campaigns service when it is wired — never from its
//! tables. Rates, intervals and the leader are `kiki-analytics`' pure
//! rules ([`kiki_analytics::variants`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kiki_analytics::Sums;
use kiki_campaigns_service::CampaignsService;
use kiki_core::TenantScope;
use serde_json::json;
use uuid::Uuid;

use super::{AnalyticsService, Resolved, row_sums, sort_by_spend, stored_currency};
use crate::domain::variants::{
    CreativeLabel, VariantLeader, VariantRow, Variants, creative_of_ad, observation,
};
use crate::domain::{Filters, GroupRow, Level, MetricSet};
use crate::error::{AnalyticsError, Result};
use crate::store;

/// The ads of one creative in one organisation, platform, campaign and
/// currency, summed.
#[derive(Debug, Default)]
struct Group {
    sums: Sums,
    ads: BTreeSet<String>,
}

type GroupKey = (Uuid, String, Option<String>, Uuid, String);

/// The ad rows of a selection grouped by creative, and those whose
/// creative is unknown summed per currency.
struct Grouped {
    groups: BTreeMap<GroupKey, Group>,
    unattributed: BTreeMap<String, Sums>,
}

impl AnalyticsService {
    /// Labels creative variants with their variation number and headline
    /// from the campaigns service (without it, a variant is named by its
    /// creative's id).
    pub fn with_campaigns(mut self, campaigns: Arc<CampaignsService>) -> AnalyticsService {
        self.campaigns = Some(campaigns);
        self
    }

    /// `GET /v1/analytics/variants`: the creative variants of the campaign
    /// `f.campaign_id` (required) side by side. Another organisation's
    /// campaign (outside the scope) has no rows here, as in the
    /// drill-down: the answer is empty.
    pub async fn variants(&self, scope: &TenantScope, f: &Filters) -> Result<Variants> {
        if f.campaign_id.is_none() {
            return Err(AnalyticsError::field(
                "campaign_id",
                "Required: the campaign whose creative variants are compared.",
            ));
        }
        let q = self.resolve(scope, f).await?;
        self.cached(&q, "variants", json!(null), || self.variants_now(scope, &q))
            .await
    }

    pub(crate) async fn variants_now(&self, scope: &TenantScope, q: &Resolved) -> Result<Variants> {
        let campaign_id = q
            .sel
            .campaign_id
            .as_deref()
            .and_then(|c| Uuid::parse_str(c).ok())
            .ok_or_else(|| {
                AnalyticsError::field(
                    "campaign_id",
                    "Required: the campaign whose creative variants are compared.",
                )
            })?;
        let grouped = self.grouped(q).await?;
        let labels = self.labels(scope, &grouped).await?;
        let mut rows: Vec<(VariantRow, Sums)> = Vec::with_capacity(grouped.groups.len());
        for ((org, platform, _, creative, currency), g) in grouped.groups {
            let label = label_of(&labels, creative);
            let currency = stored_currency(&currency)?;
            rows.push((
                VariantRow::of(label, org, platform, g.ads.len(), currency, &g.sums),
                g.sums,
            ));
        }
        // The highest CTR first (none last), then by creative and currency.
        rows.sort_by(|(a, _), (b, _)| {
            let (x, y) = (a.ctr.rate, b.ctr.rate);
            match (x, y) {
                (Some(x), Some(y)) => y.total_cmp(&x),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
            .then_with(|| a.label.creative_id.cmp(&b.label.creative_id))
            .then_with(|| a.currency.as_str().cmp(b.currency.as_str()))
            .then_with(|| a.platform.cmp(&b.platform))
        });
        let rates: Vec<_> = rows
            .iter()
            .map(|(_, s)| kiki_analytics::variants::ctr(s))
            .collect();
        let variants: Vec<VariantRow> = rows.into_iter().map(|(r, _)| r).collect();
        let leader = kiki_analytics::leader(&rates).and_then(|l| {
            let r = variants.get(l.index)?;
            let mut overlapping: Vec<Uuid> = Vec::new();
            for i in &l.overlapping {
                if let Some(o) = variants.get(*i)
                    && !overlapping.contains(&o.label.creative_id)
                {
                    overlapping.push(o.label.creative_id);
                }
            }
            Some(VariantLeader {
                label: r.label.clone(),
                currency: r.currency,
                ctr: r.ctr.rate?,
                compared: l.compared.len(),
                separated: l.separated(),
                overlapping,
            })
        });
        Ok(Variants {
            period: q.period.into(),
            campaign_id,
            observation: observation(&variants, leader.as_ref()),
            variants,
            leader,
            unattributed: grouped
                .unattributed
                .iter()
                .map(|(c, s)| Ok(MetricSet::of(stored_currency(c)?, s)))
                .collect::<Result<_>>()?,
        })
    }

    /// The `by=variant` breakdown's rows: one per creative, organisation,
    /// platform, campaign and currency (ads whose creative is unknown are
    /// left out).
    pub(crate) async fn variant_breakdown_rows(
        &self,
        scope: &TenantScope,
        q: &Resolved,
    ) -> Result<Vec<GroupRow>> {
        let grouped = self.grouped(q).await?;
        let labels = self.labels(scope, &grouped).await?;
        let mut rows = Vec::with_capacity(grouped.groups.len());
        for ((org, platform, campaign, creative, currency), g) in grouped.groups {
            rows.push(GroupRow {
                platform: Some(platform),
                organisation_id: Some(org),
                external_id: None,
                campaign_id: campaign,
                ad_set_id: None,
                ad_id: None,
                creative: Some(label_of(&labels, creative)),
                country: None,
                device: None,
                metrics: MetricSet::of(stored_currency(&currency)?, &g.sums),
            });
        }
        sort_by_spend(&mut rows);
        Ok(rows)
    }

    /// The selection's ad rows, grouped by creative.
    async fn grouped(&self, q: &Resolved) -> Result<Grouped> {
        let mut groups: BTreeMap<GroupKey, Group> = BTreeMap::new();
        let mut unattributed: BTreeMap<String, Sums> = BTreeMap::new();
        for r in store::objects(&self.db, &q.sel, Level::Ad.as_str()).await? {
            let s = row_sums(
                r.spend_micros,
                r.revenue_micros,
                r.conversions_micros,
                r.impressions,
                r.clicks,
            );
            match r.ad_id.as_deref().and_then(creative_of_ad) {
                Some(creative) => {
                    let g = groups
                        .entry((r.org_id, r.platform, r.campaign_id, creative, r.currency))
                        .or_default();
                    g.sums.add(&s);
                    g.ads.insert(r.external_id);
                }
                None => unattributed.entry(r.currency).or_default().add(&s),
            }
        }
        Ok(Grouped {
            groups,
            unattributed,
        })
    }

    /// The variation number and headline of each creative grouped, from
    /// the campaigns service (none without it).
    async fn labels(
        &self,
        scope: &TenantScope,
        g: &Grouped,
    ) -> Result<BTreeMap<Uuid, (u32, Option<String>)>> {
        let Some(campaigns) = &self.campaigns else {
            return Ok(BTreeMap::new());
        };
        let ids: Vec<Uuid> = g
            .groups
            .keys()
            .map(|k| k.3)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut out = BTreeMap::new();
        for chunk in ids.chunks(1000) {
            let found = campaigns
                .creatives_by_ids(scope, chunk)
                .await
                .map_err(|e| AnalyticsError::Internal(format!("reading creatives: {e}")))?;
            for v in found {
                let headline = v
                    .copy
                    .headlines
                    .first()
                    .cloned()
                    .or_else(|| v.copy.primary_text.clone());
                out.insert(v.id, (v.variation, headline));
            }
        }
        Ok(out)
    }
}

fn label_of(labels: &BTreeMap<Uuid, (u32, Option<String>)>, creative: Uuid) -> CreativeLabel {
    let known = labels.get(&creative);
    CreativeLabel {
        creative_id: creative,
        variation: known.map(|k| k.0),
        headline: known.and_then(|k| k.1.clone()),
    }
}
