//! Seeding the demo through the services' public methods, as the demo user
//! (signed in like anyone else, so every change carries its audit entry and
//! the user's scope): nothing here writes another context's tables.
//!
//! 1. **The history** (the clock 90 days back): the demo agency and its two
//!    clients (the identity service's `create_demo`, unless they exist),
//!    each client's sandbox connections, and its live campaigns: created,
//!    creatives written by the built-in writer and reviewed, submitted to
//!    the twin's launch gate, approved, launched and deployed on the
//!    sandbox markets. The job queue is left idle before the clock moves.
//! 2. **Today** (the clock back to the wall clock): the performance sync of
//!    every connection (the sandbox delivers the 90 days since launch: daily
//!    metrics, the twin's history, the synthetic customers' orders as LTV
//!    transactions), the LTV fit, one campaign per client submitted and
//!    waiting for approval (gated on that history and model), the twin's
//!    mirror and one run of the rebalancer; then the `demo.seeded` audit
//!    entry on the agency, which makes a second start a no-op.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, anyhow, bail};
use kiki_campaigns::Action;
use kiki_campaigns_service::CampaignsService;
use kiki_campaigns_service::domain::{
    ActionRequest, ApprovalStatus, CampaignView, Decision, DecisionRequest, DeploymentStatus,
};
use kiki_core::{Currency, OrgId, PageRequest};
use kiki_identity::bootstrap::{DEMO_EMAIL, DEMO_PASSWORD};
use kiki_identity::{Identity, IdentityError, LoginRequest, Principal, RequestMeta};
use kiki_ltv_service::LtvService;
use kiki_platforms_service::PlatformsService;
use kiki_server::AppState;
use kiki_shield::{Actor, AuditEvent, AuditFilter};
use kiki_twin::{Industry, Platform};
use kiki_twin_service::TwinService;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::data::{CampaignSpec, Client, clients};
use super::{DemoClock, HISTORY_DAYS};

/// The audit action that marks the demo as seeded (on the agency's chain).
pub const SEEDED_ACTION: &str = "demo.seeded";
/// The demo agency the identity bootstrap creates.
const AGENCY: &str = "Demo Agency";

/// What a call to [`seed`] found or did.
#[derive(Debug, Clone)]
pub enum Seeded {
    /// The demo was seeded before (its `demo.seeded` entry is dated).
    Already { agency: OrgId, at: OffsetDateTime },
    /// Seeded now.
    Now(DemoReport),
}

/// What the seeding made.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DemoReport {
    pub agency: OrgId,
    pub clients: Vec<ClientReport>,
}

/// One client shop after seeding.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ClientReport {
    pub name: String,
    pub org: OrgId,
    pub platforms: Vec<Platform>,
    pub live_campaigns: Vec<Uuid>,
    /// The launch approval of the campaign submitted today.
    pub pending_approval: Uuid,
    pub metric_rows: i64,
    pub ltv_model_version: i64,
    pub mirror_reports: usize,
    pub rebalancing_shifts: usize,
}

/// The services the demo calls, from the application's registry.
struct Services {
    identity: Identity,
    platforms: Arc<PlatformsService>,
    campaigns: Arc<CampaignsService>,
    twin: Arc<TwinService>,
    ltv: Arc<LtvService>,
}

fn service<T: Send + Sync + 'static>(state: &AppState, module: &str) -> anyhow::Result<Arc<T>> {
    state.services.get::<T>().ok_or_else(|| {
        anyhow!("the demo needs the {module} module, which this server does not mount")
    })
}

impl Services {
    fn of(state: &AppState) -> anyhow::Result<Services> {
        Ok(Services {
            identity: state.identity.clone(),
            platforms: service(state, "platforms")?,
            campaigns: service(state, "campaigns")?,
            twin: service(state, "twin")?,
            ltv: service(state, "ltv")?,
        })
    }
}

/// The demo user, signed in, acting in the agency and in each client.
struct DemoUser {
    agency: Principal,
    /// `(client name, principal acting in it)`.
    clients: Vec<(String, Principal)>,
}

