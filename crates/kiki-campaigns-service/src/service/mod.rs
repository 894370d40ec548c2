//! The campaigns service: the use cases behind the API. Each change is one
//! transaction with its audit entry (and a decision record when a rule acted),
//! and publishes its typed event once it commits.
//!
//! - `mod.rs`: the service, campaigns (create, rewrite, read, list) and the
//!   status moves, with the launch gate on submission.
//! - `approvals.rs`: the approval queue, decisions (four-eyes, gate override),
//!   comments, and budget changes above the threshold.
//! - `kill_switch.rs`: pausing every live campaign of an organisation or an
//!   agency's clients, and resuming exactly those.
//! - `creatives.rs`: generated and user-written creatives, their policy review
//!   and the safety hold.
//! - `channels.rs`: the campaigns on their channels (KIKI programmatic line
//!   items, deployments, the twin's platform budgets).
//! - `shifts.rs`: the rebalancer's budget shifts applied to ad sets.
//! - `settings.rs`: the organisation's settings; `llm_settings.rs` its own
//!   language model (key encrypted at rest).

use std::sync::Arc;

use kiki_campaigns::{Action, CampaignDraft, CampaignStatus, OrgLimits, next_status};
use kiki_core::{Clock, Money, OrgId, Page, PageRequest, TenantScope};
use kiki_explain::{Change, NewDecision, Recorder};
use kiki_identity::{Principal, RequestMeta};
use kiki_shield::{Actor, AuditEvent};
use kiki_store::Db;
use kiki_twin_service::TwinService;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::config::CampaignsConfig;
use crate::domain::*;
use crate::error::{CampaignsError, Result};
use crate::events::{ApprovalRequested, StatusChanged};
use crate::store::{self, Key, campaigns::CampaignRow};

mod approvals;
pub mod channels;
mod creatives;
mod kill_switch;
mod llm_settings;
pub mod plan;
mod settings;
pub mod shifts;

/// The engine name on decision records.
pub const ENGINE: &str = "kiki-campaigns";
/// The engine version on decision records.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Longest free-text reason.
const MAX_REASON: usize = 2_000;

/// The service object shared with handlers.
pub struct CampaignsService {
    pub(crate) db: Db,
    pub(crate) record: Recorder,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: CampaignsConfig,
    pub(crate) twin: Arc<TwinService>,
    /// The LTV service, when the module is wired to it (the planner's LTV).
    pub(crate) ltv: Option<Arc<kiki_ltv_service::LtvService>>,
    /// The planner's language model, when configured; replaced when its key
    /// is rotated while running ([`CampaignsService::apply_llm_section`]).
    pub(crate) llm: std::sync::RwLock<Option<Arc<kiki_llm::LlmClient>>>,
    /// The one outbound HTTP client (landing pages).
    pub(crate) outbound: kiki_outbound::OutboundClient,
    /// Members and organisations (who approves; the organisation's name).
    pub(crate) identity: kiki_identity::Identity,
    /// The mail port (approvers are told what waits for them).
    pub(crate) mail: kiki_notify::Mail,
    /// The job queue (channel syncs run as jobs).
    pub(crate) jobs: kiki_store::Jobs,
    /// The bidder, when the module is wired to it (KIKI programmatic).
    pub(crate) bidder: Option<Arc<kiki_bidder_service::BidderService>>,
    /// The ad platforms, when the module is wired to them (ad sets on Meta,
    /// Google and the others, through the organisation's connections).
    pub(crate) platforms: Option<Arc<kiki_platforms_service::PlatformsService>>,
    /// The field-encryption key ring (organisations' model keys).
    pub(crate) keyring: kiki_shield::Keyring,
    /// One channel sync per campaign at a time in this process.
    pub(crate) sync_locks: std::sync::Mutex<SyncLocks>,
}

/// The per-campaign locks of the channel sync.
pub(crate) type SyncLocks = std::collections::HashMap<Uuid, Arc<tokio::sync::Mutex<()>>>;

