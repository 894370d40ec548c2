//! The campaigns service's request and response types, and the pure rules
//! the service applies: an ad set's daily budget from its share, the twin
//! platform an ad channel is simulated as, and a plan for the launch gate.

use kiki_campaigns::{Action, CampaignDraft, CampaignStatus};
use kiki_core::Money;
use kiki_creative::{AdCopy, Channel, PolicyReport, PolicyRules, Verdict};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A stored campaign.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CampaignView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub status: CampaignStatus,
    /// The moves allowed from this status (the next buttons to show).
    pub allowed_actions: Vec<Action>,
    /// The campaign as written (name, goal, money, schedule, ad sets).
    pub draft: CampaignDraft,
    /// The stored ad sets, in the draft's order, with their ids and daily
    /// budgets.
    pub ad_sets: Vec<AdSetView>,
    /// The launch gate's verdict on the last submission.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateView>,
    /// The kill switch that paused the campaign, while it holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kill_switch_id: Option<Uuid>,
    /// The customer value its bids and CPA ceiling start from, and where it
    /// comes from.
    pub ltv_baseline: LtvBaseline,
    /// Its creatives' policy review, summed up.
    pub brand_safety: BrandSafety,
    /// Grows with every change.
    pub version: i64,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// A campaign's LTV baseline: the organisation's fitted model in the
/// campaign's currency, else the industry prior (said so).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LtvBaseline {
    pub value: Money,
    /// Where it comes from, in words.
    pub source: String,
}

/// The brand-safety and compliance state of a campaign's creatives:
/// `rejected` when any is rejected (the campaign is held), `needs_review`
/// when any waits for a person, `approved` when all passed, `no_creatives`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BrandSafety {
    #[schema(pattern = "^(approved|needs_review|rejected|no_creatives)$")]
    pub status: String,
    pub approved: u32,
    pub needs_review: u32,
    pub rejected: u32,
}

impl BrandSafety {
    /// The summary of verdict counts.
    pub fn of(approved: u32, needs_review: u32, rejected: u32) -> BrandSafety {
        let status = if rejected > 0 {
            "rejected"
        } else if needs_review > 0 {
            "needs_review"
        } else if approved > 0 {
            "approved"
        } else {
            "no_creatives"
        };
        BrandSafety {
            status: status.into(),
            approved,
            needs_review,
            rejected,
        }
    }
}

/// One stored ad set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdSetView {
    pub id: Uuid,
    /// Its place in the draft's `ad_sets` (0-based).
    pub position: u32,
    pub name: String,
    pub channel: Channel,
    pub budget_share_bps: u32,
    /// The campaign's daily budget × the share, rounded down to a micro.
    pub daily_budget: Money,
    /// The bidder line item of a KIKI programmatic ad set, once created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_item_id: Option<Uuid>,
    /// Where the ad set runs on its channel.
    pub deployment: DeploymentView,
}

kiki_core::string_enum! {
    /// An ad set on its channel.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum DeploymentStatus {
        /// Nothing was created on the channel yet (the campaign is not live).
        NotDeployed = "not_deployed",
        /// Running on the channel.
        Live = "live",
        /// Created on the channel and paused there.
        Paused = "paused",
        /// Ended on the channel (the campaign completed or was archived).
        Archived = "archived",
        /// The channel refused it; `last_error` says why.
        Failed = "failed",
        /// The channel is not connected to this organisation, so nothing runs there.
        NotConnected = "not_connected",
    }
}

/// An ad set's deployment: its id on the channel, the state there, the last
/// sync and what went wrong or could not be applied.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeploymentView {
    pub status: DeploymentStatus,
    /// Its id on the channel (the bidder line item for KIKI programmatic).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_synced_at: Option<OffsetDateTime>,
    /// Why the channel refused the last sync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// What the channel cannot apply of the ad set (targeting it lacks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The launch gate on a campaign: the twin's simulation of its plan and
/// the verdict.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GateView {
    /// The simulation (`GET /v1/simulations/{id}`).
    pub simulation_id: Uuid,
    /// The gate's verdict; absent while a large simulation still runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved: Option<bool>,
    /// The gate's reason in a sentence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /v1/campaigns/{id}/actions`: a status move.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "pause", "reason": "Stock runs out on Friday."}))]
