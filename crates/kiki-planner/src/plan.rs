//! A whole campaign plan from a goal in words, a form a person filled in
//! and/or a landing page: a campaign draft ready to store, the creative
//! brief, the LTV, margin and CPA ceiling behind the bids, the channel mix,
//! and for every value where it came from.
//!
//! Each value is taken from the first source that has one, in this order:
//! the form (what a person typed), a language model's proposal when there
//! is one ([`plan_with_proposal`]), the goal text ([`crate::read_goal`]),
//! the landing page ([`crate::read_page`]), and the defaults (the industry
//! tables of [`crate::industry`] and [`crate::mix`]). A value a source gives
//! but the plan cannot use (an amount in another currency, a return of 500×)
//! is refused with a [`Guardrail`] and the next source is asked. Then the
//! guardrails run: the organisation's daily cap, the longest flight, the age
//! range the platforms accept, claims the platforms refuse in the key
//! message, and the restricted categories.
//!
//! Money: the campaign is in the organisation's currency; amounts in other
//! currencies are refused, never converted. When only a total is given the
//! daily budget is the total divided by the days, rounded down to a whole
//! minor unit (100 000 USD over 60 days is 1 666.66 USD a day, so the flight
//! never spends more than the total); when only a daily budget is given the
//! total is the daily budget times the days. No budget is ever invented:
//! without one the draft's daily budget is zero and `daily_budget` is listed
//! in [`CampaignPlan::missing`].
//!
//! Pure and deterministic: `today` is an input, nothing is read from a clock.

use kiki_campaigns::model::{BidStrategy, Targeting};
use kiki_campaigns::{AdSet, AssetSource, CampaignDraft, CampaignKind, Schedule};
use kiki_core::{Currency, Money};
use kiki_creative::{AdCopy, Channel, CreativeBrief, PolicyRules, Rule, Severity, Tone, review};
use serde::{Deserialize, Serialize};
use time::{Date, Duration};

use crate::ceiling::max_cpa;
use crate::goal::{CampaignType, Gender, Goal, NO_KIND_WORDS, Origin, Read, read_goal};
use crate::industry::{Industry, IndustryProfile, Restricted, classify, restricted};
use crate::mix::{TOTAL_BPS, default_channel_mix, shares_bps};
use crate::page::{PageFacts, brand_from_url, host_of};
use crate::proposal::LlmProposal;
use crate::tokens::tokenize;

/// The longest flight a plan proposes, in days.
pub const MAX_DURATION_DAYS: u32 = 366;
/// The youngest age the platforms target.
pub const MIN_AGE: u8 = 13;
/// The oldest age the platforms target by number (65 means 65 and over).
pub const MAX_AGE: u8 = 65;
/// The longest product name kept, in characters.
pub const MAX_PRODUCT_CHARS: usize = 200;
/// The longest brand name kept (the campaign's limit), in characters.
pub const MAX_BRAND_CHARS: usize = 100;
/// The longest key message kept, in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// What a plan is made from: any of a goal in words, a form, and the facts
/// read from the landing page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PlanRequest {
    /// The goal as a person wrote it.
    pub goal: Option<String>,
    pub form: Option<GoalForm>,
    pub page: Option<PageFacts>,
}

/// What a person filled in; every field optional. A value here wins over
/// everything the planner reads or infers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct GoalForm {
    pub product: Option<String>,
    pub brand: Option<String>,
    pub total_budget: Option<Money>,
    pub daily_budget: Option<Money>,
    pub duration_days: Option<u32>,
    /// Revenue per unit of spend aimed at (3.0 = 3×).
    pub target_roi: Option<f64>,
    /// ISO 3166-1 alpha-2 codes.
    pub countries: Vec<String>,
    pub age_min: Option<u8>,
    pub age_max: Option<u8>,
    pub genders: Vec<Gender>,
    pub industry: Option<Industry>,
    pub kind: Option<CampaignKind>,
    pub landing_url: Option<String>,
    pub key_message: Option<String>,
    pub tone: Option<Tone>,
    pub channels: Vec<Channel>,
}

/// The organisation's LTV from its fitted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LtvFigure {
    pub value: Money,
    /// Where it comes from, in words ("BG/NBD + Gamma-Gamma fit of 2 400
    /// customers, 12-month horizon").
    pub source: String,
}

/// One channel's share of the daily budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChannelShare {
    pub channel: Channel,
    /// Basis points of the daily budget; a mix's shares sum to 10 000.
    pub share_bps: u32,
    /// Where the share comes from, in words.
    pub source: String,
}

/// What the organisation knows that the plan uses.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanInputs {
    /// The organisation's currency: the campaign's.
    pub currency: Currency,
    /// Today in the organisation's calendar; the campaign starts tomorrow.
    pub today: Date,
    /// The organisation's name.
    pub brand: Option<String>,
    /// The LTV of the organisation's fitted model.
    pub ltv: Option<LtvFigure>,
    /// The contribution margin configured, in basis points.
    pub margin_bps: Option<u32>,
    /// The organisation's cap on one campaign's daily budget.
    pub max_daily_budget: Option<Money>,
    /// The allocator's mix for this organisation.
    pub channel_mix: Option<Vec<ChannelShare>>,
}

impl PlanInputs {
    /// Inputs with nothing known but the currency and the day.
    pub fn new(currency: Currency, today: Date) -> PlanInputs {
        PlanInputs {
            currency,
            today,
            brand: None,
            ltv: None,
            margin_bps: None,
            max_daily_budget: None,
            channel_mix: None,
        }
    }
}

/// A value of the plan with the sentence that says where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlanFigure<T> {
    pub value: T,
    pub source: String,
}

/// Where a value of the plan came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AssumptionOrigin {
    /// Typed into the form.
    Given,
    /// Read from this text of the goal (byte offsets into it).
    Extracted {
        text: String,
        start: usize,
        end: usize,
    },
    /// Read from the landing page.
    FromPage { what: String },
    /// Inferred from other values, words or a language model.
    Inferred { from: String },
    /// Nothing said: a default applied.
    Defaulted { rule: String },
}

/// One value of the plan and where it came from. `value` is the value the
/// plan holds; `origin` is where it was asked for. When a guardrail changed
/// it (a daily budget above the cap, an age outside 13–65), a
/// [`Guardrail`] on the same field says from what and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Assumption {
    /// The value's path in the plan (`draft.daily_budget`,
    /// `draft.ad_sets[*].targeting.countries` for every ad set).
    pub field: String,
    /// The value in words, money with its currency.
    pub value: String,
    pub origin: AssumptionOrigin,
}

/// What a guardrail did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GuardrailAction {
    /// The value was changed to one the plan may use.
    Changed,
    /// A source's value was not used (the next source was asked).
    Refused,
    /// The value stands, and a person must look at it.
    Flagged,
}

/// A guardrail that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Guardrail {
    /// The path of the value in the plan (`proposal.<field>` for a value of
    /// a language model's proposal that failed its checks).
    pub field: String,
    pub action: GuardrailAction,
    pub reason: String,
}

/// A restricted category the campaign touches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RestrictedNote {
    pub category: Restricted,
    /// What advertising in it requires.
    pub requirement: String,
}