impl DemoUser {
    fn client(&self, name: &str) -> anyhow::Result<&Principal> {
        self.clients
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p)
            .ok_or_else(|| {
                anyhow!("the demo agency has no client named {name}; run `kiki demo reset`")
            })
    }
}

/// Moves the clock back to the wall clock when dropped, so an error half-way
/// through the history never leaves the server in the past.
struct InThePast<'a>(&'a DemoClock);

impl<'a> InThePast<'a> {
    fn go(clock: &'a DemoClock) -> InThePast<'a> {
        clock.set_offset(-Duration::days(HISTORY_DAYS));
        InThePast(clock)
    }
}

impl Drop for InThePast<'_> {
    fn drop(&mut self) {
        self.0.set_offset(Duration::ZERO);
    }
}

/// Seeds the demo once: a no-op when the agency carries the `demo.seeded`
/// entry. `clock` must be the application's clock.
pub async fn seed(state: &AppState, clock: &DemoClock) -> anyhow::Result<Seeded> {
    if state.config.is_production() {
        bail!("{}", super::PRODUCTION_REFUSAL);
    }
    let s = Services::of(state)?;
    let meta = RequestMeta {
        ip: None,
        user_agent: Some(format!("kiki {} demo", kiki_server::VERSION)),
        request_id: None,
    };
    if s.identity.user_count().await? > 0
        && let Some(user) = sign_in(&s.identity, &meta).await?
        && let Some(at) = seeded_at(state, &user.agency).await?
    {
        return Ok(Seeded::Already {
            agency: user.agency.org_id(),
            at,
        });
    }
    // The accelerated market is anchored at the wall clock before the
    // history is written in the past, where it runs on the calendar.
    s.platforms.anchor_market().await;
    let user = {
        let past = InThePast::go(clock);
        let t = Instant::now();
        let user = history(state, &s, &meta).await?;
        step("history", t);
        let t = Instant::now();
        wait_for_idle_jobs(state, &user).await?;
        step("launch jobs", t);
        drop(past);
        user
    };
    let report = today(state, &s, &meta, &user).await?;
    let recorder = state.recorder();
    let mut tx = recorder.begin().await?;
    tx.audit(
        AuditEvent::new(
            Some(user.agency.org_id()),
            Actor::System("demo".into()),
            SEEDED_ACTION,
        )
        .target("organisation", user.agency.org_id().0)
        .details(json!({ "history_days": HISTORY_DAYS, "clients": report.clients })),
    )
    .await?;
    tx.commit().await?;
    Ok(Seeded::Now(report))
}

/// Logs how long a step of the seeding took.
fn step(name: &str, started: Instant) {
    tracing::info!(
        demo.step = name,
        duration_ms = started.elapsed().as_millis() as u64,
        "demo seeding"
    );
}

/// Signs the demo user in; `None` when the demo user does not exist (or its
/// password was changed).
async fn sign_in(identity: &Identity, meta: &RequestMeta) -> anyhow::Result<Option<DemoUser>> {
    let req = LoginRequest {
        identifier: DEMO_EMAIL.into(),
        password: DEMO_PASSWORD.into(),
        otp: None,
        org: None,
    };
    let tokens = match identity.login_token(meta, &req).await {
        Ok(t) => t,
        Err(IdentityError::Unauthenticated(_)) => return Ok(None),
        Err(e) => return Err(e).context("signing the demo user in"),
    };
    let me = identity
        .authenticate_bearer(&tokens.access_token, None)
        .await?;
    let user = me
        .user_id()
        .ok_or_else(|| anyhow!("the demo sign-in is not a user's"))?;
    let orgs = identity.reachable_orgs(user).await?;
    let agency = orgs
        .iter()
        .find(|o| !o.via_agency && o.org.name == AGENCY)
        .ok_or_else(|| {
            anyhow!("{DEMO_EMAIL} is not a member of {AGENCY}; run `kiki demo reset`")
        })?;
    let acting = |org: OrgId| identity.authenticate_bearer(&tokens.access_token, Some(org));
    let mut clients = Vec::new();
    for o in orgs
        .iter()
        .filter(|o| o.via_agency && o.org.parent_id == Some(agency.org.id))
    {
        clients.push((o.org.name.clone(), acting(o.org.id).await?));
    }
    Ok(Some(DemoUser {
        agency: acting(agency.org.id).await?,
        clients,
    }))
}