pub struct ActionRequest {
    /// The move. `approve` and `reject` are decided on the approval
    /// (`POST /v1/approvals/{id}/decision`); `hold` needs a reason.
    pub action: Action,
    /// Why (required for `hold`), up to 2,000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// `POST /v1/campaigns/{id}/mix`: split the daily budget over the ad sets by
/// the allocator.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Rebalance on last month's results."}))]
pub struct MixRequest {
    /// Why, up to 2,000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

kiki_server::request_schema!(pub ActionRequestSchema for ActionRequest, serde_json::json!({
    "if": {"properties": {"action": {"const": "hold"}}, "required": ["action"]},
    "then": {"required": ["reason"], "properties": {"reason": {"type": "string", "pattern": "\\S"}}}
}));

/// One status move of a campaign.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TransitionView {
    pub id: Uuid,
    pub action: Action,
    pub from: CampaignStatus,
    pub to: CampaignStatus,
    /// Who moved it (`user:<id>`, `api_key:<id>`, `engine`).
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// True when a rule moved it.
    pub automated: bool,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

kiki_core::string_enum! {
    /// What an approval is for.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ApprovalKind {
        /// Launching a submitted campaign.
        Launch = "launch",
        /// Raising a campaign's budget by more than the threshold.
        BudgetIncrease = "budget_increase",
    }
}

kiki_core::string_enum! {
    /// Where an approval stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ApprovalStatus {
        Pending = "pending",
        Approved = "approved",
        Rejected = "rejected",
        /// The campaign was withdrawn, revised or archived before a decision.
        Withdrawn = "withdrawn",
    }
}

/// An approval request with its comments.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApprovalView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub campaign_id: Uuid,
    /// The campaign's name, for the queue.
    pub campaign_name: String,
    pub kind: ApprovalKind,
    pub status: ApprovalStatus,
    pub requested_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The daily budget asked for (a budget raise), or the campaign's (a launch).
    pub daily_budget: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_budget: Option<Money>,
    /// The launch gate on a launch approval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<GateView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision_comment: Option<String>,
    pub comments: Vec<CommentView>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

/// A comment on an approval.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommentView {
    pub id: Uuid,
    pub author: String,
    pub body: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
}

/// Approve or reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ApprovalDecision)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

/// `POST /v1/approvals/{id}/decision`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = ApprovalDecisionRequest)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "approve", "comment": "Budget agreed with finance."}))]
pub struct DecisionRequest {
    pub decision: Decision,
    /// Shown on the approval, up to 2,000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
    /// Approving a launch the twin's gate refused overrides the gate: say
    /// why (required then, up to 2,000 characters).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub override_reason: Option<String>,
}

/// `POST /v1/approvals/{id}/comments`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Can we start with half the budget?"}))]
pub struct CommentRequest {
    /// 1 to 2,000 characters, not only spaces.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub body: String,
}

/// `POST /v1/campaigns/{id}/budget`: a new daily (and total) budget.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"daily_budget": {"micros": 250000000, "currency": "USD"}, "reason": "Sell-out risk is low."}))]
pub struct BudgetRequest {
    /// More than zero, in the campaign's currency.
    #[schema(value_type = kiki_core::money::PositiveMoney)]
    pub daily_budget: Money,
    /// When given: more than zero, at least one day of the daily budget.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::money::PositiveMoney>)]
    pub total_budget: Option<Money>,
    /// Why, up to 2,000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// What a budget change did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BudgetChangeView {
    /// True when the budget changed now; false when it waits for approval.
    pub applied: bool,
    pub campaign: CampaignView,
    /// The approval it waits for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalView>,
}

/// The organisation's campaign settings (`GET`/`PUT /v1/campaign-settings`).
/// The threshold and the cap are amounts in one currency (any; the
/// organisation's reporting currency until it saves its own). A campaign in
/// another currency cannot be compared with them without an exchange rate:
/// every budget raise of it waits for approval, and the approval says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"approval_threshold": {"amount": "100.00", "currency": "USD"}, "four_eyes": true, "max_daily_budget": {"micros": 5000000000u64, "currency": "USD"}, "policy": {"prohibited_words": ["cheap"], "required_disclaimers": [], "brand_keywords": ["Lumière"], "competitor_names": [], "allowed_terms": []}}))]
pub struct CampaignSettings {
    /// A budget raise of more than this per day waits for approval; zero:
    /// every raise does. Default: the `[campaigns]` threshold in the
    /// organisation's reporting currency.
    #[schema(value_type = kiki_core::money::NonNegativeMoney)]
    pub approval_threshold: Money,
    /// The approver must be another person than the requester.
    #[serde(default)]
    pub four_eyes: bool,
    /// The largest daily budget a campaign may have (none: no cap), in the
    /// threshold's currency.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::money::PositiveMoney>)]
    pub max_daily_budget: Option<Money>,
    /// The organisation's own ad-policy rules.
    #[serde(default)]
    pub policy: PolicyRules,
}

