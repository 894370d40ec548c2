//! What a language model may propose for a plan, and the checks its answer
//! passes before any of it is used.
//!
//! The model answers one flat JSON object ([`LlmProposal`]) shaped by
//! [`LlmProposal::json_schema`], which goes into the prompt. Every value is
//! optional; enumerations travel as strings so that one unknown word costs
//! one field, not the whole answer. [`LlmProposal::validate`] lists every
//! problem as a field error; [`crate::plan_with_proposal`] uses the values
//! that pass, ranks them below what a person wrote in the form and above
//! what the rule-based reader found in the goal text, and runs the same
//! guardrails on them.

use kiki_campaigns::CampaignKind;
use kiki_core::{Currency, FieldError, Money};
use kiki_creative::{Channel, Tone};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::goal::Gender;
use crate::industry::Industry;
use crate::plan::{
    GoalForm, MAX_AGE, MAX_BRAND_CHARS, MAX_DURATION_DAYS, MAX_MESSAGE_CHARS, MAX_PRODUCT_CHARS,
    MIN_AGE,
};

/// The largest budget a model may propose, in major units.
pub const MAX_PROPOSED_MAJOR: f64 = 1e12;
/// The most countries a model may propose.
pub const MAX_PROPOSED_COUNTRIES: usize = 50;

/// The values a language model may propose for a plan, flat. Budgets are in
/// major units of the organisation's currency (dollars, not cents).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LlmProposal {
    pub product: Option<String>,
    pub brand: Option<String>,
    pub total_budget_major: Option<f64>,
    pub daily_budget_major: Option<f64>,
    pub duration_days: Option<u32>,
    /// Revenue per unit of spend aimed at (3.0 = 3×).
    pub target_roi: Option<f64>,
    /// ISO 3166-1 alpha-2 codes.
    pub countries: Vec<String>,
    pub age_min: Option<u32>,
    pub age_max: Option<u32>,
    /// `female`, `male`.
    pub genders: Vec<String>,
    /// The twin's industry name (`ecommerce`, `saas`, …).
    pub industry: Option<String>,
    /// `shopping`, `leads` or `app_installs`.
    pub kind: Option<String>,
    pub key_message: Option<String>,
    /// `friendly`, `premium`, `playful`, `urgent` or `professional`.
    pub tone: Option<String>,
    /// Channel names (`meta`, `google`, …).
    pub channels: Vec<String>,
}

/// The wire name of a serde enum value.
fn wire<T: Serialize>(v: T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The value a wire name names, exactly.
fn from_wire<T: DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(Value::String(s.to_owned())).ok()
}

const KINDS: [CampaignKind; 3] = [
    CampaignKind::Shopping,
    CampaignKind::Leads,
    CampaignKind::AppInstalls,
];
const GENDERS: [Gender; 2] = [Gender::Female, Gender::Male];

/// An amount in major units as money, exactly to the micro: finite, above
/// zero and at most [`MAX_PROPOSED_MAJOR`].
pub(crate) fn money_from_major(v: f64, currency: Currency) -> Option<Money> {
    if !v.is_finite() || v <= 0.0 || v > MAX_PROPOSED_MAJOR {
        return None;
    }
    Money::parse_decimal(&format!("{v:.6}"), currency)
        .ok()
        .filter(|m| m.micros > 0)
}

impl LlmProposal {
    /// Every problem of the proposal, each naming its field (`countries[1]`);
    /// empty when every value may be used.
    pub fn validate(&self) -> Vec<FieldError> {
        self.to_form(Currency::USD).1
    }

