//! Campaigns on their channels. Every status move and budget change of a
//! campaign enqueues, in its own transaction, a `campaigns.sync_channels`
//! job; the job brings each ad set's channel in line with the campaign:
//!
//! - **KIKI programmatic** ad sets become bidder line items through
//!   `BidderService` (created when the campaign goes live, updated when its
//!   budget or creatives change, paused with it, archived when it completes
//!   or is archived). A live campaign whose line item the bidder refuses
//!   moves to `failed` with the reason; `retry` runs the sync again.
//! - Ad sets on other channels run through the ad-platforms service (when
//!   the module is wired to it): the campaign, the ad set and one ad per
//!   approved creative of the channel are deployed through the
//!   organisation's connection (the sandbox market or the platform's API),
//!   kept in line with budget and status, and archived when the campaign
//!   ends; a platform's refusal fails the campaign with its message. With
//!   no connection the ad set is `not_connected`.
//! - The twin's platform budgets are the sum of the live campaigns' ad sets
//!   per platform, written after every sync (one source of truth).
//!
//! The sync is idempotent: it compares what runs with what should, so a
//! retried job, or two jobs for one campaign, change nothing twice (a line
//! item is claimed on its ad set before it counts; a second one is archived).

use std::collections::BTreeMap;

use kiki_bidder_service::service::line_items::{ChangedBy, LineItemError};
use kiki_campaigns::programmatic::{self, BannerCopy, LineItemInputs};
use kiki_creative::Channel;
use kiki_store::EnqueueOptions;

use super::*;
use crate::store::campaigns::{AdSetRow, Deployment};

/// The job kind of the channel sync.
pub const SYNC_KIND: &str = "campaigns.sync_channels";
/// Who changes line items and budgets on the campaigns' behalf.
const SYSTEM: &str = "campaigns.channels";

/// What a sync did, per ad set.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SyncReport {
    pub campaign_id: Uuid,
    /// `ad set id: outcome`, in the draft's order.
    pub ad_sets: Vec<String>,
    /// True when the sync moved the campaign to `failed`.
    pub failed: bool,
}

/// Whether a campaign in `status` runs, is held, or is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    Live,
    Paused,
    Ended,
}

fn wanted(status: CampaignStatus) -> Wanted {
    match status {
        CampaignStatus::Active => Wanted::Live,
        CampaignStatus::Completed | CampaignStatus::Archived | CampaignStatus::Rejected => {
            Wanted::Ended
        }
        _ => Wanted::Paused,
    }
}

impl CampaignsService {
    /// Enqueues the channel sync of `campaign` inside `tx` (runs after commit).
    pub(crate) async fn enqueue_sync(
        &self,
        tx: &mut Change<'_>,
        org: OrgId,
        campaign: Uuid,
    ) -> Result<()> {
        self.jobs
            .enqueue_tx(
                tx.tx(),
                Some(org),
                SYNC_KIND,
                json!({ "campaign_id": campaign }),
                EnqueueOptions::default(),
            )
            .await?;
        Ok(())
    }

    /// The campaign's approved creatives as banner copy (KIKI-channel
    /// creatives first; any approved creative of the campaign otherwise).
    async fn banner_copies(&self, org: OrgId, campaign: Uuid) -> Result<Vec<BannerCopy>> {
        let rows = store::creatives::list(&self.db, org, Some(campaign), 200, None).await?;
        let mut views = rows
            .into_iter()
            .map(|r| r.into_view())
            .collect::<Result<Vec<_>>>()?;
        views.retain(|v| v.verdict == kiki_creative::Verdict::Approved);
        if views.iter().any(|v| v.channel == Channel::Kiki) {
            views.retain(|v| v.channel == Channel::Kiki);
        }
        // Oldest first, so a banner's place does not change as more are added.
        views.reverse();
        Ok(views
            .into_iter()
            .filter_map(|v| {
                let headline = v.copy.headlines.first()?.clone();
                let image_url = v.media_url.filter(|u| {
                    let l = u.to_ascii_lowercase();
                    !(l.ends_with(".mp4") || l.ends_with(".webm") || l.ends_with(".mov"))
                });
                Some(BannerCopy {
                    id: v.id.to_string(),
                    headline,
                    description: v.copy.descriptions.first().cloned().or(v.copy.primary_text),
                    image_url,
                })
            })
            .collect())
    }