/// When the demo was seeded, from the agency's audit log.
async fn seeded_at(state: &AppState, agency: &Principal) -> anyhow::Result<Option<OffsetDateTime>> {
    let filter = AuditFilter {
        action: Some(SEEDED_ACTION.into()),
        ..AuditFilter::default()
    };
    let page = PageRequest {
        limit: Some(1),
        cursor: None,
    };
    let found = state.audit.list(&agency.scope, &filter, &page).await?;
    Ok(found.items.first().map(|e| e.occurred_at))
}

/// The first part, on the clock 90 days back: the organisations, the
/// connections and the live campaigns.
async fn history(state: &AppState, s: &Services, meta: &RequestMeta) -> anyhow::Result<DemoUser> {
    match s.identity.create_demo().await {
        Ok(_) | Err(IdentityError::Conflict(_)) => {}
        Err(e) => return Err(e).context("creating the demo agency"),
    }
    let user = sign_in(&s.identity, meta).await?.ok_or_else(|| {
        anyhow!("{DEMO_EMAIL} no longer signs in with the demo password; run `kiki demo reset`")
    })?;
    if seeded_at(state, &user.agency).await?.is_some() {
        bail!("the demo was seeded while this one started; start again");
    }
    let start = state.clock.now().date();
    for client in clients() {
        let p = user.client(client.name)?;
        let existing = s
            .campaigns
            .list(&p.scope, None, &PageRequest::default())
            .await?;
        if !existing.items.is_empty() {
            bail!(
                "{} already has campaigns but the demo was never completed (an earlier start stopped part-way); run `kiki demo reset`",
                client.name
            );
        }
        for platform in client.platforms {
            s.platforms
                .connect_sandbox(
                    &p.scope,
                    p.actor(),
                    Some(meta),
                    *platform,
                    Industry::Ecommerce,
                    Currency::USD,
                )
                .await
                .with_context(|| format!("connecting {} to {platform}", client.name))?;
        }
        for spec in client.live {
            let t = Instant::now();
            let c = prepare(s, meta, &client, spec, p, start).await?;
            step("gated campaign", t);
            let t = Instant::now();
            launch(s, meta, p, c).await?;
            step("launched campaign", t);
        }
    }
    Ok(user)
}

/// A campaign created with its creatives and submitted to the launch gate.
async fn prepare(
    s: &Services,
    meta: &RequestMeta,
    client: &Client,
    spec: &CampaignSpec,
    p: &Principal,
    start: time::Date,
) -> anyhow::Result<CampaignView> {
    let draft = serde_json::from_value(spec.draft(client, start))?;
    let c = s
        .campaigns
        .create(p, meta, draft)
        .await
        .with_context(|| format!("creating {}", spec.name))?;
    for channel in spec.channels() {
        let req = serde_json::from_value(spec.generate(client, c.id, channel))?;
        s.campaigns
            .generate(p, meta, req)
            .await
            .with_context(|| format!("writing {channel} creatives for {}", spec.name))?;
    }
    let submit = ActionRequest {
        action: Action::Submit,
        reason: None,
    };
    s.campaigns
        .act(p, meta, c.id, submit)
        .await
        .with_context(|| format!("submitting {}", spec.name))
}

/// The campaign's pending launch approval.
async fn pending_approval(
    s: &Services,
    p: &Principal,
    campaign: Uuid,
) -> anyhow::Result<kiki_campaigns_service::domain::ApprovalView> {
    s.campaigns
        .approvals(
            &p.scope,
            Some(ApprovalStatus::Pending),
            Some(campaign),
            &PageRequest::default(),
        )
        .await?
        .items
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("campaign {campaign} has no pending approval"))
}

