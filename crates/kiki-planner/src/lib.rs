//! SyncBrain's deterministic planner, free of IO. [`goal::read_goal`]
//! reads a goal written in words ("Launch our new serum with $100k over 60
//! days, target ROI 3x, US women 25-44") into amounts, durations, ratios,
//! ages, genders, countries, the industry and the kind of campaign, each
//! with where it came from: the span of the text it was read from, or the
//! rule that inferred it. [`industry`] holds the per-industry tables the
//! plan falls back on, and [`ceiling`] the margin-aware CPA ceiling.
//!
//! The campaigns context turns this into a plan (with the LTV model, the
//! allocator's channel mix and the organisation's caps); an LLM provider,
//! when configured, answers the same structure and this planner stands in
//! when it is absent or fails.

pub mod ceiling;
pub mod goal;
pub mod industry;
mod tokens;

pub use ceiling::max_cpa;
pub use goal::{CampaignType, Gender, Goal, Origin, Read, read_goal};
pub use industry::{Industry, IndustryProfile};
