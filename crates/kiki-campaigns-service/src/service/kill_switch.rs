//! The kill switch: one call pauses every live campaign of an organisation
//! (or of the agency and every client it reaches), records what it paused,
//! and its release resumes exactly those that are still paused by it.

use std::collections::BTreeMap;

use kiki_creative::Channel;

use super::*;
use crate::events::{KillSwitchEngaged, KillSwitchReleased};
use crate::store::kill_switch::KillSwitchRow;

/// What pausing (or resuming) did on each channel of the given ad sets.
fn channel_outcomes(sets: &[store::campaigns::AdSetRow], resumed: bool) -> Vec<ChannelOutcome> {
    let mut by: BTreeMap<&str, u32> = BTreeMap::new();
    for s in sets {
        *by.entry(s.channel.as_str()).or_default() += 1;
    }
    by.into_iter()
        .filter_map(|(name, n)| {
            let channel = channel_of(name)?;
            let verb = if resumed { "resumed" } else { "paused" };
            let outcome = match channel {
                Channel::Kiki => format!(
                    "{n} ad set(s) {verb} in KIKI; the channel sync {verb} their line items on KIKI's bidder (each ad set's deployment shows it)."
                ),
                other => format!(
                    "{n} ad set(s) {verb} in KIKI; {} is not connected, so nothing was running there to {}.",
                    other.display_name(),
                    if resumed { "restart" } else { "stop" }
                ),
            };
            Some(ChannelOutcome {
                channel,
                ad_sets: n,
                outcome,
            })
        })
        .collect()
}

impl CampaignsService {
    fn kill_switch_view(
        &self,
        row: KillSwitchRow,
        channels: Vec<ChannelOutcome>,
    ) -> Result<KillSwitchView> {
        let ids = |v: &Value, what: &str| -> Result<Vec<Uuid>> {
            serde_json::from_value(v.clone()).map_err(|e| {
                CampaignsError::Internal(format!("kill switch {}: {what} unreadable: {e}", row.id))
            })
        };
        Ok(KillSwitchView {
            id: row.id,
            org_id: row.org_id,
            reason: row.reason.clone(),
            orgs: ids(&row.orgs.0, "orgs")?,
            paused: ids(&row.paused.0, "paused")?,
            channels,
            engaged_by: row.engaged_by.clone(),
            engaged_at: row.engaged_at,
            released_by: row.released_by.clone(),
            released_at: row.released_at,
            resumed: row
                .resumed
                .as_ref()
                .map(|r| ids(&r.0, "resumed"))
                .transpose()?,
        })
    }

    /// `GET /v1/kill-switch`: the organisation's switch (engaged, or the last
    /// one released).
    pub async fn kill_switch_state(&self, scope: &TenantScope) -> Result<KillSwitchState> {
        let org = scope.org_id();
        let Some(row) = store::kill_switch::latest(&self.db, org).await? else {
            return Ok(KillSwitchState {
                engaged: false,
                current: None,
            });
        };
        let engaged = row.released_at.is_none();
        let paused: Vec<Uuid> = serde_json::from_value(row.paused.0.clone()).unwrap_or_default();
        let orgs: Vec<OrgId> = serde_json::from_value::<Vec<Uuid>>(row.orgs.0.clone())
            .unwrap_or_default()
            .into_iter()
            .map(OrgId)
            .collect();
        let mut tx = self.db.begin().await?;
        let sets = store::campaigns::ad_sets_tx(&mut tx, &orgs, &paused).await?;
        tx.rollback().await?;
        let channels = channel_outcomes(&sets, !engaged);
        Ok(KillSwitchState {
            engaged,
            current: Some(self.kill_switch_view(row, channels)?),
        })
    }