    /// The values that pass, as a form in `currency`, and the problems of
    /// the others.
    pub(crate) fn to_form(&self, currency: Currency) -> (GoalForm, Vec<FieldError>) {
        let mut errs = Vec::new();
        let mut text = |field: &str, v: &Option<String>, max: usize| -> Option<String> {
            let v = v.as_deref()?;
            let t = v.trim();
            if t.is_empty() || t.chars().count() > max {
                errs.push(FieldError::new(field, format!("1 to {max} characters.")));
                return None;
            }
            Some(t.to_owned())
        };
        let product = text("product", &self.product, MAX_PRODUCT_CHARS);
        let brand = text("brand", &self.brand, MAX_BRAND_CHARS);
        let key_message = text("key_message", &self.key_message, MAX_MESSAGE_CHARS);

        let mut money = |field: &str, v: Option<f64>| -> Option<Money> {
            let v = v?;
            let m = money_from_major(v, currency);
            if m.is_none() {
                errs.push(FieldError::new(
                    field,
                    format!(
                        "A finite amount above zero and at most {MAX_PROPOSED_MAJOR:.0}, in major units of the organisation's currency."
                    ),
                ));
            }
            m
        };
        let total_budget = money("total_budget_major", self.total_budget_major);
        let daily_budget = money("daily_budget_major", self.daily_budget_major);

        let duration_days = self.duration_days.filter(|d| {
            let ok = (1..=MAX_DURATION_DAYS).contains(d);
            if !ok {
                errs.push(FieldError::new(
                    "duration_days",
                    format!("1 to {MAX_DURATION_DAYS} days."),
                ));
            }
            ok
        });
        let target_roi = self.target_roi.filter(|r| {
            let ok = r.is_finite() && *r > 0.0 && *r <= 100.0;
            if !ok {
                errs.push(FieldError::new(
                    "target_roi",
                    "More than 0 and at most 100.",
                ));
            }
            ok
        });

        if self.countries.len() > MAX_PROPOSED_COUNTRIES {
            errs.push(FieldError::new(
                "countries",
                format!("At most {MAX_PROPOSED_COUNTRIES} countries."),
            ));
        }
        let mut countries: Vec<String> = Vec::new();
        for (i, c) in self
            .countries
            .iter()
            .enumerate()
            .take(MAX_PROPOSED_COUNTRIES)
        {
            if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) {
                let code = c.to_ascii_uppercase();
                if !countries.contains(&code) {
                    countries.push(code);
                }
            } else {
                errs.push(FieldError::new(
                    format!("countries[{i}]"),
                    "An ISO 3166-1 alpha-2 code, such as US or FR.",
                ));
            }
        }

        let mut age = |field: &str, v: Option<u32>| -> Option<u8> {
            let v = v?;
            if (u32::from(MIN_AGE)..=u32::from(MAX_AGE)).contains(&v) {
                u8::try_from(v).ok()
            } else {
                errs.push(FieldError::new(
                    field,
                    format!("An age from {MIN_AGE} to {MAX_AGE}."),
                ));
                None
            }
        };
        let mut age_min = age("age_min", self.age_min);
        let mut age_max = age("age_max", self.age_max);
        if let (Some(lo), Some(hi)) = (age_min, age_max)
            && lo > hi
        {
            errs.push(FieldError::new("age_min", "Not above age_max."));
            age_min = None;
            age_max = None;
        }

        let mut genders: Vec<Gender> = Vec::new();
        for (i, g) in self.genders.iter().enumerate() {
            match from_wire::<Gender>(g) {
                Some(g) if !genders.contains(&g) => genders.push(g),
                Some(_) => {}
                None => errs.push(FieldError::new(
                    format!("genders[{i}]"),
                    "`female` or `male`.",
                )),
            }
        }

        let industry = self.industry.as_deref().and_then(|s| {
            let i = Industry::parse(s);
            if i.is_none() {
                let names: Vec<&str> = Industry::ALL.iter().map(|i| i.as_str()).collect();
                errs.push(FieldError::new(
                    "industry",
                    format!("One of {}.", names.join(", ")),
                ));
            }
            i
        });
        let one_of = |names: Vec<String>| format!("One of {}.", names.join(", "));
        let kind = self.kind.as_deref().and_then(|s| {
            let k = from_wire::<CampaignKind>(s);
            if k.is_none() {
                errs.push(FieldError::new(
                    "kind",
                    one_of(KINDS.iter().map(|k| wire(*k)).collect()),
                ));
            }
            k
        });
        let tone = self.tone.as_deref().and_then(|s| {
            let t = from_wire::<Tone>(s);
            if t.is_none() {
                errs.push(FieldError::new(
                    "tone",
                    one_of(Tone::ALL.iter().map(|t| wire(*t)).collect()),
                ));
            }
            t
        });
        let mut channels: Vec<Channel> = Vec::new();
        for (i, c) in self.channels.iter().enumerate() {
            match from_wire::<Channel>(c) {
                Some(c) if !channels.contains(&c) => channels.push(c),
                Some(_) => {}
                None => errs.push(FieldError::new(
                    format!("channels[{i}]"),
                    one_of(Channel::ALL.iter().map(|c| wire(*c)).collect()),
                )),
            }
        }