impl std::fmt::Debug for CampaignsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CampaignsService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Who acts, as stored in `created_by`, `actor` and `requested_by`.
pub fn actor_text(actor: &Actor) -> String {
    match actor.id() {
        Some(id) => format!("{}:{id}", actor.kind()),
        None => actor.kind().to_owned(),
    }
}

/// An audit event stamped with the request.
pub(crate) fn audit_event(
    org: OrgId,
    actor: Actor,
    action: &str,
    meta: Option<&RequestMeta>,
) -> AuditEvent {
    let e = AuditEvent::new(Some(org), actor, action);
    match meta {
        Some(m) => e.context(m.ip, m.user_agent.clone(), m.request_id.clone()),
        None => e,
    }
}

pub(crate) fn json_of<T: serde::Serialize>(v: &T) -> Result<Value> {
    Ok(serde_json::to_value(v)?)
}

/// The key a page starts after, from the request's cursor.
pub(crate) fn key_of(page: &PageRequest) -> Result<Option<Key>> {
    page.after().map_err(|f| CampaignsError::Invalid(vec![f]))
}

/// A reason: trimmed, at most 2,000 characters, `None` when blank.
pub(crate) fn reason_of(field: &str, reason: Option<&str>) -> Result<Option<String>> {
    // The length the contract states is the text as sent, before trimming.
    if reason.is_some_and(|r| r.chars().count() > MAX_REASON) {
        return Err(CampaignsError::field(
            field,
            format!("At most {MAX_REASON} characters."),
        ));
    }
    let r = reason.map(kiki_core::trim_schema).filter(|r| !r.is_empty());
    Ok(r.map(str::to_owned))
}

fn corrupt(what: &str, id: Uuid, e: impl std::fmt::Display) -> CampaignsError {
    CampaignsError::Internal(format!("campaign {id}: stored {what} unreadable: {e}"))
}

impl CampaignRow {
    pub(crate) fn status(&self) -> Result<CampaignStatus> {
        CampaignStatus::parse(&self.status).ok_or_else(|| corrupt("status", self.id, &self.status))
    }

    pub(crate) fn draft(&self) -> Result<CampaignDraft> {
        serde_json::from_value(self.draft.0.clone()).map_err(|e| corrupt("draft", self.id, e))
    }

    pub(crate) fn org(&self) -> OrgId {
        OrgId(self.org_id)
    }
}

/// One status move to make inside a change.
pub(crate) struct Move<'a> {
    pub action: Action,
    pub actor: Actor,
    pub reason: Option<&'a str>,
    /// A rule moved it (the policy review, the kill switch): a decision
    /// record explains it.
    pub automated: Option<String>,
    pub extras: store::campaigns::MoveExtras,
    pub meta: Option<&'a RequestMeta>,
}

/// The server's model client from `[campaigns.llm]`.
fn llm_client(
    outbound: &kiki_outbound::OutboundClient,
    section: Option<&crate::config::LlmSection>,
) -> Result<Option<Arc<kiki_llm::LlmClient>>> {
    match section {
        Some(section) => Ok(Some(Arc::new(
            kiki_llm::LlmClient::new(outbound.clone(), section.client_config())
                .map_err(|e| CampaignsError::Internal(format!("campaigns.llm: {e}")))?,
        ))),
        None => Ok(None),
    }
}

impl CampaignsService {
    /// Replaces the server's model with `section` (its key rotated in Vault):
    /// requests started before keep the client they hold, later ones use the
    /// new one. Settings that do not build a client leave the current one.
    pub fn apply_llm_section(&self, section: Option<&crate::config::LlmSection>) -> Result<()> {
        let client = llm_client(&self.outbound, section)?;
        *self.llm.write().unwrap_or_else(|e| e.into_inner()) = client;
        Ok(())
    }