/// The kill switch: engage.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Checkout is down.", "scope": "organisation"}))]
pub struct KillSwitchRequest {
    /// Why, 1 to 2,000 characters, not only spaces.
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub reason: String,
    /// `organisation` (the active one) or `clients` (the active organisation
    /// and every client organisation the caller reaches).
    #[serde(default)]
    pub scope: KillScope,
}

/// What a kill switch covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KillScope {
    #[default]
    Organisation,
    Clients,
}

/// The kill switch: release.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// Why, up to 2,000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// What a kill switch did on one ad channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChannelOutcome {
    pub channel: Channel,
    /// Ad sets on the channel that it paused (or resumed).
    pub ad_sets: u32,
    /// What happened there, in a sentence.
    pub outcome: String,
}

/// A kill switch and what it did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KillSwitchView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub reason: String,
    /// The organisations it covers.
    pub orgs: Vec<Uuid>,
    /// The campaigns it paused.
    pub paused: Vec<Uuid>,
    /// Per channel, what pausing did.
    pub channels: Vec<ChannelOutcome>,
    pub engaged_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub engaged_at: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_by: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub released_at: Option<OffsetDateTime>,
    /// The campaigns resumed on release (those still paused by it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed: Option<Vec<Uuid>>,
}

/// The organisation's kill switch state.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KillSwitchState {
    /// True while a kill switch holds campaigns paused.
    pub engaged: bool,
    /// The switch that holds them, or the last one released.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<KillSwitchView>,
}

kiki_core::string_enum! {
    /// Who wrote a creative.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum CreativeSource {
        /// The built-in template engine.
        Template = "template",
        /// A language model through the LLM port.
        Llm = "llm",
        /// A person (bring your own copy or media).
        User = "user",
    }
}

/// A stored creative with its review.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreativeView {
    pub id: Uuid,
    pub org_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<Uuid>,
    pub channel: Channel,
    pub source: CreativeSource,
    /// Its variation number among those generated together (1-based; 0 for
    /// one written by a person).
    pub variation: u32,
    pub copy: AdCopy,
    /// The image prompt (generated creatives).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<kiki_creative::ImagePrompt>,
    /// The video prompt (generated creatives).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<kiki_creative::VideoPrompt>,
    /// An image or video the person supplied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_url: Option<String>,
    pub verdict: Verdict,
    /// The policy review and copy-limit findings.
    pub review: CreativeReview,
    /// A person's rating, 1 to 5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// The review of one creative: ad policy and brand safety, and the
/// platform's copy limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreativeReview {
    /// The worst of the policy verdict and the limits (an over-long field
    /// rejects).
    pub verdict: Verdict,
    pub policy: PolicyReport,
    pub limits: Vec<kiki_creative::LimitProblem>,
}

/// `POST /v1/creatives`: a creative a person wrote.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"channel": "meta", "copy": {"headlines": ["Lumière serum"], "descriptions": ["Light, daily, made in Lyon."], "primary_text": "Meet the serum our customers reorder."}}))]
pub struct NewCreative {
    /// The campaign it belongs to (optional: a library creative).
    #[serde(default)]
    pub campaign_id: Option<Uuid>,
    pub channel: Channel,
    pub copy: AdCopy,
    /// An http(s) address of the image or video, up to 2,048 characters.
    #[serde(default)]
    #[schema(max_length = 2048, pattern = r"^https?://[^\s/?#]+([/?#]\S*)?$")]
    pub media_url: Option<String>,
}

/// `PUT /v1/creatives/{id}`: new copy (reviewed again).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreativeUpdate {
    pub copy: AdCopy,
    /// An http(s) address of the image or video, up to 2,048 characters.
    #[serde(default)]
    #[schema(max_length = 2048, pattern = r"^https?://[^\s/?#]+([/?#]\S*)?$")]
    pub media_url: Option<String>,
}

/// `POST /v1/creatives/generate`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    /// The campaign the variants belong to (optional).
    #[serde(default)]
    pub campaign_id: Option<Uuid>,
    pub brief: kiki_creative::CreativeBrief,
    pub channel: Channel,
    /// How many variants, 1 to `campaigns.max_variants` (default 3).
    #[serde(default = "three")]
    #[schema(minimum = 1, maximum = 20)]
    pub count: u32,
}

fn three() -> u32 {
    3
}

/// `POST /v1/creatives/{id}/rating`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// 1 (poor) to 5 (excellent).
    #[schema(minimum = 1, maximum = 5)]
    pub stars: u8,
}