/// A campaign plan: the draft to store and everything behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CampaignPlan {
    /// The campaign to store (a `CampaignDraft`); the fields named in
    /// `missing` are empty (a zero budget, an empty address or brand) until
    /// a person supplies them.
    #[schema(value_type = Object)]
    pub draft: CampaignDraft,
    pub duration_days: u32,
    /// The customer value the CPA ceiling is built on.
    pub ltv: PlanFigure<Money>,
    /// The contribution margin, basis points.
    pub margin_bps: u32,
    pub margin_source: String,
    /// The most one new customer may cost, with its arithmetic.
    pub max_cpa: Option<PlanFigure<Money>>,
    pub channel_mix: Vec<ChannelShare>,
    /// The creative brief (a `CreativeBrief`); what the plan does not know
    /// (a brand, a landing page) is empty until a person supplies it.
    #[schema(value_type = Object)]
    pub brief: CreativeBrief,
    /// One per value of the plan, each field once.
    pub assumptions: Vec<Assumption>,
    pub guardrails: Vec<Guardrail>,
    pub restricted: Vec<RestrictedNote>,
    /// Fields of the draft a person must supply before it can be stored,
    /// named as `kiki_campaigns::validate_campaign` names them
    /// (`landing_url`, `daily_budget`, `brand_name`).
    pub missing: Vec<String>,
}

/// The plan for `req` with the organisation's `inputs`.
pub fn plan(req: &PlanRequest, inputs: &PlanInputs) -> CampaignPlan {
    build(req, None, inputs)
}

/// The plan for `req` with a language model's `proposal` (answered by
/// `model`) ranked between the form and the goal text. Values of the
/// proposal that fail [`LlmProposal::validate`] are refused.
pub fn plan_with_proposal(
    req: &PlanRequest,
    proposal: &LlmProposal,
    model: &str,
    inputs: &PlanInputs,
) -> CampaignPlan {
    build(req, Some((proposal, model)), inputs)
}

// ---------------------------------------------------------------------------
// Sources and the record of where each value came from.

/// A form-shaped source: the person's form or a model's proposal.
struct Layer {
    form: GoalForm,
    origin: AssumptionOrigin,
    who: String,
}

/// A value one source offers.
struct Cand<T> {
    value: T,
    origin: AssumptionOrigin,
    who: String,
}

fn layer_cands<T>(layers: &[Layer], get: impl Fn(&GoalForm) -> Option<T>) -> Vec<Cand<T>> {
    layers
        .iter()
        .filter_map(|l| {
            get(&l.form).map(|value| Cand {
                value,
                origin: l.origin.clone(),
                who: l.who.clone(),
            })
        })
        .collect()
}

const GOAL: &str = "the goal text";
const PAGE: &str = "the landing page";

fn from_goal(o: &Origin) -> AssumptionOrigin {
    match o {
        Origin::Extracted { text, start, end } => AssumptionOrigin::Extracted {
            text: text.clone(),
            start: *start,
            end: *end,
        },
        Origin::Inferred { from } => AssumptionOrigin::Inferred {
            from: format!("{from} in the goal"),
        },
    }
}

fn goal_cand<T: Clone>(r: Option<&Read<T>>) -> Option<Cand<T>> {
    r.map(|r| Cand {
        value: r.value.clone(),
        origin: from_goal(&r.origin),
        who: GOAL.to_owned(),
    })
}

fn from_page(what: impl Into<String>) -> AssumptionOrigin {
    AssumptionOrigin::FromPage { what: what.into() }
}

fn inferred(from: impl Into<String>) -> AssumptionOrigin {
    AssumptionOrigin::Inferred { from: from.into() }
}

fn defaulted(rule: impl Into<String>) -> AssumptionOrigin {
    AssumptionOrigin::Defaulted { rule: rule.into() }
}

struct Ctx {
    assumptions: Vec<Assumption>,
    guardrails: Vec<Guardrail>,
    missing: Vec<String>,
}

impl Ctx {
    fn assume(&mut self, field: &str, value: impl Into<String>, origin: AssumptionOrigin) {
        self.assumptions.push(Assumption {
            field: field.to_owned(),
            value: value.into(),
            origin,
        });
    }

    fn guard(&mut self, field: &str, action: GuardrailAction, reason: impl Into<String>) {
        self.guardrails.push(Guardrail {
            field: field.to_owned(),
            action,
            reason: reason.into(),
        });
    }

    /// The first candidate `check` accepts; each one it refuses is a
    /// guardrail on `field` naming the source.
    fn first<T>(
        &mut self,
        field: &str,
        cands: Vec<Cand<T>>,
        mut check: impl FnMut(T) -> Result<T, String>,
    ) -> Option<(T, AssumptionOrigin)> {
        for cand in cands {
            match check(cand.value) {
                Ok(v) => return Some((v, cand.origin)),
                Err(why) => self.guard(
                    field,
                    GuardrailAction::Refused,
                    format!("The value from {} is not used: {why}", cand.who),
                ),
            }
        }
        None
    }
}

/// Money a campaign in `currency` can use: in that currency and above zero.
fn money_check(currency: Currency) -> impl FnMut(Money) -> Result<Money, String> {
    move |m: Money| {
        if m.currency != currency {
            Err(format!(
                "{m} is not in the organisation's currency {currency}, and amounts are not converted."
            ))
        } else if m.micros <= 0 {
            Err(format!("{m} is not more than zero."))
        } else {
            Ok(m)
        }
    }
}

// ---------------------------------------------------------------------------
// Words.

fn words_of<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let joined = texts.into_iter().collect::<Vec<_>>().join(" . ");
    tokenize(&joined)
        .into_iter()
        .filter_map(|t| t.word().map(str::to_owned))
        .collect()
}

fn trimmed(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn cut(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .collect::<String>()
        .trim_end()
        .to_owned()
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// `US`, `US and GB`, `US, GB and FR`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn percent(bps: u32) -> String {
    let whole = bps / 100;
    let rest = bps % 100;
    if rest == 0 {
        format!("{whole} %")
    } else if rest.is_multiple_of(10) {
        format!("{whole}.{} %", rest / 10)
    } else {
        format!("{whole}.{rest:02} %")
    }
}

fn times(roi: f64) -> String {
    format!("{roi}×")
}

fn gender_name(g: Gender) -> &'static str {
    match g {
        Gender::Female => "female",
        Gender::Male => "male",
    }
}

fn kind_of(t: CampaignType) -> CampaignKind {
    match t {
        CampaignType::Sales => CampaignKind::Shopping,
        CampaignType::Leads => CampaignKind::Leads,
        CampaignType::AppInstalls => CampaignKind::AppInstalls,
    }
}

fn kind_name(k: CampaignKind) -> &'static str {
    match k {
        CampaignKind::Shopping => "shopping",
        CampaignKind::Leads => "leads",
        CampaignKind::AppInstalls => "app installs",
    }
}

fn tone_name(t: Tone) -> &'static str {
    match t {
        Tone::Friendly => "friendly",
        Tone::Premium => "premium",
        Tone::Playful => "playful",
        Tone::Urgent => "urgent",
        Tone::Professional => "professional",
    }
}

fn rule_name(r: Rule) -> String {
    match serde_json::to_value(r) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{r:?}"),
    }
}

fn restricted_name(r: Restricted) -> &'static str {
    match r {
        Restricted::Finance => "financial services",
        Restricted::Health => "health",
        Restricted::Gambling => "gambling",
        Restricted::Alcohol => "alcohol",
        Restricted::Politics => "politics",
        Restricted::Dating => "dating",
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The kind of campaign an industry usually runs when nothing says.
fn default_kind(industry: Industry) -> CampaignKind {
    match industry {
        Industry::MobileApps => CampaignKind::AppInstalls,
        Industry::Saas
        | Industry::ProfessionalServices
        | Industry::Finance
        | Industry::Education => CampaignKind::Leads,
        Industry::Ecommerce | Industry::Health | Industry::General => CampaignKind::Shopping,
    }
}

/// The voice for an industry when nothing says: plain for B2B and
/// regulated money, warm elsewhere.
fn default_tone(industry: Industry) -> Tone {
    match industry {
        Industry::Finance | Industry::Saas | Industry::ProfessionalServices => Tone::Professional,
        _ => Tone::Friendly,
    }
}

fn call_to_action(kind: CampaignKind) -> &'static str {
    match kind {
        CampaignKind::Shopping => "Shop now",
        CampaignKind::Leads => "Sign up",
        CampaignKind::AppInstalls => "Install now",
    }
}

