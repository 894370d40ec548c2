//! Reading a goal written in words. Every value found says where it came
//! from ([`Origin`]): the exact text it was read from, the rule that
//! inferred it, or nothing (the plan then applies a default and says so).
//!
//! What is read: a total or daily budget (`$100k`, `€ 50,000`, `2m USD`,
//! `$500 a day`), a duration (`over 60 days`, `for 8 weeks`, `3 months`), a
//! target return (`ROI 3x`, `4x ROAS`, `ROI of 300%`), an age range (`25-44`,
//! `aged 18 to 34`, `18+`), genders (`women`, `men`), countries (names,
//! demonyms and codes: `US`, `U.S.`, `Germany`, `UK`), the product
//! (`launch our new serum`), the industry and the kind of campaign (sales,
//! leads or app installs).

use kiki_core::{Currency, Money};
use serde::{Deserialize, Serialize};

use crate::industry::{Industry, Restricted, classify, restricted};
use crate::tokens::{Kind, Token, tokenize};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// Read from this text of the goal (byte offsets into it).
    Extracted {
        text: String,
        start: usize,
        end: usize,
    },
    /// Inferred by a rule from other words.
    Inferred { from: String },
}

/// A value read from the goal, with its origin.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Read<T> {
    pub value: T,
    pub origin: Origin,
}

/// Who the goal addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Female,
    Male,
}

/// What the campaign is for (the platforms' campaign families).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignType {
    /// Sales of products (shopping campaigns).
    Sales,
    /// Sign-ups, demos, quotes (lead campaigns).
    Leads,
    /// App installs.
    AppInstalls,
}

/// Everything read from a goal. Absent fields were not in the text.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Goal {
    #[schema(value_type = Option<Object>)]
    pub total_budget: Option<Read<Money>>,
    #[schema(value_type = Option<Object>)]
    pub daily_budget: Option<Read<Money>>,
    #[schema(value_type = Option<Object>)]
    pub duration_days: Option<Read<u32>>,
    /// Revenue per unit of spend aimed at (3.0 = 3×).
    #[schema(value_type = Option<Object>)]
    pub target_roi: Option<Read<f64>>,
    #[schema(value_type = Option<Object>)]
    pub age_range: Option<Read<(u8, u8)>>,
    #[schema(value_type = Vec<Object>)]
    pub genders: Vec<Read<Gender>>,
    /// ISO 3166-1 alpha-2 codes.
    #[schema(value_type = Vec<Object>)]
    pub countries: Vec<Read<String>>,
    #[schema(value_type = Option<Object>)]
    pub product: Option<Read<String>>,
    #[schema(value_type = Option<Object>)]
    pub industry: Option<Read<Industry>>,
    #[schema(value_type = Object)]
    pub campaign_type: Read<CampaignType>,
    /// Restricted categories the goal touches, with what each requires.
    #[schema(value_type = Vec<Object>)]
    pub restricted: Vec<Read<Restricted>>,
}

fn extracted(text: &str, start: usize, end: usize) -> Origin {
    Origin::Extracted {
        text: text[start..end].to_owned(),
        start,
        end,
    }
}

/// Currency words and codes, lower-case.
fn currency_word(w: &str) -> Option<Currency> {
    Some(match w {
        "usd" | "dollars" | "dollar" | "bucks" => Currency::USD,
        "eur" | "euro" | "euros" => Currency::EUR,
        "gbp" | "pounds" | "pound" | "quid" => Currency::GBP,
        other if other.len() == 3 && other.chars().all(|c| c.is_ascii_alphabetic()) => {
            // Any other ISO code the money type knows (CAD, AUD, JPY, …);
            // ordinary three-letter words are not codes.
            let upper = other.to_ascii_uppercase();
            if [
                "CAD", "AUD", "JPY", "CHF", "SEK", "NOK", "DKK", "NZD", "SGD", "INR", "BRL", "MXN",
                "PLN",
            ]
            .contains(&upper.as_str())
            {
                Currency::parse(&upper).ok()?
            } else {
                return None;
            }
        }
        _ => return None,
    })
}