/// `POST /v1/creatives/{id}/image`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImageRequest {
    /// `1024x1024` (default), `1024x1536` or `1536x1024`.
    #[serde(default)]
    pub size: Option<ImageSize>,
}

/// The sizes the images endpoint is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum ImageSize {
    #[serde(rename = "1024x1024")]
    Square,
    #[serde(rename = "1024x1536")]
    Portrait,
    #[serde(rename = "1536x1024")]
    Landscape,
}

impl ImageSize {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageSize::Square => "1024x1024",
            ImageSize::Portrait => "1024x1536",
            ImageSize::Landscape => "1536x1024",
        }
    }
}

/// `POST /v1/creatives/review`: check copy without storing it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    pub channel: Channel,
    pub copy: AdCopy,
}

/// An ad channel's wire name (`meta`, `kiki`, …), as stored.
pub fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Meta => "meta",
        Channel::Google => "google",
        Channel::Tiktok => "tiktok",
        Channel::Linkedin => "linkedin",
        Channel::Snapchat => "snapchat",
        Channel::Pinterest => "pinterest",
        Channel::X => "x",
        Channel::Kiki => "kiki",
    }
}

/// The channel of a stored wire name.
pub fn channel_of(name: &str) -> Option<Channel> {
    Channel::ALL.into_iter().find(|c| channel_name(*c) == name)
}

/// The twin platform an ad channel is simulated as.
pub fn twin_platform(channel: Channel) -> kiki_twin::Platform {
    use kiki_twin::Platform as P;
    match channel {
        Channel::Meta => P::Meta,
        Channel::Google => P::Google,
        Channel::Tiktok => P::Tiktok,
        Channel::Linkedin => P::Linkedin,
        Channel::Snapchat => P::Snapchat,
        Channel::Pinterest => P::Pinterest,
        Channel::X => P::X,
        Channel::Kiki => P::Kiki,
    }
}

/// The daily budget of an ad set: the campaign's × its share, rounded down
/// to a micro.
pub fn ad_set_budget(daily: Money, share_bps: u32) -> Money {
    let micros = i128::from(daily.micros) * i128::from(share_bps) / 10_000;
    Money::from_micros(micros as i64, daily.currency)
}

/// How many days a schedule runs: its end (inclusive) or, when open-ended,
/// `open_days`; capped to the twin's longest plan.
pub fn schedule_days(draft: &CampaignDraft, open_days: u32) -> u32 {
    let days = match draft.schedule.end {
        Some(end) => (end - draft.schedule.start).whole_days() + 1,
        None => i64::from(open_days),
    };
    days.clamp(1, i64::from(kiki_twin::plan::MAX_DURATION_DAYS)) as u32
}

/// The twin plan of a campaign: one line per ad set at its daily budget,
/// over its schedule, with its target and caps. The baseline (revenue and
/// spend without the campaign) is zero: the gate measures what the campaign
/// adds on top of what the business does today.
pub fn gate_plan(draft: &CampaignDraft, ad_set_ids: &[Uuid]) -> kiki_twin::Plan {
    let allocations = draft
        .ad_sets
        .iter()
        .zip(ad_set_ids)
        .map(|(a, id)| kiki_twin::PlanAllocation {
            platform: twin_platform(a.channel).as_str().to_owned(),
            ad_set_id: Some(id.to_string()),
            daily_budget: ad_set_budget(draft.daily_budget, a.budget_share_bps),
        })
        .collect();
    kiki_twin::Plan {
        currency: draft.currency,
        allocations,
        duration_days: schedule_days(draft, 30),
        start_date: Some(draft.schedule.start),
        target_roas: draft.target_roi,
        max_cpa: draft.max_cpa,
        baseline_revenue: None,
        baseline_ad_spend: None,
        organic_revenue: Some(kiki_core::Money::zero(draft.currency)),
        budget_cap: draft.total_budget,
    }
}