/// Guidance for images and video by industry.
fn visual_guidelines(industry: Industry) -> &'static [&'static str] {
    match industry {
        Industry::Ecommerce => &[
            "Show the product itself, large and in use, on a clean background.",
            "Natural light and real textures; no heavy filters.",
            "Keep the price or offer readable on a phone screen.",
        ],
        Industry::Saas => &[
            "Show the product's screen doing the one job the ad promises.",
            "Plain backgrounds in the brand's colours, one message per frame.",
            "No stock photos of people pointing at screens.",
        ],
        Industry::MobileApps => &[
            "Real app screens or gameplay in the first second.",
            "Vertical 9:16 video for TikTok, Snapchat and Stories.",
            "End on the app store badge.",
        ],
        Industry::ProfessionalServices => &[
            "The firm's real people and places, not stock photos.",
            "Calm, uncluttered layouts in the brand's colours.",
            "Name the service plainly in the image.",
        ],
        Industry::Education => &[
            "Show learners and the outcome (the skill, the certificate), not empty classrooms.",
            "Show the course's format: video, live or in person.",
            "Text over images readable on a phone screen.",
        ],
        Industry::Health => &[
            "No before-and-after images and no close-ups of bodies.",
            "Calm, clean settings; show the product or service, not the condition.",
            "Every claim shown in an image needs its substantiation.",
        ],
        Industry::Finance => &[
            "No piles of cash or luxury shown as an outcome.",
            "Clear, calm layouts in the brand's colours.",
            "Leave room for the required disclosures.",
        ],
        Industry::General => &[
            "Show the product or service in use.",
            "One message per image, readable on a phone screen.",
            "The brand's colours and logo in every frame.",
        ],
    }
}

// ---------------------------------------------------------------------------
// The key message's claims.

/// Whether a finding of the review is a claim the planner removes from the
/// key message: promised outcomes, cures, unsourced rankings and goods no
/// platform accepts.
fn removable(rule: Rule, severity: Severity) -> bool {
    match rule {
        Rule::HealthClaim | Rule::UnsourcedSuperlative | Rule::ProhibitedContent => true,
        Rule::GuaranteeClaim => severity == Severity::Reject,
        _ => false,
    }
}

/// Collapses the whitespace and the punctuation a removal leaves behind
/// (`"Soft skin, , ."` → `"Soft skin."`).
fn tidy(s: &str) -> String {
    let collapsed = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::new();
    for ch in collapsed.chars() {
        if matches!(ch, ',' | ';' | ':' | '.' | '!' | '?') {
            while out.ends_with(' ') {
                out.pop();
            }
            if matches!(ch, ',' | ';' | ':') && (out.is_empty() || out.ends_with([',', ';', ':'])) {
                continue;
            }
            if matches!(ch, '.' | '!' | '?') {
                while out.ends_with([',', ';', ':']) {
                    out.pop();
                }
                if out.is_empty() {
                    continue;
                }
            }
        }
        out.push(ch);
    }
    loop {
        let before = out.len();
        out = out
            .trim_matches(|c: char| {
                c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-' | '–' | '—')
            })
            .to_owned();
        for tail in [" and", " or", " with", " &"] {
            let at = out.len().saturating_sub(tail.len());
            if out.get(at..).is_some_and(|t| t.eq_ignore_ascii_case(tail)) {
                out.truncate(at);
            }
        }
        for head in ["and ", "or ", "& "] {
            if out
                .get(..head.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(head))
            {
                out = out[head.len()..].to_owned();
            }
        }
        if out.len() == before {
            break;
        }
    }
    out
}