    /// The server's own model client now (not an organisation's).
    pub(crate) fn server_llm(&self) -> Option<Arc<kiki_llm::LlmClient>> {
        self.llm.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn new(
        platform: &kiki_server::Platform,
        identity: kiki_identity::Identity,
        config: CampaignsConfig,
        twin: Arc<TwinService>,
        ltv: Option<Arc<kiki_ltv_service::LtvService>>,
        bidder: Option<Arc<kiki_bidder_service::BidderService>>,
    ) -> Result<CampaignsService> {
        let llm = std::sync::RwLock::new(llm_client(&platform.outbound, config.llm.as_ref())?);
        Ok(CampaignsService {
            db: platform.db.clone(),
            record: platform.recorder(),
            clock: platform.clock.clone(),
            config,
            twin,
            ltv,
            llm,
            outbound: platform.outbound.clone(),
            identity,
            mail: platform.mail.clone(),
            jobs: platform.jobs.clone(),
            bidder,
            platforms: None,
            keyring: platform.keyring.clone(),
            sync_locks: Default::default(),
        })
    }

    /// Runs ad sets on other channels through the ad-platforms service.
    pub fn with_platforms(
        mut self,
        platforms: Arc<kiki_platforms_service::PlatformsService>,
    ) -> CampaignsService {
        self.platforms = Some(platforms);
        self
    }

    pub fn config(&self) -> &CampaignsConfig {
        &self.config
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The organisation's limits for validating a draft. "Today" is the
    /// earliest calendar day that is still today somewhere (UTC−12), so a
    /// schedule written in any time zone may start on its local today.
    ///
    /// The cap is in the settings' currency; a draft in another currency is
    /// not compared with it here (there is no exchange rate) and its launch
    /// approval says so.
    async fn limits(&self, scope: &TenantScope) -> Result<OrgLimits> {
        let settings = self.settings_in(scope).await?;
        Ok(OrgLimits {
            max_daily_budget: settings.max_daily_budget,
            today: (self.now() - Duration::hours(12)).date(),
        })
    }

    async fn checked(&self, scope: &TenantScope, draft: &CampaignDraft) -> Result<()> {
        let limits = self.limits(scope).await?;
        let errors = kiki_campaigns::validate_campaign(draft, &limits);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CampaignsError::Invalid(errors))
        }
    }