    /// The customer value a campaign's bids and CPA ceiling start from: the
    /// organisation's fitted LTV in the campaign's currency (`fitted`, when
    /// the LTV module has one), else the industry prior, with its source.
    pub(crate) fn ltv_baseline(
        draft: &CampaignDraft,
        fitted: Option<&kiki_planner::LtvFigure>,
    ) -> LtvBaseline {
        if let Some(f) = fitted.filter(|f| f.value.currency == draft.currency) {
            return LtvBaseline {
                value: f.value,
                source: f.source.clone(),
            };
        }
        let industry = kiki_planner::Industry::parse(&draft.industry)
            .unwrap_or(kiki_planner::Industry::General);
        let prior = kiki_planner::IndustryProfile::of(industry).ltv_prior;
        LtvBaseline {
            value: Money::parse_decimal(&format!("{prior:.6}"), draft.currency)
                .unwrap_or(Money::zero(draft.currency)),
            source: format!(
                "industry prior ({}): no fitted LTV model in {} yet",
                industry.as_str(),
                draft.currency
            ),
        }
    }

    /// Brings the campaign's channels in line with its status (the job's
    /// work). Two syncs of one campaign may run at once (a pause and a
    /// resume in quick succession): each checks at its end that the campaign
    /// is still as it read it, and runs again if not, so the last state wins.
    pub async fn sync_channels(&self, scope: &TenantScope, campaign: Uuid) -> Result<SyncReport> {
        // One sync of a campaign at a time in this process (replicas are kept
        // apart by the claim on the ad set and the re-check below).
        let lock = {
            let mut locks = self.sync_locks.lock().unwrap_or_else(|e| e.into_inner());
            locks.entry(campaign).or_default().clone()
        };
        let report = {
            let _held = lock.lock().await;
            self.sync_until_stable(scope, campaign).await
        };
        let mut locks = self.sync_locks.lock().unwrap_or_else(|e| e.into_inner());
        if Arc::strong_count(&lock) == 2 {
            locks.remove(&campaign);
        }
        report
    }