    /// `POST /v1/kill-switch`: pauses every active campaign in scope.
    pub async fn engage_kill_switch(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        req: KillSwitchRequest,
    ) -> Result<KillSwitchView> {
        let reason = kiki_core::trim_schema(&req.reason).to_owned();
        if reason.is_empty() || reason.chars().count() > MAX_REASON {
            return Err(CampaignsError::field(
                "reason",
                "1 to 2000 characters, not only spaces.",
            ));
        }
        let org = p.scope.org_id();
        let orgs: Vec<OrgId> = match req.scope {
            KillScope::Organisation => vec![org],
            KillScope::Clients => {
                let mut v: Vec<OrgId> = p.scope.reachable().to_vec();
                if !v.contains(&org) {
                    v.insert(0, org);
                }
                v
            }
        };
        let actor = p.actor();
        let by = actor_text(&actor);
        let id = Uuid::now_v7();
        let now = self.now();
        let mut tx = self.record.begin().await?;
        if let Some(ks) = store::kill_switch::engaged(&mut tx, org).await? {
            return Err(CampaignsError::Conflict(format!(
                "The kill switch {} is already engaged; release it before engaging another.",
                ks.id
            )));
        }
        let live =
            store::campaigns::in_status(&mut tx, &orgs, CampaignStatus::Active.as_str()).await?;
        let explanation = format!(
            "The kill switch paused every active campaign{}: {reason}",
            if orgs.len() > 1 {
                " of the organisation and its clients"
            } else {
                " of the organisation"
            }
        );
        for row in &live {
            self.apply_move(
                &mut tx,
                row,
                Move {
                    action: Action::Pause,
                    actor: actor.clone(),
                    reason: Some(&reason),
                    automated: Some(explanation.clone()),
                    extras: store::campaigns::MoveExtras {
                        gate: None,
                        kill_switch: Some(Some(id)),
                    },
                    meta: Some(meta),
                },
            )
            .await?;
        }
        let paused: Vec<Uuid> = live.iter().map(|r| r.id).collect();
        let org_ids: Vec<Uuid> = orgs.iter().map(|o| o.0).collect();
        store::kill_switch::insert(
            &mut tx,
            store::kill_switch::NewKillSwitch {
                id,
                org,
                reason: &reason,
                orgs: json_of(&org_ids)?,
                paused: json_of(&paused)?,
                by: &by,
                now,
            },
        )
        .await?;
        let sets = store::campaigns::ad_sets_tx(&mut tx, &orgs, &paused).await?;
        let channels = channel_outcomes(&sets, false);
        tx.audit(
            audit_event(org, actor, "campaigns.kill_switch.engaged", Some(meta))
                .target("kill_switch", id)
                .details(json!({ "orgs": org_ids, "paused": paused, "reason": reason })),
        )
        .await?;
        tx.publish(
            Some(org),
            &KillSwitchEngaged {
                kill_switch_id: id,
                orgs: org_ids,
                paused,
                reason,
            },
        );
        tx.commit().await?;
        let row = store::kill_switch::latest(&self.db, org)
            .await?
            .ok_or(CampaignsError::NotFound("kill switch"))?;
        self.kill_switch_view(row, channels)
    }

    /// `POST /v1/kill-switch/release`: resumes the campaigns the engaged
    /// switch paused that are still paused by it.
    pub async fn release_kill_switch(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        req: ReleaseRequest,
    ) -> Result<KillSwitchView> {
        let reason = reason_of("reason", req.reason.as_deref())?;
        let org = p.scope.org_id();
        let actor = p.actor();
        let by = actor_text(&actor);
        let now = self.now();
        let mut tx = self.record.begin().await?;
        let Some(ks) = store::kill_switch::engaged(&mut tx, org).await? else {
            return Err(CampaignsError::Conflict(
                "No kill switch is engaged in this organisation.".into(),
            ));
        };
        let orgs: Vec<OrgId> = serde_json::from_value::<Vec<Uuid>>(ks.orgs.0.clone())
            .map_err(|e| CampaignsError::Internal(format!("kill switch {}: orgs: {e}", ks.id)))?
            .into_iter()
            .map(OrgId)
            .collect();
        let held = store::campaigns::held_by(&mut tx, &orgs, ks.id).await?;
        let explanation = format!(
            "The kill switch was released{}; the campaigns it paused run again.",
            reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
        let mut resumed = Vec::new();
        for row in &held {
            if row.status()? != CampaignStatus::Paused {
                continue;
            }
            self.apply_move(
                &mut tx,
                row,
                Move {
                    action: Action::Resume,
                    actor: actor.clone(),
                    reason: reason.as_deref(),
                    automated: Some(explanation.clone()),
                    extras: store::campaigns::MoveExtras {
                        gate: None,
                        kill_switch: Some(None),
                    },
                    meta: Some(meta),
                },
            )
            .await?;
            resumed.push(row.id);
        }
        if !store::kill_switch::release(&mut tx, org, ks.id, &by, json_of(&resumed)?, now).await? {
            return Err(CampaignsError::Conflict(
                "The kill switch was released while this request ran.".into(),
            ));
        }
        let sets = store::campaigns::ad_sets_tx(&mut tx, &orgs, &resumed).await?;
        let channels = channel_outcomes(&sets, true);
        tx.audit(
            audit_event(org, actor, "campaigns.kill_switch.released", Some(meta))
                .target("kill_switch", ks.id)
                .details(json!({ "resumed": resumed, "reason": reason })),
        )
        .await?;
        tx.publish(
            Some(org),
            &KillSwitchReleased {
                kill_switch_id: ks.id,
                resumed,
            },
        );
        tx.commit().await?;
        let row = store::kill_switch::latest(&self.db, org)
            .await?
            .ok_or(CampaignsError::NotFound("kill switch"))?;
        self.kill_switch_view(row, channels)
    }
}
