//! An ad set and its ads on its platform, for the campaigns context: the
//! campaign, the ad set, the creatives and one ad per creative are created
//! the first time and brought in line after (budget, bid, targeting,
//! status), through the organisation's connection. The map from KIKI's ids
//! to the platform's (`platform_objects`) makes it idempotent: a retried
//! deployment creates nothing twice.

use kiki_platforms::{
    AdSetSpec, AdSpec, CampaignSpec, CreativeSpec, DeliveryStatus, ObjectKind, PlatformError,
};
use kiki_twin::Platform;

use super::*;

/// What the campaigns context asks for one ad set.
#[derive(Debug, Clone)]
pub struct AdSetDeployment {
    pub campaign_id: Uuid,
    /// The campaign on this platform (its status is the ad set's too).
    pub campaign: CampaignSpec,
    pub ad_set_id: Uuid,
    pub ad_set: AdSetSpec,
    /// The approved creatives to run; each becomes one ad.
    pub creatives: Vec<CreativeSpec>,
}

/// Where an ad set stands on its platform after a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployOutcome {
    /// The organisation has no working connection to the platform.
    NotConnected(String),
    /// Nothing was ever created and nothing needs to be (an ended campaign).
    NotDeployed,
    /// On the platform with this id and status; `ads` is the number of ads
    /// running.
    Deployed {
        external_id: String,
        status: DeliveryStatus,
        ads: usize,
    },
}

impl PlatformsService {
    /// Deploys (or updates) one ad set and its ads on `platform`. A
    /// platform's refusal comes back as [`PlatformsError::Platform`] with
    /// the platform's message, for the campaign's record.
    pub async fn deploy_ad_set(
        &self,
        scope: &TenantScope,
        platform: Platform,
        d: &AdSetDeployment,
    ) -> Result<DeployOutcome> {
        let org = scope.org_id();
        for attempt in 0..2 {
            let Some(r) = self.reach(org, platform).await? else {
                let conn = store::connections::get(&self.db, org, platform.as_str()).await?;
                return Ok(DeployOutcome::NotConnected(match conn.map(|c| c.status) {
                    Some(s) if s == "broken" => format!(
                        "{} no longer accepts KIKI's access: connect it again to run this ad set.",
                        platform.display_name()
                    ),
                    _ => format!(
                        "{} is not connected to this organisation: nothing runs there until it is (POST /v1/platforms/connections; the sandbox market works with no account).",
                        platform.display_name()
                    ),
                }));
            };
            match self.deploy_with(org, platform, &r, d).await {
                Err(PlatformError::AuthExpired { .. }) if attempt == 0 && r.sandbox.is_none() => {
                    let live = self.live(platform)?.clone();
                    self.refresh(org, &r.conn, &live).await?;
                }
                Err(e) => {
                    self.note_failure(org, &r.conn, &e).await?;
                    return Err(PlatformsError::Platform {
                        platform: platform.as_str(),
                        source: e,
                    });
                }
                Ok(o) => return Ok(o),
            }
        }
        Err(PlatformsError::Internal(
            "the platform kept refusing a fresh token".into(),
        ))
    }