/// The review of a creative's copy on a channel under the organisation's
/// rules: the policy verdict, made a rejection when a field is over the
/// platform's limit.
pub fn review_copy(channel: Channel, copy: &AdCopy, rules: &PolicyRules) -> CreativeReview {
    let policy = kiki_creative::review(copy, channel, rules);
    let limits = kiki_creative::check_limits(channel, copy);
    let verdict = if limits.is_empty() {
        policy.verdict
    } else {
        Verdict::Rejected
    };
    CreativeReview {
        verdict,
        policy,
        limits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_campaigns::model::{BidStrategy, Targeting};
    use kiki_campaigns::{AdSet, AssetSource, CampaignKind, Schedule};
    use time::macros::date;

    fn draft(end: Option<time::Date>) -> CampaignDraft {
        let usd = kiki_core::Currency::USD;
        CampaignDraft {
            name: "Spring".into(),
            objective: "Sell the serum".into(),
            kind: CampaignKind::Shopping,
            landing_url: "https://shop.example/serum".into(),
            brand_name: "Lumière".into(),
            industry: "ecommerce".into(),
            currency: usd,
            daily_budget: Money::from_micros(1_000_000_001, usd),
            total_budget: None,
            schedule: Schedule {
                start: date!(2026 - 12 - 01),
                end,
                time_zone: "UTC".into(),
            },
            target_roi: Some(3.0),
            max_cpa: None,
            asset_source: AssetSource::Generated,
            ad_sets: vec![
                AdSet {
                    name: "Meta".into(),
                    channel: Channel::Meta,
                    targeting: Targeting::default(),
                    budget_share_bps: 6_667,
                    bid_strategy: BidStrategy::LowestCost,
                    bid_cap: None,
                },
                AdSet {
                    name: "KIKI".into(),
                    channel: Channel::Kiki,
                    targeting: Targeting::default(),
                    budget_share_bps: 3_333,
                    bid_strategy: BidStrategy::ValueBased,
                    bid_cap: None,
                },
            ],
        }
    }

    #[test]
    fn ad_set_budgets_round_down_and_never_exceed_the_campaign() {
        let d = draft(None);
        let a = ad_set_budget(d.daily_budget, 6_667).micros;
        let b = ad_set_budget(d.daily_budget, 3_333).micros;
        assert_eq!(a, 666_700_000);
        assert_eq!(b, 333_300_000);
        assert!(a + b <= d.daily_budget.micros);
    }

    #[test]
    fn the_gate_plan_follows_the_schedule_and_the_ad_sets() {
        let d = draft(Some(date!(2026 - 12 - 31)));
        let ids = [Uuid::nil(), Uuid::max()];
        let plan = gate_plan(&d, &ids);
        assert_eq!(plan.duration_days, 31);
        assert_eq!(plan.allocations.len(), 2);
        assert_eq!(plan.allocations[1].platform, "kiki");
        assert_eq!(
            plan.allocations[0].ad_set_id.as_deref(),
            Some(&*Uuid::nil().to_string())
        );
        assert!(plan.validate().is_empty(), "{:?}", plan.validate());
        assert_eq!(schedule_days(&draft(None), 30), 30);
        assert_eq!(
            schedule_days(&draft(Some(date!(2029 - 01 - 01))), 30),
            kiki_twin::plan::MAX_DURATION_DAYS
        );
    }

    #[test]
    fn every_channel_has_a_twin_platform_and_its_serde_name() {
        for c in Channel::ALL {
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::Value::String(channel_name(c).into())
            );
            assert_eq!(channel_of(channel_name(c)), Some(c));
            let p = twin_platform(c);
            assert_eq!(kiki_twin::Platform::parse(p.as_str()), Some(p));
        }
    }
}

/// `PUT /v1/campaign-settings/llm`: the organisation's own OpenAI-compatible
/// model for the planner and the creatives (it wins over the server's).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "base_url": "https://api.openai.com/v1",
    "model": "gpt-4o-mini",
    "api_key": "sk-…",
    "json_mode": true
}))]
pub struct LlmSettingsRequest {
    /// The API root: http or https, a host name of dotted labels (or
    /// `localhost`), an optional port up to 65535, an optional path; no credentials in
    /// it. The host must resolve to public addresses (unless the deployment
    /// allows private ones).
    #[schema(
        max_length = 2048,
        pattern = r"^https?://(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?(/\S*)?$"
    )]
    pub base_url: String,
    /// 1 to 200 characters, not only spaces.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub model: String,
    /// Sent as a bearer token; stored encrypted, never shown again. Absent:
    /// the stored key stays (none for a model without keys).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 500, pattern = r"^\S+$")]
    pub api_key: Option<String>,
    /// Ask for `response_format: json_object` (off for servers without it).
    #[serde(default = "json_mode_default")]
    pub json_mode: bool,
    /// The images endpoint's model, when it has one.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub image_model: Option<String>,
}

fn json_mode_default() -> bool {
    true
}

/// Which model the planner and the creatives use for the organisation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LlmSettingsView {
    /// `organisation` (its own), `server` (`[campaigns.llm]`) or `none` (the
    /// rule planner and the template engine answer).
    #[schema(pattern = "^(organisation|server|none)$")]
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Whether a key is stored (it is never shown).
    pub api_key_set: bool,
    pub json_mode: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<OffsetDateTime>,
}