    async fn sync_until_stable(&self, scope: &TenantScope, campaign: Uuid) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        for _ in 0..5 {
            let (r, version) = self.sync_once(scope, campaign).await?;
            report = r;
            if self.row(scope.org_id(), campaign).await?.version == version {
                break;
            }
        }
        Ok(report)
    }

    async fn sync_once(&self, scope: &TenantScope, campaign: Uuid) -> Result<(SyncReport, i64)> {
        let org = scope.org_id();
        let row = self.row(org, campaign).await?;
        let status = row.status()?;
        let draft = row.draft()?;
        let sets = store::campaigns::ad_sets(&self.db, org, campaign).await?;
        let want = wanted(status);
        let mut report = SyncReport {
            campaign_id: campaign,
            ..SyncReport::default()
        };
        let mut refusal: Option<String> = None;
        let now = self.now();
        for (position, set) in sets.iter().enumerate() {
            let channel = channel_of(&set.channel)
                .ok_or_else(|| corrupt("ad set channel", campaign, &set.channel))?;
            let outcome = if channel == Channel::Kiki {
                match self
                    .sync_programmatic(scope, &row, &draft, set, position, want)
                    .await
                {
                    Ok(o) => o,
                    Err(SyncProblem::Refused(why)) => {
                        store::campaigns::set_deployment(
                            &self.db,
                            org,
                            set.id,
                            None,
                            Deployment {
                                status: DeploymentStatus::Failed.as_str(),
                                external_id: set.external_id.clone(),
                                error: Some(why.clone()),
                                note: set.deployment_note.clone(),
                                now,
                            },
                        )
                        .await?;
                        if want == Wanted::Live && refusal.is_none() {
                            refusal = Some(format!("Ad set \"{}\": {why}", set.name));
                        }
                        format!("failed: {why}")
                    }
                    Err(SyncProblem::Other(e)) => return Err(e),
                }
            } else if let Some(platforms) = &self.platforms {
                match self
                    .sync_external(scope, platforms, &draft, &sets, position, want, channel)
                    .await?
                {
                    Ok(o) => o,
                    Err(why) => {
                        if want == Wanted::Live && refusal.is_none() {
                            refusal = Some(format!("Ad set \"{}\": {why}", set.name));
                        }
                        format!("failed: {why}")
                    }
                }
            } else {
                let status = if want == Wanted::Live || status == CampaignStatus::Paused {
                    DeploymentStatus::NotConnected
                } else {
                    DeploymentStatus::NotDeployed
                };
                if set.deployment_status != status.as_str() {
                    store::campaigns::set_deployment(
                        &self.db,
                        org,
                        set.id,
                        None,
                        Deployment {
                            status: status.as_str(),
                            external_id: None,
                            error: None,
                            note: (status == DeploymentStatus::NotConnected).then(|| {
                                format!(
                                    "{} is not connected to this organisation: nothing runs there until it is.",
                                    channel.display_name()
                                )
                            }),
                            now,
                        },
                    )
                    .await?;
                }
                status.as_str().to_owned()
            };
            report.ad_sets.push(format!("{}: {outcome}", set.id));
        }
        if let Some(why) = refusal {
            report.failed = self.fail_campaign(scope, campaign, &why).await?;
        }
        self.feed_twin_budgets(scope).await?;
        Ok((report, row.version))
    }

    /// One ad set on an ad platform, through the organisation's connection:
    /// deployed (or brought in line) with its approved creatives, paused
    /// with the campaign, archived when it ends. `Err(why)` is the
    /// platform's refusal, recorded on the ad set.
    #[allow(clippy::too_many_arguments)]
    async fn sync_external(
        &self,
        scope: &TenantScope,
        platforms: &kiki_platforms_service::PlatformsService,
        draft: &CampaignDraft,
        sets: &[AdSetRow],
        position: usize,
        want: Wanted,
        channel: Channel,
    ) -> Result<std::result::Result<String, String>> {
        let set = &sets[position];
        use kiki_platforms::DeliveryStatus as D;
        use kiki_platforms_service::{AdSetDeployment, DeployOutcome};
        let org = scope.org_id();
        let now = self.now();
        let platform = crate::domain::twin_platform(channel);
        let spec_set = draft
            .ad_sets
            .get(position)
            .ok_or_else(|| corrupt("ad set position", set.campaign_id, &set.name))?;
        let status = match want {
            Wanted::Live => D::Active,
            Wanted::Paused => D::Paused,
            Wanted::Ended => D::Archived,
        };
        let creatives = if want == Wanted::Ended {
            Vec::new()
        } else {
            let rows =
                store::creatives::list(&self.db, org, Some(set.campaign_id), 200, None).await?;
            let mut views = rows
                .into_iter()
                .map(|r| r.into_view())
                .collect::<Result<Vec<_>>>()?;
            views.retain(|v| v.verdict == kiki_creative::Verdict::Approved && v.channel == channel);
            views.reverse();
            views
                .iter()
                .map(|v| {
                    kiki_campaigns::platform_specs::creative_spec(
                        &v.id.to_string(),
                        &format!("{} #{}", draft.name, v.variation),
                        &v.copy,
                        &draft.landing_url,
                        true,
                    )
                })
                .collect()
        };
        let d = AdSetDeployment {
            campaign_id: set.campaign_id,
            campaign: {
                let mut c = kiki_campaigns::platform_specs::campaign_spec(draft, status);
                // Google Ads budgets live on the campaign: the sum of the
                // campaign's ad sets there.
                if channel == Channel::Google {
                    c.daily_budget_micros = Some(
                        sets.iter()
                            .filter(|s| s.channel == set.channel)
                            .map(|s| s.daily_budget_micros)
                            .sum(),
                    );
                }
                c
            },
            ad_set_id: set.id,
            ad_set: kiki_campaigns::platform_specs::ad_set_spec(
                draft,
                spec_set,
                set.daily_budget_micros,
                status,
            ),
            creatives,
        };
        let (deployment, outcome) = match platforms.deploy_ad_set(scope, platform, &d).await {
            Ok(DeployOutcome::NotConnected(note)) => (
                Deployment {
                    status: if want == Wanted::Ended {
                        DeploymentStatus::NotDeployed.as_str()
                    } else {
                        DeploymentStatus::NotConnected.as_str()
                    },
                    external_id: set.external_id.clone(),
                    error: None,
                    note: Some(note),
                    now,
                },
                Ok("not_connected".to_owned()),
            ),
            Ok(DeployOutcome::NotDeployed) => (
                Deployment {
                    status: DeploymentStatus::NotDeployed.as_str(),
                    external_id: None,
                    error: None,
                    note: None,
                    now,
                },
                Ok("not_deployed".to_owned()),
            ),
            Ok(DeployOutcome::Deployed {
                external_id,
                status,
                ads,
            }) => {
                let st = match status {
                    D::Active => DeploymentStatus::Live,
                    D::Paused => DeploymentStatus::Paused,
                    D::Archived => DeploymentStatus::Archived,
                };
                (
                    Deployment {
                        status: st.as_str(),
                        external_id: Some(external_id),
                        error: None,
                        note: (ads == 0 && status == D::Active).then(|| {
                            "No approved creative for this channel yet: the ad set runs no ads until one is approved."
                                .to_owned()
                        }),
                        now,
                    },
                    Ok(st.as_str().to_owned()),
                )
            }
            Err(kiki_platforms_service::PlatformsError::Platform { source, .. })
                if !source.is_retryable() =>
            {
                let why = format!("{}: {source}", channel.display_name());
                (
                    Deployment {
                        status: DeploymentStatus::Failed.as_str(),
                        external_id: set.external_id.clone(),
                        error: Some(why.clone()),
                        note: set.deployment_note.clone(),
                        now,
                    },
                    Err(why),
                )
            }
            Err(e) => {
                return Err(CampaignsError::Internal(format!(
                    "deploying an ad set: {e}"
                )));
            }
        };
        store::campaigns::set_deployment(&self.db, org, set.id, None, deployment).await?;
        Ok(outcome)
    }

    /// One KIKI programmatic ad set: create, update, pause or archive its
    /// line item. Returns the outcome in words.
    async fn sync_programmatic(
        &self,
        scope: &TenantScope,
        row: &CampaignRow,
        draft: &CampaignDraft,
        set: &AdSetRow,
        position: usize,
        want: Wanted,
    ) -> std::result::Result<String, SyncProblem> {
        let org = scope.org_id();
        let now = self.now();
        let Some(bidder) = &self.bidder else {
            store::campaigns::set_deployment(
                &self.db,
                org,
                set.id,
                None,
                Deployment {
                    status: DeploymentStatus::NotConnected.as_str(),
                    external_id: None,
                    error: None,
                    note: Some(
                        "The bidder does not run in this deployment, so KIKI programmatic ad sets cannot run."
                            .into(),
                    ),
                    now,
                },
            )
            .await?;
            return Ok("not_connected".into());
        };
        let actor = Actor::System(SYSTEM.into());
        let by = ChangedBy {
            scope,
            actor: &actor,
            meta: None,
        };
        let existing = match set.line_item_id {
            Some(id) => match bidder.line_item(scope, kiki_bidder::LineItemId(id)).await {
                Ok(rec) if rec.status != "archived" => Some(rec),
                Ok(_) | Err(LineItemError::NotFound) => None,
                Err(e) => return Err(SyncProblem::bidder(e)),
            },
            None => None,
        };
        if want == Wanted::Paused
            && existing.is_none()
            && set.deployment_status == DeploymentStatus::Failed.as_str()
        {
            // Keep the refusal on show until a retry or a fix.
            return Ok("failed".into());
        }
        if want == Wanted::Ended || (want == Wanted::Paused && existing.is_none()) {
            let status = match (&existing, want) {
                (Some(rec), _) => {
                    bidder
                        .archive_line_item(by, rec.item.id)
                        .await
                        .map_err(SyncProblem::bidder)?;
                    DeploymentStatus::Archived
                }
                (None, Wanted::Ended) if set.line_item_id.is_some() => DeploymentStatus::Archived,
                _ => DeploymentStatus::NotDeployed,
            };
            store::campaigns::set_deployment(
                &self.db,
                org,
                set.id,
                None,
                Deployment {
                    status: status.as_str(),
                    external_id: set.line_item_id.map(|id| id.to_string()),
                    error: None,
                    note: set.deployment_note.clone(),
                    now,
                },
            )
            .await?;
            return Ok(status.as_str().into());
        }
        let ad_set = draft.ad_sets.get(position).ok_or_else(|| {
            SyncProblem::Other(corrupt(
                "ad sets",
                row.id,
                "fewer ad sets in the draft than rows",
            ))
        })?;
        let copies = self.banner_copies(org, row.id).await?;
        let fitted = self.org_ltv(scope, draft.currency).await;
        let ltv = Self::ltv_baseline(draft, fitted.as_ref()).value;
        let built = programmatic::line_item(
            &LineItemInputs {
                org,
                campaign: row.id,
                draft,
                ad_set,
                daily: Money::from_micros(set.daily_budget_micros, draft.currency),
                ltv,
                daily_frequency_cap: self.config.programmatic_daily_frequency_cap,
                active: want == Wanted::Live,
                copies: &copies,
            },
            position,
        )
        .map_err(|errs| SyncProblem::Refused(kiki_core::fields_message(&errs)))?;
        let note = (!built.notes.is_empty()).then(|| built.notes.join(" "));
        let mut li = built.line_item;
        let (record, outcome) = match existing {
            Some(rec) => {
                li.id = rec.item.id;
                if rec.item == li {
                    (rec, "unchanged")
                } else {
                    let rec = bidder
                        .update_line_item(by, li.id, li)
                        .await
                        .map_err(SyncProblem::bidder)?;
                    (rec, "updated")
                }
            }
            None => {
                let rec = bidder
                    .create_line_item(by, li)
                    .await
                    .map_err(SyncProblem::bidder)?;
                let claimed = store::campaigns::claim_line_item(
                    &self.db,
                    org,
                    set.id,
                    set.line_item_id,
                    rec.item.id.0,
                )
                .await?;
                if !claimed {
                    // Another sync created one for this ad set first.
                    bidder
                        .archive_line_item(by, rec.item.id)
                        .await
                        .map_err(SyncProblem::bidder)?;
                    return Ok("created by a concurrent sync".into());
                }
                (rec, "created")
            }
        };
        let status = if record.item.active {
            DeploymentStatus::Live
        } else {
            DeploymentStatus::Paused
        };
        store::campaigns::set_deployment(
            &self.db,
            org,
            set.id,
            Some(record.item.id.0),
            Deployment {
                status: status.as_str(),
                external_id: Some(record.item.id.to_string()),
                error: None,
                note,
                now,
            },
        )
        .await?;
        Ok(format!("{outcome}, {}", status.as_str()))
    }

    /// Moves a live campaign to `failed` because a channel refused it (a
    /// rule's move, with a decision record). False when it is no longer live.
    async fn fail_campaign(&self, scope: &TenantScope, campaign: Uuid, why: &str) -> Result<bool> {
        let row = self.row(scope.org_id(), campaign).await?;
        if row.status()? != CampaignStatus::Active {
            return Ok(false);
        }
        let reason = format!("A channel refused the campaign. {why}");
        let mut tx = self.record.begin().await?;
        self.apply_move(
            &mut tx,
            &row,
            Move {
                action: Action::Fail,
                actor: Actor::System(SYSTEM.into()),
                reason: Some(&reason),
                automated: Some(format!(
                    "The campaign was moved to failed because its channel refused it: {why} Fix it and use `retry`."
                )),
                extras: Default::default(),
                meta: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Writes the twin's platform budgets of the organisation: per platform,
    /// the sum of the live campaigns' ad-set budgets in the organisation's
    /// main currency (the currency with the most live budget).
    pub(crate) async fn feed_twin_budgets(&self, scope: &TenantScope) -> Result<()> {
        let live = store::campaigns::live_ad_sets(&self.db, scope.org_id()).await?;
        let mut by_currency: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
        for (set, currency) in &live {
            let Some(channel) = channel_of(&set.channel) else {
                continue;
            };
            let platform = twin_platform(channel).as_str().to_owned();
            *by_currency
                .entry(currency.clone())
                .or_default()
                .entry(platform)
                .or_default() += set.daily_budget_micros;
        }
        let main = by_currency
            .iter()
            .max_by_key(|(_, m)| m.values().sum::<i64>())
            .map(|(c, m)| (c.clone(), m.clone()));
        let lines = main.as_ref().and_then(|(c, m)| {
            let currency = kiki_core::Currency::parse(c).ok()?;
            Some((currency, m.iter().map(|(p, v)| (p.clone(), *v)).collect()))
        });
        self.twin
            .feed_budgets_from_campaigns(scope, lines, &Actor::System(SYSTEM.into()))
            .await?;
        Ok(())
    }
}

/// Why an ad set could not be synced.
enum SyncProblem {
    /// The channel refused the ad set (shown on it; a live campaign fails).
    Refused(String),
    /// Anything else (the job retries).
    Other(CampaignsError),
}

impl SyncProblem {
    fn bidder(e: LineItemError) -> SyncProblem {
        match e {
            LineItemError::Invalid(fields) => {
                SyncProblem::Refused(kiki_core::fields_message(&fields))
            }
            other => SyncProblem::Other(CampaignsError::Internal(format!("bidder: {other}"))),
        }
    }
}

impl From<kiki_store::StoreError> for SyncProblem {
    fn from(e: kiki_store::StoreError) -> Self {
        SyncProblem::Other(e.into())
    }
}

impl From<CampaignsError> for SyncProblem {
    fn from(e: CampaignsError) -> Self {
        SyncProblem::Other(e)
    }
}
