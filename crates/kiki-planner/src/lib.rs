//! SyncBrain's deterministic planner, free of IO: no network, no files, no
//! clock (today is an input).
//!
//! - [`goal::read_goal`] reads a goal written in words ("Launch our new
//!   serum with $100k over 60 days, target ROI 3x, US women 25-44") into
//!   amounts, durations, ratios, ages, genders, countries, the industry and
//!   the kind of campaign, each with where it came from: the span of the
//!   text it was read from, or the rule that inferred it.
//! - [`page::read_page`] reads a landing page's HTML (title, description,
//!   Open Graph, JSON-LD products and organisation, headings, language) into
//!   [`PageFacts`]: the brand, the products, a price and the industry.
//! - [`plan::plan`] turns a goal, a form a person filled in and/or the page
//!   facts, with what the organisation knows ([`PlanInputs`]: currency,
//!   today, its LTV model's figure, its margin, its daily cap, the
//!   allocator's channel mix), into a [`CampaignPlan`]: a campaign draft
//!   ready to store, the creative brief, the LTV, margin and CPA ceiling,
//!   the channel mix, every value's origin, the guardrails that fired, the
//!   restricted categories touched and what a person must still supply.
//! - [`proposal::LlmProposal`] is what a language model may propose, with its
//!   checks and the JSON Schema for the prompt; [`plan::plan_with_proposal`]
//!   ranks its values between the form and the goal text.
//! - [`industry`] holds the per-industry tables the plan falls back on,
//!   [`mix`] the default channel mix and the share arithmetic, and
//!   [`ceiling`] the margin-aware CPA ceiling.
//!
//! The campaigns service fetches the page, asks the LTV model, the
//! allocator and (when configured) a language model, calls the planner and
//! stores the draft; without a language model, or when it fails, the
//! rule-based plan stands on its own.

pub mod ceiling;
pub mod goal;
pub mod industry;
pub mod mix;
pub mod page;
pub mod plan;
pub mod proposal;
mod tokens;

pub use ceiling::max_cpa;
pub use goal::{CampaignType, Gender, Goal, Origin, Read, read_goal};
pub use industry::{Industry, IndustryProfile, Restricted};
pub use mix::{default_channel_mix, shares_bps};
pub use page::{PageFacts, PageIndustry, PagePrice, read_page};
pub use plan::{
    Assumption, AssumptionOrigin, CampaignPlan, ChannelShare, GoalForm, Guardrail, GuardrailAction,
    LtvFigure, PlanFigure, PlanInputs, PlanRequest, RestrictedNote, plan, plan_with_proposal,
};
pub use proposal::LlmProposal;