fn currency_symbol(c: char) -> Option<Currency> {
    match c {
        '$' => Some(Currency::USD),
        '€' => Some(Currency::EUR),
        '£' => Some(Currency::GBP),
        '¥' => Currency::parse("JPY").ok(),
        _ => None,
    }
}

/// Countries by name, demonym or code (codes only in capitals, so "us" the
/// pronoun is not the United States).
const COUNTRIES: &[(&str, &[&str])] = &[
    (
        "US",
        &[
            "usa",
            "u.s.",
            "u.s.a.",
            "united states",
            "america",
            "american",
            "americans",
        ],
    ),
    (
        "GB",
        &[
            "uk",
            "u.k.",
            "united kingdom",
            "britain",
            "british",
            "england",
            "english",
        ],
    ),
    ("DE", &["germany", "german", "germans"]),
    ("FR", &["france", "french"]),
    ("ES", &["spain", "spanish"]),
    ("IT", &["italy", "italian", "italians"]),
    ("NL", &["netherlands", "holland", "dutch"]),
    ("CA", &["canada", "canadian", "canadians"]),
    ("AU", &["australia", "australian", "australians"]),
    ("NZ", &["new zealand"]),
    ("IE", &["ireland", "irish"]),
    ("SE", &["sweden", "swedish"]),
    ("CH", &["switzerland", "swiss"]),
    ("AT", &["austria", "austrian"]),
    ("JP", &["japan", "japanese"]),
    ("IN", &["india", "indian"]),
    ("BR", &["brazil", "brazilian"]),
    ("MX", &["mexico", "mexican"]),
    ("SG", &["singapore"]),
];

/// Codes written in capitals in the goal ("US women", "in the UK").
const CODES: &[(&str, &str)] = &[
    ("US", "US"),
    ("USA", "US"),
    ("UK", "GB"),
    ("GB", "GB"),
    ("DE", "DE"),
    ("FR", "FR"),
    ("CA", "CA"),
    ("AU", "AU"),
];

const FEMALE: &[&str] = &[
    "women", "woman", "female", "females", "ladies", "girls", "mothers", "moms", "mums",
];
const MALE: &[&str] = &["men", "man", "male", "males", "guys", "fathers", "dads"];
const LEADS: &[&str] = &[
    "leads",
    "lead",
    "sign-ups",
    "signups",
    "signup",
    "demo",
    "demos",
    "quote",
    "quotes",
    "webinar",
    "registrations",
    "b2b",
    "bookings",
];
const APPS: &[&str] = &[
    "app",
    "apps",
    "install",
    "installs",
    "download",
    "downloads",
];
const DAILY: &[&str] = &["day", "daily", "a-day", "per-day"];
const DAYS: &[&str] = &["day", "days"];
const WEEKS: &[&str] = &["week", "weeks", "wk", "wks"];
const MONTHS: &[&str] = &["month", "months", "mo"];
const ROI_WORDS: &[&str] = &["roi", "roas", "return", "returns"];

/// The origin of the campaign type when no word of the goal decided it.
pub(crate) const NO_KIND_WORDS: &str = "no words about leads or app installs: a sales campaign";