/// Approves, launches and deploys a submitted campaign. When the twin's
/// gate refused it (no history yet: industry priors only), the approval
/// overrides the gate with the reason a person would give.
async fn launch(
    s: &Services,
    meta: &RequestMeta,
    p: &Principal,
    c: CampaignView,
) -> anyhow::Result<()> {
    let approval = pending_approval(s, p, c.id).await?;
    let gate_approved = c.gate.as_ref().and_then(|g| g.approved) == Some(true);
    let decision = DecisionRequest {
        decision: Decision::Approve,
        comment: Some("Approved for the first flight.".into()),
        override_reason: (!gate_approved).then(|| {
            "No history yet: the gate ran on industry priors alone. Launching to learn; the mirror and the rebalancer watch it.".to_owned()
        }),
    };
    s.campaigns
        .decide(p, meta, approval.id, decision)
        .await
        .with_context(|| format!("approving {}", c.draft.name))?;
    let launch = ActionRequest {
        action: Action::Launch,
        reason: None,
    };
    s.campaigns
        .act(p, meta, c.id, launch)
        .await
        .with_context(|| format!("launching {}", c.draft.name))?;
    // Deployed now (unless the queued job got there first), so the ad
    // sets' first live day is the launch day.
    s.campaigns.sync_channels(&p.scope, c.id).await?;
    let now = s
        .campaigns
        .get(&p.scope, c.id)
        .await?
        .ok_or_else(|| anyhow!("campaign {} vanished", c.id))?;
    let problems: Vec<String> = now
        .ad_sets
        .iter()
        .filter(|a| a.deployment.status != DeploymentStatus::Live)
        .map(|a| {
            format!(
                "{} is {}: {}",
                a.name,
                a.deployment.status.as_str(),
                a.deployment
                    .last_error
                    .as_deref()
                    .unwrap_or("no reason given")
            )
        })
        .collect();
    if now.status != kiki_campaigns::CampaignStatus::Active || !problems.is_empty() {
        bail!(
            "{} did not go live on its platforms ({}): {}",
            c.draft.name,
            now.status.as_str(),
            problems.join("; ")
        );
    }
    Ok(())
}

