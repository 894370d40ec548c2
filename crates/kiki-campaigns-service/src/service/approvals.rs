//! Approvals: the queue, decisions (four-eyes, the twin's gate override on a
//! launch the gate refused), comments, and budget changes that wait for one.

use kiki_core::FieldError;

use super::*;
use crate::events::ApprovalDecided;
use crate::store::approvals::ApprovalRow;

/// Most comments on one approval.
const MAX_COMMENTS: i64 = 200;

impl ApprovalRow {
    fn kind(&self) -> Result<ApprovalKind> {
        ApprovalKind::parse(&self.kind).ok_or_else(|| {
            CampaignsError::Internal(format!("approval {}: unknown kind {}", self.id, self.kind))
        })
    }

    fn status(&self) -> Result<ApprovalStatus> {
        ApprovalStatus::parse(&self.status).ok_or_else(|| {
            CampaignsError::Internal(format!(
                "approval {}: unknown status {}",
                self.id, self.status
            ))
        })
    }
}

impl CampaignsService {
    /// Mails every active member who may decide approvals (`budget.approve`)
    /// that `what` waits for them; under four-eyes, not the requester. A
    /// mail that cannot be sent is logged: the approval stands either way.
    pub(crate) async fn notify_approvers(
        &self,
        scope: &TenantScope,
        approval: Uuid,
        requested_by: &str,
        what: &str,
    ) {
        let org = scope.org_id();
        let four_eyes = match self.settings_of(org).await {
            Ok(s) => s.four_eyes,
            Err(e) => {
                tracing::warn!(error = %e, "approval mail: settings unreadable");
                return;
            }
        };
        let members = match self.identity.list_members(scope).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "approval mail: members unreadable");
                return;
            }
        };
        for m in members {
            let may_decide = m.status == kiki_identity::Status::Active
                && kiki_identity::permissions_of(m.role)
                    .contains(&kiki_identity::Permission::BudgetApprove);
            if !may_decide || (four_eyes && requested_by == format!("user:{}", m.user_id.0)) {
                continue;
            }
            let msg = kiki_notify::MailMessage {
                to: m.email.clone(),
                subject: "A campaign waits for your approval".into(),
                text: format!(
                    "Hello {},\n\n{requested_by} asks for your approval of {what}\n\nApproval {approval}: \
                     GET /v1/approvals/{approval} shows it; POST /v1/approvals/{approval}/decision \
                     approves or rejects it.\n",
                    m.display_name
                ),
                html: None,
                org_id: Some(org),
                kind: "campaigns.approval_requested".into(),
                secrets: Vec::new(),
            };
            if let Err(e) = self.mail.send(msg).await {
                tracing::warn!(error = %e, approval = %approval, "approval mail not sent");
            }
        }
    }

    async fn approval_views(
        &self,
        scope: &TenantScope,
        rows: Vec<ApprovalRow>,
    ) -> Result<Vec<ApprovalView>> {
        let org = scope.org_id();
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let comments = store::approvals::comments(&self.db, org, &ids).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let campaign = store::campaigns::get(&self.db, org, r.campaign_id).await?;
            let (name, currency, gate) = match campaign {
                Some(c) => {
                    let c = self.refresh_gate(scope, c).await?;
                    let currency = kiki_core::Currency::parse(&c.currency).map_err(|e| {
                        CampaignsError::Internal(format!("campaign {}: currency: {e}", c.id))
                    })?;
                    let gate = match (r.simulation_id, c.simulation_id) {
                        (Some(sim), Some(current)) if sim == current => Some(GateView {
                            simulation_id: sim,
                            approved: c.gate_approved,
                            reason: c.gate_reason.clone(),
                        }),
                        (Some(sim), _) => Some(GateView {
                            simulation_id: sim,
                            approved: None,
                            reason: None,
                        }),
                        _ => None,
                    };
                    (c.name, currency, gate)
                }
                None => {
                    return Err(CampaignsError::Internal(format!(
                        "approval {}: campaign {} missing",
                        r.id, r.campaign_id
                    )));
                }
            };
            out.push(ApprovalView {
                id: r.id,
                org_id: r.org_id,
                campaign_id: r.campaign_id,
                campaign_name: name,
                kind: r.kind()?,
                status: r.status()?,
                requested_by: r.requested_by.clone(),
                reason: r.reason.clone(),
                daily_budget: Money::from_micros(r.daily_budget_micros.unwrap_or(0), currency),
                total_budget: r
                    .total_budget_micros
                    .map(|m| Money::from_micros(m, currency)),
                gate,
                decided_by: r.decided_by.clone(),
                decided_at: r.decided_at,
                decision_comment: r.decision_comment.clone(),
                comments: comments
                    .iter()
                    .filter(|c| c.approval_id == r.id)
                    .map(|c| CommentView {
                        id: c.id,
                        author: c.author.clone(),
                        body: c.body.clone(),
                        at: c.created_at,
                    })
                    .collect(),
                created_at: r.created_at,
            });
        }
        Ok(out)
    }

    /// `GET /v1/approvals`: the active organisation's approvals, newest
    /// first (the queue: `status=pending`).
    pub async fn approvals(
        &self,
        scope: &TenantScope,
        status: Option<ApprovalStatus>,
        campaign: Option<Uuid>,
        page: &PageRequest,
    ) -> Result<Page<ApprovalView>> {
        let org = scope.org_id();
        let limit = page.limit();
        let key = key_of(page)?;
        let rows = store::approvals::list(
            &self.db,
            org,
            status.map(|s| s.as_str()),
            campaign,
            page.fetch(),
            key,
        )
        .await?;
        let items = self.approval_views(scope, rows).await?;
        Ok(Page::keyset(items, limit, |v| (v.created_at, v.id)))
    }

    /// `GET /v1/approvals/{id}`.
    pub async fn approval(&self, scope: &TenantScope, id: Uuid) -> Result<Option<ApprovalView>> {
        let org = scope.org_id();
        let Some(row) = store::approvals::get(&self.db, org, id).await? else {
            return Ok(None);
        };
        Ok(self.approval_views(scope, vec![row]).await?.pop())
    }

    async fn approval_view(&self, scope: &TenantScope, id: Uuid) -> Result<ApprovalView> {
        self.approval(scope, id)
            .await?
            .ok_or(CampaignsError::NotFound("approval"))
    }

    /// `POST /v1/approvals/{id}/comments`.
    pub async fn comment(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        req: CommentRequest,
    ) -> Result<ApprovalView> {
        let body = kiki_core::trim_schema(&req.body);
        if body.is_empty() || body.chars().count() > MAX_REASON {
            return Err(CampaignsError::field(
                "body",
                "1 to 2000 characters, not only spaces.",
            ));
        }
        let org = p.scope.org_id();
        store::approvals::get(&self.db, org, id)
            .await?
            .ok_or(CampaignsError::NotFound("approval"))?;
        let actor = p.actor();
        let by = actor_text(&actor);
        let mut tx = self.record.begin().await?;
        if store::approvals::comment_count(&mut tx, org, id).await? >= MAX_COMMENTS {
            return Err(CampaignsError::Conflict(format!(
                "The approval has {MAX_COMMENTS} comments, the most it keeps."
            )));
        }
        let comment =
            store::approvals::insert_comment(&mut tx, org, id, &by, body, self.now()).await?;
        tx.audit(
            audit_event(org, actor, "campaigns.approval.commented", Some(meta))
                .target("approval", id)
                .details(json!({ "comment_id": comment })),
        )
        .await?;
        tx.commit().await?;
        self.approval_view(&p.scope, id).await
    }

    /// `POST /v1/approvals/{id}/decision`.
    pub async fn decide(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        req: DecisionRequest,
    ) -> Result<ApprovalView> {
        let comment = reason_of("comment", req.comment.as_deref())?;
        let override_reason = reason_of("override_reason", req.override_reason.as_deref())?;
        let org = p.scope.org_id();
        let approval = store::approvals::get(&self.db, org, id)
            .await?
            .ok_or(CampaignsError::NotFound("approval"))?;
        let status = approval.status()?;
        if status != ApprovalStatus::Pending {
            return Err(CampaignsError::Conflict(format!(
                "The approval is {} already.",
                status.as_str()
            )));
        }
        let actor = p.actor();
        let by = actor_text(&actor);
        let settings = self.settings_of(org).await?;
        if settings.four_eyes && approval.requested_by == by {
            return Err(CampaignsError::Refused(
                "This organisation requires four eyes: another member with budget.approve must decide what you asked for.".into(),
            ));
        }
        let approve = req.decision == Decision::Approve;
        let kind = approval.kind()?;
        let campaign = self.row(org, approval.campaign_id).await?;
        let campaign = self.refresh_gate(&p.scope, campaign).await?;
        if approve && kind == ApprovalKind::Launch {
            match campaign.gate_approved {
                None => {
                    return Err(CampaignsError::Conflict(
                        "The launch gate's simulation is still running; decide once it has finished.".into(),
                    ));
                }
                Some(false) => {
                    let Some(why) = override_reason.as_deref() else {
                        return Err(CampaignsError::Invalid(vec![FieldError::new(
                            "override_reason",
                            "The twin's gate refused this launch; approving it overrides the gate: say why.",
                        )]));
                    };
                    let sim = campaign.simulation_id.ok_or_else(|| {
                        CampaignsError::Internal(format!(
                            "campaign {}: gate without simulation",
                            campaign.id
                        ))
                    })?;
                    self.twin
                        .override_decision(
                            p,
                            meta,
                            sim,
                            kiki_twin_service::domain::DecisionRequest {
                                decision: kiki_twin_service::domain::Verdict::Approve,
                                reason: Some(why.to_owned()),
                            },
                        )
                        .await?;
                }
                Some(true) => {}
            }
        }
        let now = self.now();
        let mut tx = self.record.begin().await?;
        let new_status = if approve {
            ApprovalStatus::Approved
        } else {
            ApprovalStatus::Rejected
        };
        if !store::approvals::decide(
            &mut tx,
            org,
            id,
            new_status.as_str(),
            &by,
            comment.as_deref(),
            now,
        )
        .await?
        {
            return Err(CampaignsError::Conflict(
                "The approval was decided while this request ran.".into(),
            ));
        }
        match kind {
            ApprovalKind::Launch => {
                let action = if approve {
                    Action::Approve
                } else {
                    Action::Reject
                };
                self.apply_move(
                    &mut tx,
                    &campaign,
                    Move {
                        action,
                        actor: actor.clone(),
                        reason: comment.as_deref().or(override_reason.as_deref()),
                        automated: None,
                        extras: Default::default(),
                        meta: Some(meta),
                    },
                )
                .await?;
            }
            ApprovalKind::BudgetIncrease if approve => {
                let daily = approval.daily_budget_micros.ok_or_else(|| {
                    CampaignsError::Internal(format!("approval {id}: budget raise without amount"))
                })?;
                self.write_budget(&mut tx, &campaign, daily, approval.total_budget_micros)
                    .await?;
            }
            ApprovalKind::BudgetIncrease => {}
        }
        tx.audit(
            audit_event(org, actor, "campaigns.approval.decided", Some(meta))
                .target("approval", id)
                .details(json!({
                    "campaign_id": campaign.id,
                    "kind": kind,
                    "approved": approve,
                    "comment": comment,
                    "gate_overridden": override_reason.is_some() && campaign.gate_approved == Some(false),
                })),
        )
        .await?;
        tx.publish(
            Some(org),
            &ApprovalDecided {
                approval_id: id,
                campaign_id: campaign.id,
                kind: kind.as_str().into(),
                approved: approve,
                decided_by: by,
            },
        );
        tx.commit().await?;
        self.approval_view(&p.scope, id).await
    }

    /// Writes a new budget on a campaign (its draft, its columns and its ad
    /// sets' daily budgets) at the version read.
    pub(crate) async fn write_budget(
        &self,
        tx: &mut Change<'_>,
        row: &CampaignRow,
        daily: i64,
        total: Option<i64>,
    ) -> Result<()> {
        let org = row.org();
        let mut draft = row.draft()?;
        draft.daily_budget = Money::from_micros(daily, draft.currency);
        draft.total_budget = total.map(|t| Money::from_micros(t, draft.currency));
        let now = self.now();
        if !store::campaigns::set_budget(
            tx,
            org,
            row.id,
            row.version,
            (daily, total),
            json_of(&draft)?,
            now,
        )
        .await?
        {
            return Err(changed_meanwhile());
        }
        let sets = store::campaigns::ad_sets_tx(tx, &[org], &[row.id]).await?;
        for s in sets {
            let share = u32::try_from(s.budget_share_bps).unwrap_or(0);
            store::campaigns::set_ad_set_budget(
                tx,
                org,
                s.id,
                ad_set_budget(draft.daily_budget, share).micros,
                now,
            )
            .await?;
        }
        if row.status()? != CampaignStatus::Draft {
            self.enqueue_sync(tx, org, row.id).await?;
        }
        Ok(())
    }

    /// `POST /v1/campaigns/{id}/budget`: a new budget, applied now or (a raise
    /// above the organisation's threshold on a campaign already approved)
    /// after approval.
    pub async fn change_budget(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        req: BudgetRequest,
    ) -> Result<BudgetChangeView> {
        let org = p.scope.org_id();
        let reason = reason_of("reason", req.reason.as_deref())?;
        let row = self.row(org, id).await?;
        let status = row.status()?;
        let draft = row.draft()?;
        let settings = self.settings_in(&p.scope).await?;
        let mut errors = Vec::new();
        let cur = draft.currency;
        // Settings amounts in another currency cannot be compared with this
        // campaign's (there is no exchange rate): a raise then waits for a
        // person, and these sentences say why.
        let mut unchecked = Vec::new();
        if req.daily_budget.currency != cur {
            errors.push(FieldError::new(
                "daily_budget.currency",
                format!("Must be the campaign currency {cur}."),
            ));
        }
        if req.daily_budget.micros <= 0 {
            errors.push(FieldError::new("daily_budget", "Must be more than zero."));
        }
        if let Some(cap) = settings.max_daily_budget {
            if cap.currency != cur {
                unchecked.push(format!(
                    "The organisation's cap of {} a day is in {}, the campaign is in {cur}, and there is no exchange rate to compare them, so the new daily budget of {} could not be checked against the cap.",
                    cap.text(),
                    cap.currency,
                    req.daily_budget.text(),
                ));
            } else if req.daily_budget.micros > cap.micros {
                errors.push(FieldError::new(
                    "daily_budget",
                    format!("Above the organisation's cap of {} a day.", cap.text()),
                ));
            }
        }
        let threshold = settings.approval_threshold;
        if threshold.currency != cur {
            unchecked.push(format!(
                "The approval threshold of {} is in {}, the campaign is in {cur}, and there is no exchange rate to compare them, so every raise waits for approval.",
                threshold.text(),
                threshold.currency,
            ));
        }
        if let Some(t) = &req.total_budget {
            if t.currency != cur {
                errors.push(FieldError::new(
                    "total_budget.currency",
                    format!("Must be the campaign currency {cur}."),
                ));
            }
            if t.micros <= 0 {
                errors.push(FieldError::new("total_budget", "Must be more than zero."));
            } else if t.micros < req.daily_budget.micros {
                errors.push(FieldError::new(
                    "total_budget",
                    "Less than one day of the daily budget.",
                ));
            }
        }
        if !errors.is_empty() {
            return Err(CampaignsError::Invalid(errors));
        }
        if matches!(
            status,
            CampaignStatus::PendingApproval | CampaignStatus::Completed | CampaignStatus::Archived
        ) {
            return Err(CampaignsError::Conflict(format!(
                "A campaign that is {} cannot change its budget{}.",
                status.as_str(),
                if status == CampaignStatus::PendingApproval {
                    " while its launch waits for approval (withdraw it first)"
                } else {
                    ""
                }
            )));
        }
        let daily = req.daily_budget.micros;
        let total = req.total_budget.map(|m| m.micros);
        let raise = daily - draft.daily_budget.micros;
        // Before approval the launch approval covers the budget; after it, a
        // raise above the threshold needs its own.
        let approved_before = !matches!(status, CampaignStatus::Draft | CampaignStatus::Rejected);
        let needs_approval = approved_before
            && if unchecked.is_empty() {
                raise > threshold.micros
            } else {
                raise > 0
            };
        let why = if unchecked.is_empty() {
            format!(
                "The raise of {} a day is above the approval threshold of {}.",
                Money::from_micros(raise, cur).text(),
                threshold.text()
            )
        } else {
            unchecked.join(" ")
        };
        let actor = p.actor();
        let by = actor_text(&actor);
        let now = self.now();
        let mut tx = self.record.begin().await?;
        let approval = if needs_approval {
            store::approvals::withdraw_pending(
                &mut tx,
                org,
                id,
                Some(ApprovalKind::BudgetIncrease.as_str()),
                now,
            )
            .await?;
            let approval = Uuid::now_v7();
            store::approvals::insert(
                &mut tx,
                store::approvals::NewApproval {
                    id: approval,
                    org,
                    campaign: id,
                    kind: ApprovalKind::BudgetIncrease.as_str(),
                    requested_by: &by,
                    reason: reason.as_deref(),
                    daily_budget_micros: Some(daily),
                    total_budget_micros: total,
                    simulation: None,
                    now,
                },
            )
            .await?;
            tx.audit(
                audit_event(org, actor, "campaigns.approval.requested", Some(meta))
                    .target("approval", approval)
                    .details(json!({
                        "campaign_id": id,
                        "kind": ApprovalKind::BudgetIncrease,
                        "from": draft.daily_budget,
                        "to": Money::from_micros(daily, cur),
                        "threshold": threshold,
                        "why": why,
                    })),
            )
            .await?;
            // The reason it waits, on the approval itself.
            store::approvals::insert_comment(
                &mut tx,
                org,
                approval,
                &actor_text(&Actor::System("campaigns".into())),
                &why,
                now,
            )
            .await?;
            tx.publish(
                Some(org),
                &ApprovalRequested {
                    approval_id: approval,
                    campaign_id: id,
                    kind: ApprovalKind::BudgetIncrease.as_str().into(),
                    requested_by: by.clone(),
                },
            );
            Some(approval)
        } else {
            self.write_budget(&mut tx, &row, daily, total).await?;
            tx.audit(
                audit_event(org, actor, "campaigns.campaign.budget_changed", Some(meta))
                    .target("campaign", id)
                    .details(json!({
                        "from": draft.daily_budget,
                        "to": Money::from_micros(daily, cur),
                        "total": total.map(|t| Money::from_micros(t, cur)),
                        "reason": reason,
                    })),
            )
            .await?;
            None
        };
        tx.commit().await?;
        if let Some(a) = approval {
            self.notify_approvers(
                &p.scope,
                a,
                &by,
                &format!(
                    "raising the daily budget of the campaign \"{}\" from {} to {}. {why}",
                    draft.name,
                    draft.daily_budget.text(),
                    Money::from_micros(daily, cur).text()
                ),
            )
            .await;
        }
        let campaign = self.view(&p.scope, id).await?;
        let approval = match approval {
            Some(a) => Some(self.approval_view(&p.scope, a).await?),
            None => None,
        };
        Ok(BudgetChangeView {
            applied: approval.is_none(),
            campaign,
            approval,
        })
    }
}