/// Reads `text`. Amounts without a currency are in `currency` (the
/// organisation's).
pub fn read_goal(text: &str, currency: Currency) -> Goal {
    let t = tokenize(text);
    let word = |i: usize| t.get(i).and_then(Token::word);
    let is = |i: usize, any: &[&str]| t.get(i).is_some_and(|x| x.is_word(any));

    // Amounts: a currency symbol before a number, or a currency word after.
    let mut total = None;
    let mut daily = None;
    let mut used = vec![false; t.len()];
    for i in 0..t.len() {
        let Some(value) = t[i].number() else { continue };
        let before = i
            .checked_sub(1)
            .and_then(|j| t[j].symbol())
            .and_then(currency_symbol);
        let after = word(i + 1).and_then(currency_word);
        let explicit = before.or(after);
        let budget_context = (i.saturating_sub(3)..i)
            .any(|j| is(j, &["budget", "spend", "spending", "with", "invest"]));
        let Some(cur) = explicit.or(budget_context.then_some(currency)) else {
            continue;
        };
        if explicit.is_none() && t[i].integer().is_some_and(|n| n < 100) {
            continue; // "with 3 ads" is not a budget
        }
        let start = if before.is_some() {
            t[i - 1].start
        } else {
            t[i].start
        };
        let mut end = if after.is_some() {
            t[i + 1].end
        } else {
            t[i].end
        };
        let next = if after.is_some() { i + 2 } else { i + 1 };
        // "$500 a day", "$500/day", "$500 per day", "daily budget of $500"
        let per_day = (is(next, &["a", "per"]) && is(next + 1, DAILY))
            || (t.get(next).and_then(Token::symbol) == Some('/') && is(next + 1, DAILY))
            || (i.saturating_sub(4)..i).any(|j| is(j, &["daily"]));
        if per_day && !(i.saturating_sub(4)..i).any(|j| is(j, &["daily"])) {
            end = t[next + 1].end;
        }
        let Ok(money) = Money::parse_decimal(&format!("{value:.6}"), cur) else {
            continue;
        };
        let read = Read {
            value: money,
            origin: extracted(text, start, end),
        };
        used[i] = true;
        if per_day {
            daily.get_or_insert(read);
        } else {
            total.get_or_insert(read);
        }
    }

    // Durations: a number then days, weeks or months (not ages: "25 years").
    let mut duration = None;
    for i in 0..t.len() {
        let Some(n) = t[i].integer() else { continue };
        if used[i] || n == 0 {
            continue;
        }
        let mut unit = i + 1;
        if t.get(unit).and_then(Token::symbol) == Some('-') {
            unit += 1; // "60-day"
        }
        let days = if is(unit, DAYS) && !is(unit + 1, &["a", "per"]) {
            n
        } else if is(unit, WEEKS) {
            n * 7
        } else if is(unit, MONTHS) {
            n * 30
        } else {
            continue;
        };
        if (i.saturating_sub(2)..i).any(|j| t[j].symbol().and_then(currency_symbol).is_some()) {
            continue;
        }
        duration.get_or_insert(Read {
            value: days,
            origin: extracted(text, t[i].start, t[unit].end),
        });
        used[i] = true;
    }

    // Target return: "ROI 3x", "3x ROAS", "ROI of 300%", "3x return".
    let mut roi = None;
    for i in 0..t.len() {
        let Some(v) = t[i].number() else { continue };
        if used[i] {
            continue;
        }
        let times =
            is(i + 1, &["x"]) || t[i].end < text.len() && text[t[i].end..].starts_with(['x', '×']);
        let percent = t.get(i + 1).and_then(Token::symbol) == Some('%');
        let near_roi = (i.saturating_sub(3)..i).any(|j| is(j, ROI_WORDS))
            || (i + 1..(i + 4).min(t.len())).any(|j| is(j, ROI_WORDS));
        if !near_roi || !(times || percent || (i.saturating_sub(3)..i).any(|j| is(j, ROI_WORDS))) {
            continue;
        }
        let value = if percent { v / 100.0 } else { v };
        if !(0.1..=100.0).contains(&value) {
            continue;
        }
        let end = if percent || is(i + 1, &["x"]) {
            t[i + 1].end
        } else if times {
            t[i].end + 1
        } else {
            t[i].end
        };
        roi.get_or_insert(Read {
            value,
            origin: extracted(text, t[i].start, end),
        });
        used[i] = true;
    }
    // Ages: "25-44", "25 to 44", "aged 18 to 34", "18+".
    let mut ages = None;
    for i in 0..t.len() {
        let Some(lo) = t[i].integer() else { continue };
        if used[i] || !(13..=99).contains(&lo) {
            continue;
        }
        let sep = t
            .get(i + 1)
            .and_then(Token::symbol)
            .is_some_and(|c| matches!(c, '-' | '–' | '—'))
            || is(i + 1, &["to"]);
        if sep
            && let Some(hi) = t.get(i + 2).and_then(Token::integer)
            && (lo..=99).contains(&hi)
            && !is(i + 3, DAYS)
            && !is(i + 3, WEEKS)
            && !is(i + 3, MONTHS)
        {
            ages.get_or_insert(Read {
                value: (lo as u8, hi as u8),
                origin: extracted(text, t[i].start, t[i + 2].end),
            });
            used[i] = true;
            used[i + 2] = true;
        } else if t.get(i + 1).and_then(Token::symbol) == Some('+') {
            ages.get_or_insert(Read {
                value: (lo as u8, 65),
                origin: extracted(text, t[i].start, t[i + 1].end),
            });
            used[i] = true;
        }
    }

    let mut genders: Vec<Read<Gender>> = Vec::new();
    for tok in &t {
        let g = if tok.is_word(FEMALE) {
            Gender::Female
        } else if tok.is_word(MALE) {
            Gender::Male
        } else {
            continue;
        };
        if !genders.iter().any(|r| r.value == g) {
            genders.push(Read {
                value: g,
                origin: extracted(text, tok.start, tok.end),
            });
        }
    }

    let mut countries: Vec<Read<String>> = Vec::new();
    let mut add_country = |code: &str, start: usize, end: usize| {
        if !countries.iter().any(|c| c.value == code) {
            countries.push(Read {
                value: code.to_owned(),
                origin: extracted(text, start, end),
            });
        }
    };
    for (i, tok) in t.iter().enumerate() {
        let Kind::Word(w) = &tok.kind else { continue };
        let original = &text[tok.start..tok.end];
        if let Some((_, code)) = CODES.iter().find(|(c, _)| *c == original) {
            add_country(code, tok.start, tok.end);
            continue;
        }
        for (code, names) in COUNTRIES {
            for name in *names {
                let parts: Vec<&str> = name.split(' ').collect();
                let matches = parts
                    .iter()
                    .enumerate()
                    .all(|(k, p)| t.get(i + k).and_then(Token::word) == Some(p));
                if matches && parts[0] == w {
                    add_country(code, tok.start, t[i + parts.len() - 1].end);
                }
            }
        }
    }

    // The product: what follows "launch/promote/sell (our|the|a) (new)".
    let mut product = None;
    for i in 0..t.len() {
        if !is(
            i,
            &[
                "launch",
                "launching",
                "promote",
                "promoting",
                "sell",
                "selling",
                "advertise",
            ],
        ) {
            continue;
        }
        let mut j = i + 1;
        while is(j, &["our", "the", "a", "an", "my", "new", "latest"]) {
            j += 1;
        }
        let first = j;
        while word(j).is_some_and(|w| {
            !["with", "for", "over", "in", "to", "and", "at", "on", "by"].contains(&w)
        }) {
            j += 1;
        }
        if j > first {
            product = Some(Read {
                value: text[t[first].start..t[j - 1].end].to_owned(),
                origin: extracted(text, t[first].start, t[j - 1].end),
            });
            break;
        }
    }

    let words = t.iter().filter_map(Token::word);
    let industry = classify(words.clone()).map(|(industry, w)| Read {
        value: industry,
        origin: Origin::Inferred {
            from: format!("the word \"{w}\""),
        },
    });
    let campaign_type = if let Some(w) = words.clone().find(|w| APPS.contains(w)) {
        Read {
            value: CampaignType::AppInstalls,
            origin: Origin::Inferred {
                from: format!("the word \"{w}\""),
            },
        }
    } else if let Some(w) = words.clone().find(|w| LEADS.contains(w)) {
        Read {
            value: CampaignType::Leads,
            origin: Origin::Inferred {
                from: format!("the word \"{w}\""),
            },
        }
    } else {
        Read {
            value: CampaignType::Sales,
            origin: Origin::Inferred {
                from: NO_KIND_WORDS.to_owned(),
            },
        }
    };
    let restricted = restricted(words)
        .into_iter()
        .map(|(r, w)| Read {
            value: r,
            origin: Origin::Inferred {
                from: format!("the word \"{w}\""),
            },
        })
        .collect();

    Goal {
        total_budget: total,
        daily_budget: daily,
        duration_days: duration,
        target_roi: roi,
        age_range: ages,
        genders,
        countries,
        product,
        industry,
        campaign_type,
        restricted,
    }
}