/// Fits the client's LTV model on the synthetic customers' orders: the
/// modified BG/NBD first — on 90 days of these customers the plain BG/NBD's
/// dropout parameters run to the boundary (a, b → 0), where its fit takes
/// seconds or cannot be evaluated, while the modified model fits the same
/// data in milliseconds — and the Pareto/NBD when the data refuses it.
async fn fit_ltv(s: &Services, p: &Principal) -> anyhow::Result<kiki_ltv_service::LtvModelView> {
    use kiki_ltv_service::domain::ModelChoice;
    let mut refused = None;
    for model in [ModelChoice::Mbgnbd, ModelChoice::Pareto] {
        let spec = kiki_ltv_service::FitRequest {
            model: Some(model),
            currency: Some("USD".into()),
            ..Default::default()
        }
        .validate(s.ltv.config())?;
        let actor = p.actor();
        let payload = kiki_ltv_service::service::FitPayload {
            spec,
            created_by: kiki_ltv_service::service::created_by(&actor),
            actor,
            request_id: None,
        };
        match s
            .ltv
            .run_fit(
                &p.scope,
                &payload,
                None,
                &kiki_ltv_service::service::NoProgress,
            )
            .await
        {
            Ok(m) => return Ok(m),
            Err(e) if !kiki_core::DomainError::is_internal(&e) => {
                tracing::warn!(error = %e, ?model, "demo: LTV model refused the data");
                refused = Some(e);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(refused.map_or_else(|| anyhow!("no LTV model fitted"), anyhow::Error::from))
}

/// Waits until no job of the demo's organisations is running or due, so no
/// job straddles the clock's move back to the present. The bound is a hang
/// guard, not a timing target.
async fn wait_for_idle_jobs(state: &AppState, user: &DemoUser) -> anyhow::Result<()> {
    use kiki_store::JobStatus;
    let page = PageRequest {
        limit: Some(100),
        cursor: None,
    };
    for _ in 0..1200 {
        let now = state.clock.now();
        let mut busy = 0;
        for (_, p) in &user.clients {
            for status in [JobStatus::Running, JobStatus::Queued] {
                let jobs = state
                    .jobs
                    .list_scoped(&p.scope, Some(status), &page)
                    .await?;
                busy += jobs
                    .items
                    .iter()
                    .filter(|j| j.status == JobStatus::Running || j.run_at <= now)
                    .count();
            }
        }
        if busy == 0 {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    bail!("the demo's launch jobs did not finish within a minute")
}

/// The second part, on the wall clock: the 90 days synced, the LTV model,
/// the pending campaign, the mirror and the rebalancer.
async fn today(
    state: &AppState,
    s: &Services,
    meta: &RequestMeta,
    user: &DemoUser,
) -> anyhow::Result<DemoReport> {
    let now = state.clock.now();
    let mut reports = Vec::new();
    for client in clients() {
        let p = user.client(client.name)?;
        let mut metric_rows = 0;
        let t = Instant::now();
        for platform in client.platforms {
            let run = s
                .platforms
                .sync_platform(&p.scope, *platform, "manual")
                .await
                .with_context(|| format!("syncing {} on {platform}", client.name))?;
            if let Some(e) = run.error {
                bail!("the sync of {} on {platform} failed: {e}", client.name);
            }
            metric_rows += run.rows_upserted;
        }
        step("sync", t);
        let t = Instant::now();
        let model = fit_ltv(s, p)
            .await
            .with_context(|| format!("fitting the LTV model of {}", client.name))?;
        step("ltv fit", t);
        let t = Instant::now();
        let pending = prepare(s, meta, &client, &client.pending, p, now.date()).await?;
        let (channel, copy) = &client.flagged_copy;
        let own = serde_json::from_value(json!({
            "campaign_id": pending.id, "channel": channel, "copy": copy,
        }))?;
        s.campaigns
            .create_creative(p, meta, own)
            .await
            .with_context(|| format!("adding a person's creative to {}", client.pending.name))?;
        let approval = pending_approval(s, p, pending.id).await?;
        step("pending campaign", t);
        reports.push(ClientReport {
            name: client.name.to_owned(),
            org: p.org_id(),
            platforms: client.platforms.to_vec(),
            live_campaigns: Vec::new(),
            pending_approval: approval.id,
            metric_rows,
            ltv_model_version: model.version,
            mirror_reports: 0,
            rebalancing_shifts: 0,
        });
    }
    let t = Instant::now();
    let mirrored = s.twin.mirror_all(now.date()).await?;
    step("mirror", t);
    let t = Instant::now();
    for r in &mut reports {
        let p = user.client(&r.name)?;
        r.mirror_reports = mirrored
            .iter()
            .filter(|m| m.org_id == r.org.0 && m.stored)
            .count();
        r.live_campaigns = s
            .campaigns
            .list(
                &p.scope,
                Some(kiki_campaigns::CampaignStatus::Active),
                &PageRequest::default(),
            )
            .await?
            .items
            .into_iter()
            .map(|c| c.id)
            .collect();
        // A period of its own (to the millisecond): the scheduled runs
        // claim five-minute periods on the whole second. Should the
        // scheduled run have rebalanced first all the same, its shifts are
        // the demo's: what is counted is what the organisation has.
        let millis = now.millisecond().max(1);
        let period = now.replace_millisecond(millis).unwrap_or(now);
        s.twin.rebalance_org(&p.scope, period).await?;
        r.rebalancing_shifts = s
            .twin
            .list_shifts(&p.scope, None, &PageRequest::default())
            .await?
            .items
            .len();
    }
    step("rebalance", t);
    Ok(DemoReport {
        agency: user.agency.org_id(),
        clients: reports,
    })
}