    async fn deploy_with(
        &self,
        org: OrgId,
        platform: Platform,
        r: &Reached,
        d: &AdSetDeployment,
    ) -> std::result::Result<DeployOutcome, PlatformError> {
        let p = platform.as_str();
        let now = self.now();
        let store_err = |e: kiki_store::StoreError| PlatformError::Transient {
            message: format!("recording the platform's ids: {e}"),
        };
        let (api, acc) = (&r.api, &r.account);
        let campaign_key = d.campaign_id.to_string();
        let ad_set_key = d.ad_set_id.to_string();
        let ended = d.ad_set.status == DeliveryStatus::Archived;
        let campaign = store::objects::get(&self.db, org, p, "campaign", &campaign_key)
            .await
            .map_err(store_err)?;
        let set = store::objects::get(&self.db, org, p, "ad_set", &ad_set_key)
            .await
            .map_err(store_err)?;
        if ended && set.is_none() {
            return Ok(DeployOutcome::NotDeployed);
        }
        // The campaign: created once, then kept in line.
        let campaign_ext = match &campaign {
            Some(c) => {
                if c.status != "archived" || d.campaign.status == DeliveryStatus::Archived {
                    api.update_campaign(acc, &c.external_id, &d.campaign)
                        .await?;
                }
                c.external_id.clone()
            }
            None => {
                // Created paused, so nothing spends before its ad sets exist.
                let spec = CampaignSpec {
                    status: DeliveryStatus::Paused,
                    ..d.campaign.clone()
                };
                let id = api.create_campaign(acc, &spec).await?;
                store::objects::put(
                    &self.db,
                    org,
                    p,
                    "campaign",
                    &campaign_key,
                    &id,
                    &campaign_key,
                    None,
                    "paused",
                    now,
                )
                .await
                .map_err(store_err)?;
                id
            }
        };
        // The ad set.
        let set_ext = match &set {
            Some(s) => {
                if s.status != "archived" {
                    api.update_ad_set(acc, &s.external_id, &d.ad_set).await?;
                }
                s.external_id.clone()
            }
            None => {
                let spec = AdSetSpec {
                    status: DeliveryStatus::Paused,
                    ..d.ad_set.clone()
                };
                let id = api.create_ad_set(acc, &campaign_ext, &spec).await?;
                store::objects::put(
                    &self.db,
                    org,
                    p,
                    "ad_set",
                    &ad_set_key,
                    &id,
                    &campaign_key,
                    Some(&ad_set_key),
                    "paused",
                    now,
                )
                .await
                .map_err(store_err)?;
                id
            }
        };
        // Creatives and their ads.
        let mut running = 0;
        let mut wanted_ads = Vec::new();
        if !ended {
            for c in &d.creatives {
                let creative_ext =
                    match store::objects::get(&self.db, org, p, "creative", &c.kiki_id)
                        .await
                        .map_err(store_err)?
                    {
                        Some(m) => m.external_id,
                        None => {
                            let id = api.upload_creative(acc, c).await?;
                            store::objects::put(
                                &self.db,
                                org,
                                p,
                                "creative",
                                &c.kiki_id,
                                &id,
                                &campaign_key,
                                None,
                                "active",
                                now,
                            )
                            .await
                            .map_err(store_err)?;
                            id
                        }
                    };
                let ad_key = format!("{ad_set_key}:{}", c.kiki_id);
                wanted_ads.push(ad_key.clone());
                match store::objects::get(&self.db, org, p, "ad", &ad_key)
                    .await
                    .map_err(store_err)?
                {
                    Some(m) if m.status == "active" => {}
                    Some(m) => {
                        api.set_status(acc, ObjectKind::Ad, &m.external_id, DeliveryStatus::Active)
                            .await?;
                        store::objects::put(
                            &self.db,
                            org,
                            p,
                            "ad",
                            &ad_key,
                            &m.external_id,
                            &campaign_key,
                            Some(&ad_set_key),
                            "active",
                            now,
                        )
                        .await
                        .map_err(store_err)?;
                    }
                    None => {
                        let spec = AdSpec {
                            name: format!("{} · {}", d.ad_set.name, c.name),
                            status: DeliveryStatus::Active,
                            creative_external_id: creative_ext,
                        };
                        let id = api.create_ad(acc, &set_ext, &spec).await?;
                        store::objects::put(
                            &self.db,
                            org,
                            p,
                            "ad",
                            &ad_key,
                            &id,
                            &campaign_key,
                            Some(&ad_set_key),
                            "active",
                            now,
                        )
                        .await
                        .map_err(store_err)?;
                    }
                }
                running += 1;
            }
        }
        // Ads whose creative is no longer approved (or the ad set ended)
        // are paused.
        let prefix = format!("{ad_set_key}:");
        for m in store::objects::ads_of(&self.db, org, p, &ad_set_key)
            .await
            .map_err(store_err)?
            .into_iter()
            .filter(|m| m.kiki_id.starts_with(&prefix))
            .filter(|m| m.status == "active" && !wanted_ads.contains(&m.kiki_id))
        {
            api.set_status(acc, ObjectKind::Ad, &m.external_id, DeliveryStatus::Paused)
                .await?;
            store::objects::put(
                &self.db,
                org,
                p,
                "ad",
                &m.kiki_id,
                &m.external_id,
                &campaign_key,
                Some(&ad_set_key),
                "paused",
                now,
            )
            .await
            .map_err(store_err)?;
        }
        // Now the wanted statuses: the ad set, then the campaign.
        if set.is_none() && d.ad_set.status != DeliveryStatus::Paused {
            api.update_ad_set(acc, &set_ext, &d.ad_set).await?;
        }
        if campaign.is_none() && d.campaign.status != DeliveryStatus::Paused {
            api.update_campaign(acc, &campaign_ext, &d.campaign).await?;
        }
        store::objects::put(
            &self.db,
            org,
            p,
            "ad_set",
            &ad_set_key,
            &set_ext,
            &campaign_key,
            Some(&ad_set_key),
            d.ad_set.status.as_str(),
            now,
        )
        .await
        .map_err(store_err)?;
        store::objects::put(
            &self.db,
            org,
            p,
            "campaign",
            &campaign_key,
            &campaign_ext,
            &campaign_key,
            None,
            d.campaign.status.as_str(),
            now,
        )
        .await
        .map_err(store_err)?;
        Ok(DeployOutcome::Deployed {
            external_id: set_ext,
            status: d.ad_set.status,
            ads: running,
        })
    }
}