/// The key message without the claims the platforms refuse; each removal
/// and each remaining claim needing a look is a guardrail.
fn scrub_claims(c: &mut Ctx, message: &str) -> String {
    let copy = AdCopy {
        primary_text: Some(message.to_owned()),
        ..AdCopy::default()
    };
    let report = review(&copy, Channel::Meta, &PolicyRules::default());
    let mut spans: Vec<(usize, usize)> = Vec::new();
    // (rule, its reason, the texts it removed), in the order found.
    let mut removed: Vec<(Rule, String, Vec<String>)> = Vec::new();
    for f in &report.findings {
        if f.field != "primary_text" {
            continue;
        }
        if removable(f.rule, f.severity) {
            spans.push((f.start, f.end));
            let quoted = format!("\"{}\"", f.text);
            match removed.iter_mut().find(|(r, _, _)| *r == f.rule) {
                Some((_, _, texts)) => texts.push(quoted),
                None => removed.push((f.rule, f.reason.clone(), vec![quoted])),
            }
        } else if matches!(f.rule, Rule::GuaranteeClaim | Rule::PersonalAttribute) {
            c.guard(
                "brief.key_message",
                GuardrailAction::Flagged,
                format!("\"{}\" ({}): {}", f.text, rule_name(f.rule), f.reason),
            );
        }
    }
    if spans.is_empty() {
        return message.to_owned();
    }
    spans.sort_unstable();
    let mut kept = String::new();
    let mut at = 0;
    for (s, e) in spans {
        if s > at {
            kept.push_str(&message[at..s]);
        }
        at = at.max(e);
    }
    kept.push_str(&message[at.min(message.len())..]);
    let result = tidy(&kept);
    c.guard(
        "brief.key_message",
        GuardrailAction::Changed,
        format!(
            "Removed {}; the key message is now \"{result}\".",
            removed
                .iter()
                .map(|(rule, reason, texts)| format!(
                    "{} ({}: {})",
                    texts.join(", "),
                    rule_name(*rule),
                    reason.trim_end_matches('.')
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    );
    result
}

// ---------------------------------------------------------------------------
// The plan.

fn build(
    req: &PlanRequest,
    proposal: Option<(&LlmProposal, &str)>,
    inputs: &PlanInputs,
) -> CampaignPlan {
    let mut p = Planner::new(req, proposal, inputs);
    let subject = p.subject();
    let budget = p.budget(subject.industry);
    let (start, end) = p.schedule(budget.days);
    let value = p.value(subject.industry);
    let mut audience = p.audience();
    let restricted = p.restricted(&mut audience);
    let audience_text = p.describe(&audience);
    let channel_mix = p.channel_mix(subject.industry, subject.kind);
    let cpa = value.ceiling.as_ref().map(|f| f.value);
    let ad_sets = p.ad_sets(&subject, &audience, &audience_text, &channel_mix, cpa);
    let name = p.name(&subject, start);
    let objective = p.objective(&subject, &budget, &audience_text, value.roi);
    p.c.assume(
        "draft.asset_source",
        "generated",
        defaulted("the creatives are written from the brief"),
    );
    let brief = p.brief(&subject, audience_text);
    let draft = CampaignDraft {
        name,
        objective,
        kind: subject.kind,
        landing_url: subject.landing_url,
        brand_name: subject.brand_name,
        industry: subject.industry.as_str().to_owned(),
        currency: p.currency,
        daily_budget: budget.daily,
        total_budget: budget.total,
        schedule: Schedule {
            start,
            end,
            time_zone: "UTC".to_owned(),
        },
        target_roi: Some(value.roi),
        max_cpa: cpa,
        asset_source: AssetSource::Generated,
        ad_sets,
    };
    CampaignPlan {
        draft,
        duration_days: budget.days,
        ltv: value.ltv,
        margin_bps: value.margin_bps,
        margin_source: value.margin_source,
        max_cpa: value.ceiling,
        channel_mix,
        brief,
        assumptions: p.c.assumptions,
        guardrails: p.c.guardrails,
        restricted,
        missing: p.c.missing,
    }
}

/// What the campaign is about and where a click lands.
struct Subject {
    industry: Industry,
    kind: CampaignKind,
    /// The product a source named, if any.
    product: Option<String>,
    /// The product, else the brand: what the ads advertise.
    product_name: String,
    product_origin: AssumptionOrigin,
    brand_name: String,
    landing_url: String,
}

/// The money and the days.
struct Budget {
    days: u32,
    daily: Money,
    total: Option<Money>,
}

/// The return aimed at and what a customer may cost.
struct Value {
    roi: f64,
    ltv: PlanFigure<Money>,
    margin_bps: u32,
    margin_source: String,
    ceiling: Option<PlanFigure<Money>>,
}

/// Who the ad sets target.
struct Audience {
    countries: Vec<String>,
    age_min: Option<u8>,
    age_max: Option<u8>,
    ages_origin: AssumptionOrigin,
    /// Empty for everyone.
    genders: Vec<Gender>,
    genders_origin: AssumptionOrigin,
}

/// The sources of one plan, in the order they rank, and the record of
/// where each value came from.
struct Planner<'a> {
    inputs: &'a PlanInputs,
    currency: Currency,
    /// The form, then the model's proposal.
    layers: Vec<Layer>,
    goal_text: Option<&'a str>,
    goal: Option<Goal>,
    page: Option<&'a PageFacts>,
    c: Ctx,
}

fn text_check(max: usize) -> impl FnMut(String) -> Result<String, String> {
    move |s: String| {
        if s.chars().count() > max {
            Err(format!("longer than {max} characters."))
        } else {
            Ok(s)
        }
    }
}

impl<'a> Planner<'a> {
    fn new(
        req: &'a PlanRequest,
        proposal: Option<(&LlmProposal, &str)>,
        inputs: &'a PlanInputs,
    ) -> Planner<'a> {
        let currency = inputs.currency;
        let mut c = Ctx {
            assumptions: Vec::new(),
            guardrails: Vec::new(),
            missing: Vec::new(),
        };
        let goal_text = req.goal.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let mut layers: Vec<Layer> = Vec::new();
        if let Some(form) = &req.form {
            layers.push(Layer {
                form: form.clone(),
                origin: AssumptionOrigin::Given,
                who: "the form".to_owned(),
            });
        }
        if let Some((p, model)) = proposal {
            let (form, errors) = p.to_form(currency);
            for e in errors {
                c.guard(
                    &format!("proposal.{}", e.field),
                    GuardrailAction::Refused,
                    format!(
                        "The language model {model} proposed a value that is not used: {}",
                        e.message
                    ),
                );
            }
            layers.push(Layer {
                form,
                origin: inferred(format!("language model {model}")),
                who: format!("the language model {model}"),
            });
        }
        Planner {
            inputs,
            currency,
            layers,
            goal_text,
            goal: goal_text.map(|t| read_goal(t, currency)),
            page: req.page.as_ref(),
            c,
        }
    }

    /// The words of the product and key message each layer gives, with
    /// the layer's name.
    fn layer_words(&self) -> Vec<(Vec<String>, String)> {
        self.layers
            .iter()
            .map(|l| {
                let words = words_of(
                    [&l.form.product, &l.form.key_message]
                        .into_iter()
                        .flatten()
                        .map(String::as_str),
                );
                (words, l.who.clone())
            })
            .collect()
    }

    fn subject(&mut self) -> Subject {
        let industry = self.industry();
        let kind = self.kind(industry);
        let goal = self.goal.as_ref();
        let page = self.page;

        let mut cands = layer_cands(&self.layers, |f| trimmed(&f.product));
        cands.extend(goal_cand(goal.and_then(|g| g.product.as_ref())));
        if let Some(p) = page.and_then(|p| p.products.first()) {
            cands.push(Cand {
                value: p.clone(),
                origin: from_page("the product named on the page"),
                who: PAGE.to_owned(),
            });
        }
        let product = self
            .c
            .first("brief.product", cands, text_check(MAX_PRODUCT_CHARS));

        let mut cands = layer_cands(&self.layers, |f| trimmed(&f.brand));
        // A brand read from the page's host name ranks below the
        // organisation's own name.
        let page_brand = page.and_then(|p| {
            let b = p.brand.clone()?;
            let from_host = brand_from_url(&p.url).as_deref() == Some(b.as_str());
            Some((b, from_host))
        });
        if let Some((b, false)) = &page_brand {
            cands.push(Cand {
                value: b.clone(),
                origin: from_page("the brand named on the page"),
                who: PAGE.to_owned(),
            });
        }
        if let Some(b) = trimmed(&self.inputs.brand) {
            cands.push(Cand {
                value: b,
                origin: inferred("the organisation's name"),
                who: "the organisation's settings".to_owned(),
            });
        }
        if let Some((b, true)) = &page_brand {
            cands.push(Cand {
                value: b.clone(),
                origin: from_page("the page's host name"),
                who: PAGE.to_owned(),
            });
        }
        let brand_name = match self
            .c
            .first("draft.brand_name", cands, text_check(MAX_BRAND_CHARS))
        {
            Some((b, origin)) => {
                self.c.assume("draft.brand_name", b.clone(), origin);
                b
            }
            None => {
                self.c.missing.push("brand_name".to_owned());
                self.c.assume(
                    "draft.brand_name",
                    "",
                    defaulted(
                        "no brand in the form, on the page or in the organisation's settings",
                    ),
                );
                String::new()
            }
        };
        let (product, product_name, product_origin) = match product {
            Some((p, o)) => (Some(p.clone()), p, o),
            None => (
                None,
                brand_name.clone(),
                defaulted("no product named: the brand itself is advertised"),
            ),
        };
        let landing_url = self.landing_url();
        Subject {
            industry,
            kind,
            product,
            product_name,
            product_origin,
            brand_name,
            landing_url,
        }
    }

    fn industry(&mut self) -> Industry {
        let mut cands = layer_cands(&self.layers, |f| f.industry);
        cands.extend(goal_cand(
            self.goal.as_ref().and_then(|g| g.industry.as_ref()),
        ));
        for (words, who) in self.layer_words() {
            if let Some((industry, w)) = classify(words.iter().map(String::as_str)) {
                cands.push(Cand {
                    value: industry,
                    origin: inferred(format!("the word \"{w}\" in {who}")),
                    who,
                });
            }
        }
        if let Some(pi) = self.page.and_then(|p| p.industry.as_ref()) {
            cands.push(Cand {
                value: pi.industry,
                origin: from_page(format!("the word \"{}\" on the page", pi.word)),
                who: PAGE.to_owned(),
            });
        }
        let (industry, origin) = self
            .c
            .first("draft.industry", cands, Ok)
            .unwrap_or_else(|| {
                (
                    Industry::General,
                    defaulted("no industry word in the goal, the form or the page: general"),
                )
            });
        self.c.assume("draft.industry", industry.as_str(), origin);
        industry
    }

    fn kind(&mut self, industry: Industry) -> CampaignKind {
        let mut cands = layer_cands(&self.layers, |f| f.kind);
        if let Some(g) = &self.goal
            && !matches!(&g.campaign_type.origin, Origin::Inferred { from } if from == NO_KIND_WORDS)
        {
            cands.extend(goal_cand(Some(&g.campaign_type)).map(|k| Cand {
                value: kind_of(k.value),
                origin: k.origin,
                who: k.who,
            }));
        }
        if let Some(p) = self.page
            && (p.price.is_some() || !p.products.is_empty())
        {
            cands.push(Cand {
                value: CampaignKind::Shopping,
                origin: from_page("a product or a price on the page"),
                who: PAGE.to_owned(),
            });
        }
        let (kind, origin) = self.c.first("draft.kind", cands, Ok).unwrap_or_else(|| {
            let k = default_kind(industry);
            (
                k,
                defaulted(format!(
                    "a {} campaign, the usual kind in {}",
                    kind_name(k),
                    industry.as_str()
                )),
            )
        });
        self.c.assume("draft.kind", kind_name(kind), origin);
        kind
    }

    fn landing_url(&mut self) -> String {
        let mut cands: Vec<Cand<String>> = self
            .layers
            .iter()
            .filter(|l| l.origin == AssumptionOrigin::Given)
            .find_map(|l| trimmed(&l.form.landing_url))
            .map(|u| Cand {
                value: u,
                origin: AssumptionOrigin::Given,
                who: "the form".to_owned(),
            })
            .into_iter()
            .collect();
        if let Some(p) = self.page
            && !p.url.trim().is_empty()
        {
            cands.push(Cand {
                value: p.url.trim().to_owned(),
                origin: from_page("the address the page was read from"),
                who: PAGE.to_owned(),
            });
        }
        let landing = self.c.first("draft.landing_url", cands, |u: String| {
            let lower = u.to_ascii_lowercase();
            let web = lower.starts_with("https://") || lower.starts_with("http://");
            if web && host_of(&u).is_some() && !u.contains(char::is_whitespace) && u.len() <= 2_048
            {
                Ok(u)
            } else {
                Err(format!(
                    "\"{u}\" is not an http or https address with a host."
                ))
            }
        });
        match landing {
            Some((u, origin)) => {
                self.c.assume("draft.landing_url", u.clone(), origin);
                u
            }
            None => {
                self.c.missing.push("landing_url".to_owned());
                self.c.assume(
                    "draft.landing_url",
                    "",
                    defaulted("no landing page given: a person must supply it"),
                );
                String::new()
            }
        }
    }

    fn budget(&mut self, industry: Industry) -> Budget {
        let currency = self.currency;
        let goal = self.goal.as_ref();
        let c = &mut self.c;
        let mut cands = layer_cands(&self.layers, |f| f.total_budget);
        cands.extend(goal_cand(goal.and_then(|g| g.total_budget.as_ref())));
        let total_given = c.first("draft.total_budget", cands, money_check(currency));
        let mut cands = layer_cands(&self.layers, |f| f.daily_budget);
        cands.extend(goal_cand(goal.and_then(|g| g.daily_budget.as_ref())));
        let daily_given = c.first("draft.daily_budget", cands, money_check(currency));

        let mut cands = layer_cands(&self.layers, |f| f.duration_days);
        cands.extend(goal_cand(goal.and_then(|g| g.duration_days.as_ref())));
        let duration = c.first("duration_days", cands, |d: u32| {
            if d == 0 {
                Err("a campaign runs at least one day.".to_owned())
            } else {
                Ok(d)
            }
        });
        let first_flight = IndustryProfile::of(industry).duration_days;
        let (mut days, days_origin) = match (duration, &total_given, &daily_given) {
            (Some(d), _, _) => d,
            (None, Some((t, _)), Some((d, _))) => {
                let n = u32::try_from((t.micros / d.micros).max(1)).unwrap_or(u32::MAX);
                (
                    n,
                    inferred(format!("the total {t} ÷ {d} a day, rounded down")),
                )
            }
            (None, _, _) => (
                first_flight,
                defaulted(format!(
                    "a {first_flight}-day first flight: long enough to learn, short enough to stop a bad plan"
                )),
            ),
        };
        if days > MAX_DURATION_DAYS {
            c.guard(
                "duration_days",
                GuardrailAction::Changed,
                format!("{days} days is longer than the {MAX_DURATION_DAYS}-day limit; the flight is cut to {MAX_DURATION_DAYS} days."),
            );
            days = MAX_DURATION_DAYS;
        }
        c.assume("duration_days", format!("{days} days"), days_origin);

        let step = 10_i64.pow(6 - currency.minor_digits());
        let n = i64::from(days);
        let mut total_derived = false;
        let (mut daily, daily_origin, mut total) = match (&total_given, &daily_given) {
            (Some((t, to)), None) => {
                // Rounded down to a whole minor unit: the flight never
                // spends more than the total.
                let per_day = (t.micros / n) / step * step;
                let per_day = per_day.max(step.min(t.micros));
                (
                    Money::from_micros(per_day, currency),
                    inferred(format!(
                        "the total {t} ÷ {days} days, rounded down to a whole minor unit"
                    )),
                    Some((*t, to.clone())),
                )
            }
            (None, Some((d, o))) => {
                total_derived = true;
                let origin = inferred(format!("{d} a day × {days} days"));
                (*d, o.clone(), d.checked_mul(n).ok().map(|t| (t, origin)))
            }
            (Some((t, to)), Some((d, o))) => {
                if let Ok(planned) = d.checked_mul(n)
                    && planned != *t
                {
                    c.guard(
                        "draft.total_budget",
                        GuardrailAction::Flagged,
                        format!(
                            "{d} a day × {days} days is {planned}, not the total {t}; the total caps what the campaign spends."
                        ),
                    );
                }
                (*d, o.clone(), Some((*t, to.clone())))
            }
            (None, None) => {
                c.missing.push("daily_budget".to_owned());
                (
                    Money::zero(currency),
                    defaulted(
                        "no budget given: a person must set one, the planner never invents spend",
                    ),
                    None,
                )
            }
        };
        if let Some(cap) = self.inputs.max_daily_budget
            && daily.micros > 0
        {
            if cap.currency != currency {
                c.guard(
                    "draft.daily_budget",
                    GuardrailAction::Flagged,
                    format!("The organisation's cap of {cap} a day is not in the campaign's currency {currency}; it could not be checked."),
                );
            } else if daily.micros > cap.micros {
                let mut reason = format!(
                    "{daily} a day is above the organisation's cap of {cap} a day; the daily budget is capped at {cap}."
                );
                daily = cap;
                if total_derived {
                    total = cap
                        .checked_mul(n)
                        .ok()
                        .map(|t| (t, inferred(format!("{cap} a day (the cap) × {days} days"))));
                } else if let Some((t, _)) = &total
                    && let Ok(spend) = cap.checked_mul(n)
                    && spend.micros < t.micros
                {
                    reason.push_str(&format!(
                        " At the cap, {days} days spend {spend} of the total {t}."
                    ));
                }
                c.guard("draft.daily_budget", GuardrailAction::Changed, reason);
            }
        }
        c.assume("draft.daily_budget", daily.to_string(), daily_origin);
        match &total {
            Some((t, o)) => c.assume("draft.total_budget", t.to_string(), o.clone()),
            None => c.assume(
                "draft.total_budget",
                "none",
                defaulted("no total: the daily budget runs until the end date"),
            ),
        }
        c.assume(
            "draft.currency",
            currency.as_str(),
            inferred("the organisation's currency"),
        );
        Budget {
            days,
            daily,
            total: total.map(|(t, _)| t),
        }
    }

    /// The first and last day: tomorrow, and `days` later.
    fn schedule(&mut self, days: u32) -> (Date, Option<Date>) {
        let today = self.inputs.today;
        let start = today.next_day().unwrap_or(today);
        let end = start.checked_add(Duration::days(i64::from(days) - 1));
        self.c.assume(
            "draft.schedule.start",
            start.to_string(),
            inferred(format!("the day after today ({today})")),
        );
        self.c.assume(
            "draft.schedule.end",
            end.map_or_else(|| "none".to_owned(), |e| e.to_string()),
            inferred(format!("the start + {days} days − 1")),
        );
        self.c.assume(
            "draft.schedule.time_zone",
            "UTC",
            defaulted("dates are UTC calendar days"),
        );
        (start, end)
    }

    fn value(&mut self, industry: Industry) -> Value {
        let currency = self.currency;
        let profile = IndustryProfile::of(industry);
        let inputs = self.inputs;
        let mut cands = layer_cands(&self.layers, |f| f.target_roi);
        cands.extend(goal_cand(
            self.goal.as_ref().and_then(|g| g.target_roi.as_ref()),
        ));
        let c = &mut self.c;
        let (roi, roi_origin) = c
            .first("draft.target_roi", cands, |r: f64| {
                if r.is_finite() && r > 0.0 && r <= 100.0 {
                    Ok(r)
                } else {
                    Err(format!("a return of {r} is outside (0, 100]."))
                }
            })
            .unwrap_or_else(|| {
                (
                    profile.target_roas,
                    defaulted(format!(
                        "the planning target for {}: {}",
                        industry.as_str(),
                        times(profile.target_roas)
                    )),
                )
            });
        c.assume("draft.target_roi", times(roi), roi_origin);

        // The prior is in major units of the organisation's currency.
        let prior_source = format!(
            "industry prior ({}), no history of your own",
            industry.as_str()
        );
        let prior = PlanFigure {
            value: Money::parse_decimal(&format!("{:.6}", profile.ltv_prior), currency)
                .unwrap_or(Money::zero(currency)),
            source: prior_source.clone(),
        };
        let ltv = match &inputs.ltv {
            Some(f) if f.value.currency == currency && f.value.micros > 0 => {
                c.assume(
                    "ltv",
                    f.value.to_string(),
                    inferred(format!("the organisation's LTV model: {}", f.source)),
                );
                PlanFigure {
                    value: f.value,
                    source: f.source.clone(),
                }
            }
            other => {
                if let Some(f) = other {
                    c.guard(
                        "ltv",
                        GuardrailAction::Refused,
                        format!(
                            "The organisation's LTV of {} cannot be used for a campaign in {currency}; the industry prior is used.",
                            f.value
                        ),
                    );
                }
                c.assume("ltv", prior.value.to_string(), defaulted(prior_source));
                prior
            }
        };

        let assumed = "no contribution margin configured: assumed 100 % (revenue = profit)";
        let (margin_bps, margin_source) = match inputs.margin_bps {
            Some(m) if (1..=10_000).contains(&m) => {
                c.assume(
                    "margin_bps",
                    percent(m),
                    inferred("the organisation's settings"),
                );
                (
                    m,
                    format!(
                        "the organisation's configured contribution margin of {}",
                        percent(m)
                    ),
                )
            }
            other => {
                if let Some(m) = other {
                    c.guard(
                        "margin_bps",
                        GuardrailAction::Refused,
                        format!(
                            "A configured margin of {m} bp is outside 1–10000; 100 % is assumed."
                        ),
                    );
                }
                c.assume("margin_bps", percent(10_000), defaulted(assumed));
                (10_000, assumed.to_owned())
            }
        };

        let roi_milli = ((roi * 1_000.0).round() as u32).max(1);
        let ceiling = max_cpa(ltv.value, margin_bps, roi_milli)
            .filter(|m| m.micros > 0)
            .map(|value| PlanFigure {
                value,
                source: format!(
                    "{} LTV ({}) × {} margin ÷ {} target ROI = {value}",
                    ltv.value,
                    ltv.source,
                    percent(margin_bps),
                    times(roi)
                ),
            });
        match &ceiling {
            Some(f) => {
                c.assume("max_cpa", f.value.to_string(), inferred(f.source.clone()));
                c.assume("draft.max_cpa", f.value.to_string(), inferred("max_cpa"));
            }
            None => {
                c.assume(
                    "max_cpa",
                    "none",
                    defaulted("no ceiling: the LTV or the margin gives none"),
                );
                c.assume("draft.max_cpa", "none", inferred("max_cpa"));
            }
        }
        Value {
            roi,
            ltv,
            margin_bps,
            margin_source,
            ceiling,
        }
    }

    fn audience(&mut self) -> Audience {
        let goal = self.goal.as_ref();
        let country_field = "draft.ad_sets[*].targeting.countries";
        let mut cands = layer_cands(&self.layers, |f| {
            (!f.countries.is_empty()).then(|| f.countries.clone())
        });
        if let Some(g) = goal
            && let Some(first) = g.countries.first()
        {
            cands.push(Cand {
                value: g.countries.iter().map(|r| r.value.clone()).collect(),
                origin: if g.countries.len() == 1 {
                    from_goal(&first.origin)
                } else {
                    inferred(format!(
                        "the goal's {}",
                        g.countries
                            .iter()
                            .map(|r| match &r.origin {
                                Origin::Extracted { text, .. } => format!("\"{text}\""),
                                Origin::Inferred { from } => from.clone(),
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                },
                who: GOAL.to_owned(),
            });
        }
        let c = &mut self.c;
        let mut bad_codes: Vec<String> = Vec::new();
        let countries = c.first(country_field, cands, |list: Vec<String>| {
            let mut codes: Vec<String> = Vec::new();
            for code in &list {
                let t = code.trim();
                if t.len() == 2 && t.bytes().all(|b| b.is_ascii_alphabetic()) {
                    let up = t.to_ascii_uppercase();
                    if !codes.contains(&up) {
                        codes.push(up);
                    }
                } else {
                    bad_codes.push(code.clone());
                }
            }
            if codes.is_empty() {
                Err(format!(
                    "no ISO 3166-1 alpha-2 code in {}.",
                    list.join(", ")
                ))
            } else {
                Ok(codes)
            }
        });
        if !bad_codes.is_empty() {
            c.guard(
                country_field,
                GuardrailAction::Refused,
                format!(
                    "Not ISO 3166-1 alpha-2 codes, left out: {}.",
                    bad_codes.join(", ")
                ),
            );
        }
        let (countries, countries_origin) = countries.unwrap_or_else(|| {
            (
                Vec::new(),
                defaulted("no country named: each platform's default reach"),
            )
        });
        c.assume(
            country_field,
            if countries.is_empty() {
                "any".to_owned()
            } else {
                countries.join(", ")
            },
            countries_origin,
        );

        let mut cands = layer_cands(&self.layers, |f| {
            (f.age_min.is_some() || f.age_max.is_some()).then_some((f.age_min, f.age_max))
        });
        if let Some(r) = goal.and_then(|g| g.age_range.as_ref()) {
            cands.push(Cand {
                value: (Some(r.value.0), Some(r.value.1)),
                origin: from_goal(&r.origin),
                who: GOAL.to_owned(),
            });
        }
        let (ages, ages_origin) = c
            .first("draft.ad_sets[*].targeting.age_min", cands, Ok)
            .unwrap_or_else(|| {
                (
                    (None, None),
                    defaulted("no ages named: every age the platforms allow"),
                )
            });
        let mut clamp = |field: &str, v: Option<u8>| {
            v.map(|a| {
                let to = a.clamp(MIN_AGE, MAX_AGE);
                if to != a {
                    c.guard(
                        field,
                        GuardrailAction::Changed,
                        format!("Age {a} is outside the {MIN_AGE}–{MAX_AGE} the platforms target; {to} is used."),
                    );
                }
                to
            })
        };
        let mut age_min = clamp("draft.ad_sets[*].targeting.age_min", ages.0);
        let mut age_max = clamp("draft.ad_sets[*].targeting.age_max", ages.1);
        if let (Some(lo), Some(hi)) = (age_min, age_max)
            && lo > hi
        {
            c.guard(
                "draft.ad_sets[*].targeting.age_min",
                GuardrailAction::Changed,
                format!("The youngest age {lo} was above the oldest {hi}; they are swapped."),
            );
            age_min = Some(hi);
            age_max = Some(lo);
        }

        let mut cands = layer_cands(&self.layers, |f| {
            (!f.genders.is_empty()).then(|| f.genders.clone())
        });
        if let Some(g) = goal
            && let Some(first) = g.genders.first()
        {
            cands.push(Cand {
                value: g.genders.iter().map(|r| r.value).collect(),
                origin: from_goal(&first.origin),
                who: GOAL.to_owned(),
            });
        }
        let (mut genders, genders_origin) = c
            .first("draft.ad_sets[*].targeting.genders", cands, Ok)
            .unwrap_or_else(|| (Vec::new(), defaulted("no gender named: everyone")));
        let mut seen = Vec::new();
        genders.retain(|g| {
            let new = !seen.contains(g);
            seen.push(*g);
            new
        });
        if genders.len() == 2 {
            genders.clear(); // both is everyone
        }
        Audience {
            countries,
            age_min,
            age_max,
            ages_origin,
            genders,
            genders_origin,
        }
    }

    /// The restricted categories the goal, the form, the proposal or the
    /// page touch; adult-only ones raise the youngest age to 18.
    fn restricted(&mut self, audience: &mut Audience) -> Vec<RestrictedNote> {
        let mut found: Vec<(Restricted, String, String)> = Vec::new();
        let mut look = |words: Vec<String>, place: &str| {
            for (r, w) in restricted(words.iter().map(String::as_str)) {
                if !found.iter().any(|(f, _, _)| *f == r) {
                    found.push((r, w.to_owned(), place.to_owned()));
                }
            }
        };
        if let Some(t) = self.goal_text {
            look(words_of([t]), GOAL);
        }
        for (words, who) in self.layer_words() {
            look(words, &who);
        }
        if let Some(p) = self.page {
            look(p.words(), PAGE);
        }
        let c = &mut self.c;
        let mut notes = Vec::new();
        for (r, word, place) in &found {
            notes.push(RestrictedNote {
                category: *r,
                requirement: r.requirement().to_owned(),
            });
            c.guard(
                "restricted",
                GuardrailAction::Flagged,
                format!(
                    "\"{word}\" in {place} places the campaign in {}: it needs {}.",
                    restricted_name(*r),
                    r.requirement()
                ),
            );
            if matches!(
                r,
                Restricted::Gambling | Restricted::Alcohol | Restricted::Dating
            ) && audience.age_min.is_none_or(|a| a < 18)
            {
                c.guard(
                    "draft.ad_sets[*].targeting.age_min",
                    GuardrailAction::Changed,
                    format!(
                        "{} advertising is for adults only: the youngest age is raised to 18.",
                        capitalised(restricted_name(*r))
                    ),
                );
                audience.age_min = Some(18);
                if audience.age_max.is_some_and(|a| a < 18) {
                    audience.age_max = Some(18);
                }
            }
        }
        notes
    }

    /// Records the audience's ages and genders and says it in words
    /// ("women aged 25–44 in US").
    fn describe(&mut self, a: &Audience) -> String {
        let age_text = |a: Option<u8>| a.map_or_else(|| "any".to_owned(), |a| a.to_string());
        let c = &mut self.c;
        c.assume(
            "draft.ad_sets[*].targeting.age_min",
            age_text(a.age_min),
            a.ages_origin.clone(),
        );
        c.assume(
            "draft.ad_sets[*].targeting.age_max",
            age_text(a.age_max),
            a.ages_origin.clone(),
        );
        c.assume(
            "draft.ad_sets[*].targeting.genders",
            if a.genders.is_empty() {
                "everyone".to_owned()
            } else {
                a.genders
                    .iter()
                    .map(|g| gender_name(*g))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            a.genders_origin.clone(),
        );
        let who = match a.genders.as_slice() {
            [Gender::Female] => "women",
            [Gender::Male] => "men",
            _ => "people",
        };
        let age_part = match (a.age_min, a.age_max) {
            (Some(lo), Some(hi)) => format!(" aged {lo}–{hi}"),
            (Some(lo), None) => format!(" aged {lo}+"),
            (None, Some(hi)) => format!(" aged up to {hi}"),
            (None, None) => String::new(),
        };
        let place_part = if a.countries.is_empty() {
            String::new()
        } else {
            format!(" in {}", and_list(&a.countries))
        };
        let text = if who == "people" && age_part.is_empty() && place_part.is_empty() {
            "everyone the platforms reach".to_owned()
        } else {
            format!("{who}{age_part}{place_part}")
        };
        c.assume(
            "brief.audience",
            text.clone(),
            inferred("the countries, ages and genders of the plan"),
        );
        text
    }

    /// The allocator's mix, else the planning default; limited to the
    /// channels a person (or the model) chose when they chose some.
    fn channel_mix(&mut self, industry: Industry, kind: CampaignKind) -> Vec<ChannelShare> {
        let chosen = self
            .layers
            .iter()
            .find(|l| !l.form.channels.is_empty())
            .map(|l| (l.form.channels.clone(), l.who.clone()));
        let allocator: Vec<&ChannelShare> = self
            .inputs
            .channel_mix
            .iter()
            .flatten()
            .filter(|s| s.share_bps > 0)
            .collect();
        let default_source = format!(
            "planning default for {} {} campaigns",
            industry.as_str(),
            kind_name(kind)
        );
        // (channel, weight, source), one per channel.
        let mut base: Vec<(Channel, u64, String)> = Vec::new();
        let from_allocator = !allocator.is_empty();
        if from_allocator {
            for s in allocator {
                match base.iter_mut().find(|(ch, _, _)| *ch == s.channel) {
                    Some(entry) => entry.1 += u64::from(s.share_bps),
                    None => base.push((s.channel, u64::from(s.share_bps), s.source.clone())),
                }
            }
        } else {
            base = default_channel_mix(industry, kind)
                .into_iter()
                .map(|(ch, s)| (ch, u64::from(s), default_source.clone()))
                .collect();
        }
        let (weighted, origin) = match &chosen {
            Some((channels, who)) => {
                let mut picked: Vec<(Channel, u64, String)> = Vec::new();
                let even = u64::from(TOTAL_BPS) / channels.len() as u64;
                for ch in channels {
                    if picked.iter().any(|(p, _, _)| p == ch) {
                        continue;
                    }
                    match base.iter().find(|(b, _, _)| b == ch) {
                        Some((_, w, s)) => picked.push((
                            *ch,
                            *w,
                            format!("{s}, among the channels chosen in {who}"),
                        )),
                        None => picked.push((*ch, even, format!("an even share, chosen in {who}"))),
                    }
                }
                let origin = inferred(format!(
                    "the channels chosen in {who}, weighted by {}",
                    if from_allocator {
                        "the allocator's mix"
                    } else {
                        "the planning defaults"
                    }
                ));
                (picked, origin)
            }
            None if from_allocator => (base, inferred("the allocator's mix")),
            None => (base, defaulted(default_source)),
        };
        let shares = shares_bps(&weighted.iter().map(|(_, w, _)| *w).collect::<Vec<_>>());
        let mix: Vec<ChannelShare> = weighted
            .into_iter()
            .zip(shares)
            .map(|((channel, _, source), share_bps)| ChannelShare {
                channel,
                share_bps,
                source,
            })
            .collect();
        self.c.assume(
            "channel_mix",
            mix.iter()
                .map(|s| format!("{} {}", s.channel.display_name(), percent(s.share_bps)))
                .collect::<Vec<_>>()
                .join(", "),
            origin,
        );
        mix
    }

    /// One ad set per channel of the mix, all with the same audience.
    fn ad_sets(
        &mut self,
        s: &Subject,
        a: &Audience,
        audience_text: &str,
        mix: &[ChannelShare],
        cpa: Option<Money>,
    ) -> Vec<AdSet> {
        let mut keywords: Vec<String> = Vec::new();
        if !s.product_name.is_empty() {
            keywords.push(cut(&s.product_name.to_lowercase(), 80));
            if s.product.is_some()
                && !s.brand_name.is_empty()
                && !s.product_name.eq_ignore_ascii_case(&s.brand_name)
            {
                keywords.push(cut(
                    &format!("{} {}", s.brand_name, s.product_name).to_lowercase(),
                    80,
                ));
            }
        }
        self.c.assume(
            "draft.ad_sets[*].targeting.keywords",
            if keywords.is_empty() {
                "none".to_owned()
            } else {
                keywords.join(", ")
            },
            inferred("the product's name, for Google Ads search only"),
        );
        let mut bidding = match cpa {
            Some(cap) => format!("cost cap at {cap}"),
            None => "lowest cost".to_owned(),
        };
        if mix.iter().any(|m| m.channel == Channel::Kiki) {
            bidding.push_str(", value-based on KIKI programmatic");
        }
        self.c.assume(
            "draft.ad_sets[*].bid_strategy",
            bidding,
            inferred(if cpa.is_some() {
                "the max CPA caps each result's cost"
            } else {
                "no max CPA: the platforms' lowest-cost bidding"
            }),
        );
        mix.iter()
            .map(|m| {
                let (bid_strategy, bid_cap) = match (m.channel, cpa) {
                    (Channel::Kiki, _) => (BidStrategy::ValueBased, None),
                    (_, Some(cap)) => (BidStrategy::CostCap, Some(cap)),
                    (_, None) => (BidStrategy::LowestCost, None),
                };
                AdSet {
                    name: cut(
                        &format!("{} — {audience_text}", m.channel.display_name()),
                        200,
                    ),
                    channel: m.channel,
                    targeting: Targeting {
                        countries: a.countries.clone(),
                        age_min: a.age_min,
                        age_max: a.age_max,
                        genders: a
                            .genders
                            .iter()
                            .map(|g| gender_name(*g).to_owned())
                            .collect(),
                        interests: Vec::new(),
                        keywords: if m.channel == Channel::Google {
                            keywords.clone()
                        } else {
                            Vec::new()
                        },
                        audiences: Vec::new(),
                    },
                    budget_share_bps: m.share_bps,
                    bid_strategy,
                    bid_cap,
                }
            })
            .collect()
    }

    /// "<product or brand> — <Mon YYYY>" of the start.
    fn name(&mut self, s: &Subject, start: Date) -> String {
        let subject = if s.product_name.is_empty() {
            "Campaign"
        } else {
            &s.product_name
        };
        let month = MONTHS[usize::from(u8::from(start.month())) - 1];
        let name = format!(
            "{} — {month} {}",
            cut(&capitalised(subject), 150),
            start.year()
        );
        self.c.assume(
            "draft.name",
            name.clone(),
            inferred("the product (or brand) and the month the campaign starts"),
        );
        name
    }

    /// The goal as written, else a sentence made of the plan.
    fn objective(&mut self, s: &Subject, b: &Budget, audience: &str, roi: f64) -> String {
        if let Some(t) = self.goal_text {
            let text = cut(t, 2_000);
            self.c.assume(
                "draft.objective",
                text.clone(),
                AssumptionOrigin::Extracted {
                    text: text.clone(),
                    start: 0,
                    end: text.len(),
                },
            );
            return text;
        }
        let verb = match s.kind {
            CampaignKind::Shopping => "Sell",
            CampaignKind::Leads => "Win leads for",
            CampaignKind::AppInstalls => "Win installs of",
        };
        let subject = if s.product_name.is_empty() {
            "the offer"
        } else {
            &s.product_name
        };
        let days = b.days;
        let money = match (&b.total, b.daily.micros > 0) {
            (Some(t), _) => format!(" with {t} over {days} days"),
            (None, true) => format!(" with {} a day for {days} days", b.daily),
            (None, false) => format!(" over {days} days"),
        };
        let text = format!(
            "{verb} {subject} to {audience}{money}, aiming at a {} return on ad spend.",
            times(roi)
        );
        self.c.assume(
            "draft.objective",
            text.clone(),
            inferred("the plan's product, audience, budget and target"),
        );
        text
    }

    fn brief(&mut self, s: &Subject, audience: String) -> CreativeBrief {
        self.c.assume(
            "brief.brand",
            s.brand_name.clone(),
            inferred("draft.brand_name"),
        );
        self.c.assume(
            "brief.product",
            s.product_name.clone(),
            s.product_origin.clone(),
        );
        let mut cands = layer_cands(&self.layers, |f| trimmed(&f.key_message));
        if let Some(d) = self.page.and_then(|p| p.description.clone()) {
            cands.push(Cand {
                value: d,
                origin: from_page("the page's description"),
                who: PAGE.to_owned(),
            });
        }
        let (message, mut message_origin) = self
            .c
            .first("brief.key_message", cands, text_check(MAX_MESSAGE_CHARS))
            .unwrap_or_else(|| {
                let m = if s.product.is_some() && !s.brand_name.is_empty() {
                    format!("{} from {}", s.product_name, s.brand_name)
                } else {
                    s.product_name.clone()
                };
                (
                    m,
                    defaulted("no key message given: the product and the brand"),
                )
            });
        let mut key_message = scrub_claims(&mut self.c, &message);
        if key_message.is_empty() {
            key_message = s.product_name.clone();
            message_origin = defaulted(
                "nothing was left of the key message once its claims were removed: the product's name",
            );
        }
        self.c
            .assume("brief.key_message", key_message.clone(), message_origin);

        let industry = s.industry;
        let cands = layer_cands(&self.layers, |f| f.tone);
        let (tone, tone_origin) = self.c.first("brief.tone", cands, Ok).unwrap_or_else(|| {
            let t = default_tone(industry);
            (
                t,
                defaulted(format!(
                    "the usual voice in {}: {}",
                    industry.as_str(),
                    tone_name(t)
                )),
            )
        });
        self.c.assume("brief.tone", tone_name(tone), tone_origin);
        self.c.assume(
            "brief.industry",
            industry.as_str(),
            inferred("draft.industry"),
        );
        self.c.assume(
            "brief.landing_url",
            s.landing_url.clone(),
            inferred("draft.landing_url"),
        );
        let cta = call_to_action(s.kind);
        self.c.assume(
            "brief.call_to_action",
            cta,
            defaulted(format!(
                "the call to action of {} campaigns",
                kind_name(s.kind)
            )),
        );
        let visuals: Vec<String> = visual_guidelines(industry)
            .iter()
            .map(|v| (*v).to_owned())
            .collect();
        self.c.assume(
            "brief.visual_guidelines",
            visuals.join(" "),
            defaulted(format!("the guidelines for {}", industry.as_str())),
        );
        CreativeBrief {
            brand: s.brand_name.clone(),
            product: s.product_name.clone(),
            key_message,
            audience,
            tone,
            industry: industry.as_str().to_owned(),
            landing_url: s.landing_url.clone(),
            call_to_action: Some(cta.to_owned()),
            visual_guidelines: visuals,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removals_leave_tidy_text() {
        assert_eq!(
            tidy("Soft skin in two weeks, , ."),
            "Soft skin in two weeks."
        );
        assert_eq!(tidy(" ,  and calm mornings"), "calm mornings");
        assert_eq!(tidy("Fresh coffee,  and"), "Fresh coffee");
        assert_eq!(tidy("Plain words stay."), "Plain words stay.");
    }

    #[test]
    fn percentages_and_returns_read_as_people_write_them() {
        assert_eq!(percent(10_000), "100 %");
        assert_eq!(percent(3_250), "32.5 %");
        assert_eq!(percent(3_333), "33.33 %");
        assert_eq!(percent(5), "0.05 %");
        assert_eq!(times(3.0), "3×");
        assert_eq!(times(2.5), "2.5×");
    }
}