    fn ad_set_rows<'a>(
        draft: &'a CampaignDraft,
        ids: &[Uuid],
    ) -> Vec<store::campaigns::NewAdSet<'a>> {
        draft
            .ad_sets
            .iter()
            .zip(ids)
            .enumerate()
            .map(|(i, (a, id))| store::campaigns::NewAdSet {
                id: *id,
                position: i as u32,
                name: &a.name,
                channel: channel_name(a.channel),
                budget_share_bps: a.budget_share_bps,
                daily_budget_micros: ad_set_budget(draft.daily_budget, a.budget_share_bps).micros,
            })
            .collect()
    }

    /// `POST /v1/campaigns`: stores a draft campaign.
    pub async fn create(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        draft: CampaignDraft,
    ) -> Result<CampaignView> {
        let org = p.scope.org_id();
        self.checked(&p.scope, &draft).await?;
        let id = Uuid::now_v7();
        let now = self.now();
        let actor = p.actor();
        let by = actor_text(&actor);
        let ids: Vec<Uuid> = draft.ad_sets.iter().map(|_| Uuid::now_v7()).collect();
        let mut tx = self.record.begin().await?;
        store::campaigns::insert(
            &mut tx,
            store::campaigns::CampaignWrite {
                id,
                org,
                name: &draft.name,
                currency: draft.currency.as_str(),
                daily_budget_micros: draft.daily_budget.micros,
                total_budget_micros: draft.total_budget.map(|m| m.micros),
                draft: json_of(&draft)?,
                now,
            },
            CampaignStatus::Draft.as_str(),
            &by,
        )
        .await?;
        store::campaigns::replace_ad_sets(&mut tx, org, id, &Self::ad_set_rows(&draft, &ids), now)
            .await?;
        tx.audit(
            audit_event(org, actor, "campaigns.campaign.created", Some(meta))
                .target("campaign", id)
                .details(json!({
                    "name": draft.name,
                    "daily_budget": draft.daily_budget,
                    "ad_sets": draft.ad_sets.len(),
                })),
        )
        .await?;
        tx.commit().await?;
        self.view(&p.scope, id).await
    }

    /// `PUT /v1/campaigns/{id}`: rewrites a draft (only in `draft`).
    pub async fn rewrite(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        draft: CampaignDraft,
    ) -> Result<CampaignView> {
        let org = p.scope.org_id();
        let row = self.row(org, id).await?;
        let status = row.status()?;
        if status != CampaignStatus::Draft {
            return Err(CampaignsError::Conflict(format!(
                "A campaign that is {} cannot be edited; only a draft can (withdraw or revise it first, or change its budget with POST /v1/campaigns/{{id}}/budget).",
                status.as_str()
            )));
        }
        self.checked(&p.scope, &draft).await?;
        let now = self.now();
        let actor = p.actor();
        let ids: Vec<Uuid> = draft.ad_sets.iter().map(|_| Uuid::now_v7()).collect();
        let mut tx = self.record.begin().await?;
        let written = store::campaigns::rewrite(
            &mut tx,
            store::campaigns::CampaignWrite {
                id,
                org,
                name: &draft.name,
                currency: draft.currency.as_str(),
                daily_budget_micros: draft.daily_budget.micros,
                total_budget_micros: draft.total_budget.map(|m| m.micros),
                draft: json_of(&draft)?,
                now,
            },
            status.as_str(),
            row.version,
        )
        .await?;
        if !written {
            return Err(changed_meanwhile());
        }
        store::campaigns::replace_ad_sets(&mut tx, org, id, &Self::ad_set_rows(&draft, &ids), now)
            .await?;
        tx.audit(
            audit_event(org, actor, "campaigns.campaign.updated", Some(meta))
                .target("campaign", id)
                .details(json!({ "version": row.version + 1 })),
        )
        .await?;
        tx.commit().await?;
        self.view(&p.scope, id).await
    }

    pub(crate) async fn row(&self, org: OrgId, id: Uuid) -> Result<CampaignRow> {
        store::campaigns::get(&self.db, org, id)
            .await?
            .ok_or(CampaignsError::NotFound("campaign"))
    }

    async fn view(&self, scope: &TenantScope, id: Uuid) -> Result<CampaignView> {
        self.get(scope, id)
            .await?
            .ok_or(CampaignsError::NotFound("campaign"))
    }

    /// Per campaign: its creatives' verdicts summed up.
    async fn brand_safety(&self, org: OrgId, ids: &[Uuid]) -> Result<Vec<(Uuid, BrandSafety)>> {
        let counts = store::creatives::verdict_counts(&self.db, org, ids).await?;
        Ok(ids
            .iter()
            .map(|id| {
                let n = |v: &str| {
                    counts
                        .iter()
                        .filter(|(c, verdict, _)| c == id && verdict == v)
                        .map(|(_, _, n)| u32::try_from(*n).unwrap_or(u32::MAX))
                        .sum::<u32>()
                };
                (
                    *id,
                    BrandSafety::of(n("approved"), n("needs_review"), n("rejected")),
                )
            })
            .collect())
    }

    /// The organisation's fitted LTV per currency, read once per request.
    async fn fitted_ltv(
        &self,
        scope: &TenantScope,
        cache: &mut Vec<(kiki_core::Currency, Option<kiki_planner::LtvFigure>)>,
        currency: kiki_core::Currency,
    ) -> Option<kiki_planner::LtvFigure> {
        if let Some((_, f)) = cache.iter().find(|(c, _)| *c == currency) {
            return f.clone();
        }
        let f = self.org_ltv(scope, currency).await;
        cache.push((currency, f.clone()));
        f
    }

    fn into_view(
        row: CampaignRow,
        sets: Vec<store::campaigns::AdSetRow>,
        ltv: Option<&kiki_planner::LtvFigure>,
        brand_safety: BrandSafety,
    ) -> Result<CampaignView> {
        let status = row.status()?;
        let draft = row.draft()?;
        let currency = draft.currency;
        let ltv_baseline = Self::ltv_baseline(&draft, ltv);
        let ad_sets = sets
            .into_iter()
            .map(|s| {
                let channel = channel_of(&s.channel)
                    .ok_or_else(|| corrupt("ad set channel", row.id, &s.channel))?;
                let status = DeploymentStatus::parse(&s.deployment_status).ok_or_else(|| {
                    corrupt("ad set deployment status", row.id, &s.deployment_status)
                })?;
                Ok(AdSetView {
                    id: s.id,
                    position: s.position as u32,
                    name: s.name,
                    channel,
                    budget_share_bps: s.budget_share_bps as u32,
                    daily_budget: Money::from_micros(s.daily_budget_micros, currency),
                    line_item_id: s.line_item_id,
                    deployment: DeploymentView {
                        status,
                        external_id: s.external_id,
                        last_synced_at: s.last_synced_at,
                        last_error: s.last_error,
                        note: s.deployment_note,
                    },
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CampaignView {
            id: row.id,
            org_id: row.org_id,
            status,
            allowed_actions: kiki_campaigns::status::allowed(status),
            draft,
            ad_sets,
            gate: row.simulation_id.map(|simulation_id| GateView {
                simulation_id,
                approved: row.gate_approved,
                reason: row.gate_reason.clone(),
            }),
            kill_switch_id: row.kill_switch_id,
            ltv_baseline,
            brand_safety,
            version: row.version,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// A campaign of the scope's active organisation.
    pub async fn get(&self, scope: &TenantScope, id: Uuid) -> Result<Option<CampaignView>> {
        let org = scope.org_id();
        let Some(row) = store::campaigns::get(&self.db, org, id).await? else {
            return Ok(None);
        };
        let row = self.refresh_gate(scope, row).await?;
        let sets = store::campaigns::ad_sets(&self.db, org, id).await?;
        let currency = row.draft()?.currency;
        let ltv = self.org_ltv(scope, currency).await;
        let safety = self
            .brand_safety(org, &[id])
            .await?
            .pop()
            .map_or_else(|| BrandSafety::of(0, 0, 0), |(_, b)| b);
        Self::into_view(row, sets, ltv.as_ref(), safety).map(Some)
    }

    /// Fills in the gate's verdict of a queued simulation that finished.
    pub(crate) async fn refresh_gate(
        &self,
        scope: &TenantScope,
        mut row: CampaignRow,
    ) -> Result<CampaignRow> {
        let org = scope.org_id();
        if let (Some(sim), None, true) = (row.simulation_id, row.gate_approved, row.org() == org)
            && let Some(v) = self.twin.get_simulation(scope, sim).await?
            && let Some(g) = v.gate
        {
            store::campaigns::set_gate(&self.db, org, row.id, sim, g.approved, &g.reason).await?;
            row.gate_approved = Some(g.approved);
            row.gate_reason = Some(g.reason);
        }
        Ok(row)
    }

    /// The active organisation's campaigns, newest first.
    pub async fn list(
        &self,
        scope: &TenantScope,
        status: Option<CampaignStatus>,
        page: &PageRequest,
    ) -> Result<Page<CampaignView>> {
        let org = scope.org_id();
        let limit = page.limit();
        let key = key_of(page)?;
        let rows =
            store::campaigns::list(&self.db, org, status.map(|s| s.as_str()), page.fetch(), key)
                .await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut sets = store::campaigns::ad_sets_of(&self.db, org, &ids).await?;
        let safety = self.brand_safety(org, &ids).await?;
        let mut fitted = Vec::new();
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let (mine, rest): (Vec<_>, Vec<_>) =
                sets.into_iter().partition(|s| s.campaign_id == row.id);
            sets = rest;
            let ltv = self
                .fitted_ltv(scope, &mut fitted, row.draft()?.currency)
                .await;
            let b = safety
                .iter()
                .find(|(id, _)| *id == row.id)
                .map_or_else(|| BrandSafety::of(0, 0, 0), |(_, b)| b.clone());
            items.push(Self::into_view(row, mine, ltv.as_ref(), b)?);
        }
        Ok(Page::keyset(items, limit, |v| (v.created_at, v.id)))
    }

    /// The status moves of a campaign, oldest first (the last 500).
    pub async fn transitions(&self, scope: &TenantScope, id: Uuid) -> Result<Vec<TransitionView>> {
        let org = scope.org_id();
        self.row(org, id).await?;
        let rows = store::campaigns::transitions(&self.db, org, id, 500).await?;
        rows.into_iter()
            .map(|t| {
                let bad = |what: &str, v: &str| corrupt(what, id, v);
                Ok(TransitionView {
                    id: t.id,
                    action: Action::parse(&t.action).ok_or_else(|| bad("action", &t.action))?,
                    from: CampaignStatus::parse(&t.from_status)
                        .ok_or_else(|| bad("status", &t.from_status))?,
                    to: CampaignStatus::parse(&t.to_status)
                        .ok_or_else(|| bad("status", &t.to_status))?,
                    actor: t.actor,
                    reason: t.reason,
                    automated: t.automated,
                    at: t.created_at,
                })
            })
            .collect()
    }

    /// Moves `row` by `m` inside `tx`: the status (if the row is still as
    /// read), the stored move, its audit entry, a decision record when a rule
    /// acted, and the event. Returns the new status.
    pub(crate) async fn apply_move(
        &self,
        tx: &mut Change<'_>,
        row: &CampaignRow,
        m: Move<'_>,
    ) -> Result<CampaignStatus> {
        let from = row.status()?;
        let to = next_status(from, m.action)?;
        let org = row.org();
        let now = self.now();
        let by = actor_text(&m.actor);
        if !store::campaigns::set_status(
            tx,
            org,
            row.id,
            (from.as_str(), row.version),
            to.as_str(),
            m.extras,
            now,
        )
        .await?
        {
            return Err(changed_meanwhile());
        }
        store::campaigns::insert_transition(
            tx,
            store::campaigns::NewTransition {
                org,
                campaign: row.id,
                action: m.action.as_str(),
                from: from.as_str(),
                to: to.as_str(),
                actor: &by,
                reason: m.reason,
                automated: m.automated.is_some(),
                now,
            },
        )
        .await?;
        let entry = tx
            .audit(
                audit_event(org, m.actor, "campaigns.campaign.status_changed", m.meta)
                    .target("campaign", row.id)
                    .details(json!({
                        "action": m.action,
                        "from": from,
                        "to": to,
                        "reason": m.reason,
                    })),
            )
            .await?;
        if let Some(explanation) = &m.automated {
            tx.decision(NewDecision {
                org_id: Some(org),
                engine: ENGINE.into(),
                engine_version: ENGINE_VERSION.into(),
                kind: format!("campaign_{}", m.action.as_str()),
                subject_kind: "campaign".into(),
                subject_id: row.id.to_string(),
                inputs: json!({ "from": from, "action": m.action, "reason": m.reason }),
                output: json!({ "to": to }),
                confidence: None,
                explanation: explanation.clone(),
                audit_entry_id: Some(entry.id),
            })
            .await?;
        }
        if !matches!(to, CampaignStatus::Draft | CampaignStatus::PendingApproval) {
            self.enqueue_sync(tx, org, row.id).await?;
        }
        tx.publish(
            Some(org),
            &StatusChanged {
                campaign_id: row.id,
                from,
                to,
                action: m.action,
                actor: by,
                reason: m.reason.map(str::to_owned),
                automated: m.automated.is_some(),
            },
        );
        Ok(to)
    }

    /// `POST /v1/campaigns/{id}/actions`: a person moves a campaign.
    pub async fn act(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        req: ActionRequest,
    ) -> Result<CampaignView> {
        let org = p.scope.org_id();
        let reason = reason_of("reason", req.reason.as_deref())?;
        let row = self.row(org, id).await?;
        let from = row.status()?;
        // The move must be legal before anything runs (the gate costs a simulation).
        next_status(from, req.action)?;
        match req.action {
            Action::Approve | Action::Reject => {
                return Err(CampaignsError::Conflict(
                    "Launches are approved or rejected on their approval: POST /v1/approvals/{id}/decision (GET /v1/approvals lists them).".into(),
                ));
            }
            Action::Hold if reason.is_none() => {
                return Err(CampaignsError::field(
                    "reason",
                    "Say why the campaign is held.",
                ));
            }
            Action::Submit => return self.submit(p, meta, row, reason).await,
            _ => {}
        }
        let mut tx = self.record.begin().await?;
        if matches!(req.action, Action::Launch | Action::Resume | Action::Retry)
            && let Some(ks) = store::kill_switch::engaged(&mut tx, org).await?
        {
            return Err(CampaignsError::Conflict(format!(
                "The kill switch {} holds this organisation's campaigns paused; release it first (POST /v1/kill-switch/release).",
                ks.id
            )));
        }
        if req.action == Action::Release
            && store::creatives::rejected_count(&mut tx, org, id).await? > 0
        {
            return Err(CampaignsError::Conflict(
                "A creative of this campaign is still rejected by the policy review; fix or remove it first.".into(),
            ));
        }
        if matches!(
            req.action,
            Action::Withdraw | Action::Revise | Action::Archive | Action::Hold
        ) {
            store::approvals::withdraw_pending(&mut tx, org, id, None, self.now()).await?;
        }
        self.apply_move(
            &mut tx,
            &row,
            Move {
                action: req.action,
                actor: p.actor(),
                reason: reason.as_deref(),
                automated: None,
                extras: Default::default(),
                meta: Some(meta),
            },
        )
        .await?;
        tx.commit().await?;
        self.view(&p.scope, id).await
    }

    /// Submission: the twin simulates the campaign's plan and gates it, then
    /// the campaign waits for approval with the verdict attached.
    async fn submit(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        row: CampaignRow,
        reason: Option<String>,
    ) -> Result<CampaignView> {
        let org = row.org();
        let draft = row.draft()?;
        let sets = store::campaigns::ad_sets(&self.db, org, row.id).await?;
        let ids: Vec<Uuid> = sets.iter().map(|s| s.id).collect();
        if ids.len() != draft.ad_sets.len() {
            return Err(CampaignsError::Internal(format!(
                "campaign {}: {} ad set rows for {} ad sets",
                row.id,
                ids.len(),
                draft.ad_sets.len()
            )));
        }
        let plan = gate_plan(&draft, &ids);
        // The same campaign gets the same simulation: the seed is its id.
        let seed = u64::from_be_bytes(row.id.as_bytes()[8..16].try_into().unwrap_or([0; 8]));
        let request = kiki_twin_service::domain::SimulationRequest {
            plan,
            options: kiki_twin::SimulationOptions {
                runs: self.config.gate_runs,
                seed,
                ..Default::default()
            },
            ltv: Vec::new(),
        };
        {
            // A rejected creative blocks submission (before the simulation runs).
            let mut tx = self.record.begin().await?;
            if store::creatives::rejected_count(&mut tx, org, row.id).await? > 0 {
                return Err(CampaignsError::Conflict(
                    "A creative of this campaign is rejected by the policy review; fix or remove it before submitting.".into(),
                ));
            }
            tx.rollback().await?;
        }
        // A cap in another currency could not be compared with the draft's
        // daily budget when it was saved: the approver is told.
        let unchecked_cap = self
            .settings_in(&p.scope)
            .await?
            .max_daily_budget
            .filter(|cap| cap.currency != draft.currency)
            .map(|cap| {
                format!(
                    "The organisation's cap of {} a day is in {}, the campaign is in {}, and there is no exchange rate to compare them, so its daily budget of {} was not checked against the cap.",
                    cap.text(),
                    cap.currency,
                    draft.currency,
                    draft.daily_budget.text()
                )
            });
        let (sim, _queued) = self.twin.create_simulation(p, meta, request).await?;
        let verdict = sim.gate.as_ref().map(|g| (g.approved, g.reason.clone()));
        let actor = p.actor();
        let by = actor_text(&actor);
        let approval = Uuid::now_v7();
        let now = self.now();
        let mut tx = self.record.begin().await?;
        self.apply_move(
            &mut tx,
            &row,
            Move {
                action: Action::Submit,
                actor: actor.clone(),
                reason: reason.as_deref(),
                automated: None,
                extras: store::campaigns::MoveExtras {
                    gate: Some((
                        sim.id,
                        verdict.as_ref().map(|v| v.0),
                        verdict.as_ref().map(|v| v.1.clone()),
                    )),
                    kill_switch: None,
                },
                meta: Some(meta),
            },
        )
        .await?;
        store::approvals::insert(
            &mut tx,
            store::approvals::NewApproval {
                id: approval,
                org,
                campaign: row.id,
                kind: ApprovalKind::Launch.as_str(),
                requested_by: &by,
                reason: reason.as_deref(),
                daily_budget_micros: Some(draft.daily_budget.micros),
                total_budget_micros: draft.total_budget.map(|m| m.micros),
                simulation: Some(sim.id),
                now,
            },
        )
        .await?;
        tx.audit(
            audit_event(org, actor, "campaigns.approval.requested", Some(meta))
                .target("approval", approval)
                .details(json!({
                    "campaign_id": row.id,
                    "kind": ApprovalKind::Launch,
                    "simulation_id": sim.id,
                    "gate_approved": verdict.as_ref().map(|v| v.0),
                    "unchecked": unchecked_cap,
                })),
        )
        .await?;
        if let Some(note) = &unchecked_cap {
            store::approvals::insert_comment(
                &mut tx,
                org,
                approval,
                &actor_text(&Actor::System("campaigns".into())),
                note,
                now,
            )
            .await?;
        }
        tx.publish(
            Some(org),
            &ApprovalRequested {
                approval_id: approval,
                campaign_id: row.id,
                kind: ApprovalKind::Launch.as_str().into(),
                requested_by: by.clone(),
            },
        );
        tx.commit().await?;
        let gate = match &verdict {
            Some((true, _)) => "The twin's launch gate approved the plan.".to_owned(),
            Some((false, reason)) => format!(
                "The twin's launch gate refused the plan; approving it overrides the gate. {reason}"
            ),
            None => "The twin's simulation is still running.".to_owned(),
        };
        self.notify_approvers(
            &p.scope,
            approval,
            &by,
            &format!(
                "the launch of the campaign \"{}\" at {} a day. {gate}{}",
                draft.name,
                draft.daily_budget.text(),
                unchecked_cap
                    .as_deref()
                    .map(|n| format!(" {n}"))
                    .unwrap_or_default()
            ),
        )
        .await;
        self.view(&p.scope, row.id).await
    }
}

pub(crate) fn changed_meanwhile() -> CampaignsError {
    CampaignsError::Conflict(
        "The campaign changed while this request ran; read it again and retry.".into(),
    )
}