        let form = GoalForm {
            product,
            brand,
            total_budget,
            daily_budget,
            duration_days,
            target_roi,
            countries,
            age_min,
            age_max,
            genders,
            industry,
            kind,
            landing_url: None,
            key_message,
            tone,
            channels,
        };
        (form, errs)
    }

    /// A JSON Schema (draft 2020-12) of the answer expected from the model,
    /// to put in the prompt: one object, every property optional (absent or
    /// `null` when the model has no proposal), no other properties.
    pub fn json_schema() -> Value {
        let nullable_enum = |names: Vec<String>| {
            let mut values: Vec<Value> = names.into_iter().map(Value::String).collect();
            values.push(Value::Null);
            Value::Array(values)
        };
        let text = |max: usize, what: &str| json!({ "type": ["string", "null"], "minLength": 1, "maxLength": max, "description": what });
        let amount = |what: &str| {
            json!({
                "type": ["number", "null"],
                "exclusiveMinimum": 0,
                "maximum": MAX_PROPOSED_MAJOR,
                "description": what,
            })
        };
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Campaign plan proposal",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "product": text(MAX_PRODUCT_CHARS, "The product or offer advertised, as the brand names it."),
                "brand": text(MAX_BRAND_CHARS, "The advertiser's brand as it should appear in the ads."),
                "total_budget_major": amount("The whole campaign's budget in major units (dollars, not cents) of the organisation's currency."),
                "daily_budget_major": amount("The budget per day in major units (dollars, not cents) of the organisation's currency."),
                "duration_days": {
                    "type": ["integer", "null"],
                    "minimum": 1,
                    "maximum": MAX_DURATION_DAYS,
                    "description": "How many days the campaign runs.",
                },
                "target_roi": {
                    "type": ["number", "null"],
                    "exclusiveMinimum": 0,
                    "maximum": 100,
                    "description": "Revenue per unit of ad spend aimed at: 3 means 3×.",
                },
                "countries": {
                    "type": "array",
                    "maxItems": MAX_PROPOSED_COUNTRIES,
                    "items": { "type": "string", "pattern": "^[A-Za-z]{2}$" },
                    "description": "ISO 3166-1 alpha-2 codes of the countries targeted; empty for no preference.",
                },
                "age_min": {
                    "type": ["integer", "null"],
                    "minimum": MIN_AGE,
                    "maximum": MAX_AGE,
                    "description": "The youngest age targeted.",
                },
                "age_max": {
                    "type": ["integer", "null"],
                    "minimum": MIN_AGE,
                    "maximum": MAX_AGE,
                    "description": "The oldest age targeted (65 means 65 and over).",
                },
                "genders": {
                    "type": "array",
                    "items": { "enum": GENDERS.iter().map(|g| wire(*g)).collect::<Vec<_>>() },
                    "description": "Empty for everyone.",
                },
                "industry": {
                    "enum": nullable_enum(Industry::ALL.iter().map(|i| i.as_str().to_owned()).collect()),
                    "description": "The advertiser's industry.",
                },
                "kind": {
                    "enum": nullable_enum(KINDS.iter().map(|k| wire(*k)).collect()),
                    "description": "What the campaign is for: product sales, leads (sign-ups, demos, quotes) or app installs.",
                },
                "key_message": text(MAX_MESSAGE_CHARS, "The one thing the ads must get across, without guarantees, cures or unsourced superlatives."),
                "tone": {
                    "enum": nullable_enum(Tone::ALL.iter().map(|t| wire(*t)).collect()),
                    "description": "The voice of the copy.",
                },
                "channels": {
                    "type": "array",
                    "items": { "enum": Channel::ALL.iter().map(|c| wire(*c)).collect::<Vec<_>>() },
                    "description": "The channels to run on; empty to let the planner choose.",
                },
            },
        })
    }
}
