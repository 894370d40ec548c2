//! What the demo agency's two client shops run: their sandbox platforms,
//! the campaigns launched 90 days ago, the campaign waiting for approval,
//! and the briefs the built-in writer turns into creatives. Written as the
//! API's JSON so it reads like the requests a person would send.

use kiki_twin::Platform;
use serde_json::{Value, json};
use time::Date;

/// One client shop of the demo agency (the organisations the identity
/// bootstrap creates, found by name).
pub(crate) struct Client {
    /// The organisation's name.
    pub name: &'static str,
    pub brand: &'static str,
    pub site: &'static str,
    /// The sandbox markets it is connected to.
    pub platforms: &'static [Platform],
    /// Launched at the start of the history, in this order.
    pub live: &'static [CampaignSpec],
    /// Submitted today: its launch waits for approval.
    pub pending: CampaignSpec,
    /// A person's own copy on the pending campaign, which the policy review
    /// sends to a person (an unsourced claim).
    pub flagged_copy: (&'static str, Value),
}

/// A campaign of the demo.
pub(crate) struct CampaignSpec {
    pub name: &'static str,
    pub objective: &'static str,
    pub path: &'static str,
    pub product: &'static str,
    pub key_message: &'static str,
    pub audience: &'static str,
    /// Whole currency units a day.
    pub daily_budget: i64,
    /// Days of the flight, counted from its first day; `None`: always on
    /// (until paused or completed).
    pub flight_days: Option<i64>,
    /// `(name, channel, share in basis points, targeting)`.
    pub ad_sets: &'static [(&'static str, &'static str, u32, AdSetTargeting)],
}

/// Who an ad set reaches.
#[derive(Clone, Copy)]
pub(crate) struct AdSetTargeting {
    pub ages: (u8, u8),
    pub genders: &'static [&'static str],
    pub keywords: &'static [&'static str],
}

const ADULTS: AdSetTargeting = AdSetTargeting {
    ages: (18, 65),
    genders: &[],
    keywords: &[],
};

/// The demo agency's clients.
pub(crate) fn clients() -> Vec<Client> {
    vec![
        Client {
            name: "Demo Shop",
            brand: "Lumière",
            site: "https://lumiere.example",
            platforms: &[Platform::Meta, Platform::Google, Platform::Snapchat],
            live: &[
                CampaignSpec {
                    name: "Search: skincare essentials",
                    objective: "New customers searching for serums, night creams and sun care",
                    path: "/essentials",
                    product: "skincare essentials",
                    key_message: "Dermatologist-tested serums and creams, free returns",
                    audience: "adults in the US looking for skincare",
                    daily_budget: 450,
                    flight_days: None,
                    ad_sets: &[(
                        "Search: serums and creams",
                        "google",
                        10_000,
                        AdSetTargeting {
                            keywords: &["vitamin c serum", "night cream", "spf moisturiser"],
                            ..ADULTS
                        },
                    )],
                },
                CampaignSpec {
                    name: "Social: spring serum",
                    objective: "Introduce the spring serum to new customers on social feeds",
                    path: "/spring-serum",
                    product: "the spring serum",
                    key_message: "A light vitamin C serum for brighter skin, free returns",
                    audience: "women 25-44 in the US",
                    daily_budget: 1_200,
                    flight_days: None,
                    ad_sets: &[
                        (
                            "Meta: women 25-44",
                            "meta",
                            5_500,
                            AdSetTargeting {
                                ages: (25, 44),
                                genders: &["female"],
                                keywords: &[],
                            },
                        ),
                        (
                            "Snapchat: 18-34",
                            "snapchat",
                            4_500,
                            AdSetTargeting {
                                ages: (18, 34),
                                ..ADULTS
                            },
                        ),
                    ],
                },
            ],
            pending: CampaignSpec {
                name: "Holiday gift sets",
                objective: "Sell the holiday gift sets before the end of the year",
                path: "/gift-sets",
                product: "holiday gift sets",
                key_message: "Gift sets of our best-loved serums, wrapped and ready",
                audience: "adults in the US buying gifts",
                daily_budget: 2_400,
                flight_days: Some(45),
                ad_sets: &[
                    ("Meta: gift buyers", "meta", 4_000, ADULTS),
                    (
                        "Search: skincare gifts",
                        "google",
                        3_500,
                        AdSetTargeting {
                            keywords: &["skincare gift set", "serum gift"],
                            ..ADULTS
                        },
                    ),
                    ("Snapchat: gift ideas", "snapchat", 2_500, ADULTS),
                ],
            },
            flagged_copy: (
                "meta",
                json!({
                    "headlines": ["Clinically proven glow"],
                    "primary_text": "Lumière gift sets: clinically proven serums, wrapped for the holidays."
                }),
            ),
        },
        Client {
            name: "Demo Outdoor Co",
            brand: "Ridgeline",
            site: "https://ridgeline.example",
            platforms: &[Platform::Meta, Platform::Google, Platform::Pinterest],
            live: &[
                CampaignSpec {
                    name: "Search: tents and packs",
                    objective: "New customers searching for tents, backpacks and sleeping bags",
                    path: "/camping",
                    product: "tents and backpacks",
                    key_message: "Light, tough camping gear with a lifetime repair service",
                    audience: "hikers and campers in the US",
                    daily_budget: 380,
                    flight_days: None,
                    ad_sets: &[(
                        "Search: camping gear",
                        "google",
                        10_000,
                        AdSetTargeting {
                            keywords: &["lightweight tent", "hiking backpack", "sleeping bag"],
                            ..ADULTS
                        },
                    )],
                },
                CampaignSpec {
                    name: "Social: trail season",
                    objective: "Reach hikers planning their trail season",
                    path: "/trail-season",
                    product: "trail running and hiking gear",
                    key_message: "Everything for the trail season, shipped in two days",
                    audience: "outdoor enthusiasts 25-54 in the US",
                    daily_budget: 900,
                    flight_days: None,
                    ad_sets: &[
                        (
                            "Meta: hikers 25-54",
                            "meta",
                            6_000,
                            AdSetTargeting {
                                ages: (25, 54),
                                ..ADULTS
                            },
                        ),
                        ("Pinterest: trail planners", "pinterest", 4_000, ADULTS),
                    ],
                },
            ],
            pending: CampaignSpec {
                name: "Winter gear pre-orders",
                objective: "Take pre-orders for the winter jackets and boots",
                path: "/winter",
                product: "winter jackets and boots",
                key_message: "Warm, waterproof winter gear: pre-order now, ships in November",
                audience: "outdoor enthusiasts in the US",
                daily_budget: 1_800,
                flight_days: Some(60),
                ad_sets: &[
                    ("Meta: winter hikers", "meta", 5_000, ADULTS),
                    (
                        "Search: winter jackets",
                        "google",
                        3_000,
                        AdSetTargeting {
                            keywords: &["waterproof winter jacket", "insulated boots"],
                            ..ADULTS
                        },
                    ),
                    ("Pinterest: winter trips", "pinterest", 2_000, ADULTS),
                ],
            },
            flagged_copy: (
                "pinterest",
                json!({
                    "headlines": ["Ridgeline: the number one jacket for winter trails"],
                }),
            ),
        },
    ]
}

impl CampaignSpec {
    /// The campaign as `POST /v1/campaigns` takes it, starting on `start`.
    pub fn draft(&self, client: &Client, start: Date) -> Value {
        let end = self
            .flight_days
            .map(|d| day(start + time::Duration::days(d - 1)));
        let ad_sets: Vec<Value> = self
            .ad_sets
            .iter()
            .map(|(name, channel, share, t)| {
                let mut targeting = json!({
                    "countries": ["US"],
                    "age_min": t.ages.0,
                    "age_max": t.ages.1,
                });
                if !t.genders.is_empty() {
                    targeting["genders"] = json!(t.genders);
                }
                if !t.keywords.is_empty() {
                    targeting["keywords"] = json!(t.keywords);
                }
                json!({
                    "name": name,
                    "channel": channel,
                    "budget_share_bps": share,
                    "bid_strategy": "lowest_cost",
                    "targeting": targeting,
                })
            })
            .collect();
        json!({
            "name": self.name,
            "objective": self.objective,
            "kind": "shopping",
            "landing_url": format!("{}{}", client.site, self.path),
            "brand_name": client.brand,
            "industry": "ecommerce",
            "currency": "USD",
            "daily_budget": {"micros": self.daily_budget * 1_000_000, "currency": "USD"},
            "schedule": {"start": day(start), "end": end, "time_zone": "UTC"},
            "asset_source": "generated",
            "ad_sets": ad_sets,
        })
    }

    /// The creative brief of the campaign for one of its channels, as
    /// `POST /v1/creatives/generate` takes it.
    pub fn generate(&self, client: &Client, campaign: uuid::Uuid, channel: &str) -> Value {
        json!({
            "campaign_id": campaign,
            "channel": channel,
            "count": 2,
            "brief": {
                "brand": client.brand,
                "product": self.product,
                "key_message": self.key_message,
                "audience": self.audience,
                "industry": "ecommerce",
                "landing_url": format!("{}{}", client.site, self.path),
                "call_to_action": "Shop now",
            },
        })
    }

    /// The distinct channels of its ad sets, in order.
    pub fn channels(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for (_, channel, _, _) in self.ad_sets {
            if !out.contains(channel) {
                out.push(channel);
            }
        }
        out
    }
}

fn day(d: Date) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    d.format(&f).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every draft is one the campaigns' own validation accepts: shares sum
    /// to 10 000, ages in range, every channel a sandbox platform of its
    /// client.
    #[test]
    fn every_demo_campaign_is_a_valid_draft_on_its_clients_platforms() {
        let start = time::macros::date!(2026 - 03 - 01);
        for c in clients() {
            for spec in c.live.iter().chain(std::iter::once(&c.pending)) {
                let draft: kiki_campaigns::CampaignDraft =
                    serde_json::from_value(spec.draft(&c, start)).expect("the draft reads");
                let limits = kiki_campaigns::OrgLimits {
                    max_daily_budget: None,
                    today: start,
                };
                let errors = kiki_campaigns::validate_campaign(&draft, &limits);
                assert!(errors.is_empty(), "{}: {errors:?}", spec.name);
                for ch in spec.channels() {
                    let p = Platform::parse(ch).expect("a platform");
                    assert!(c.platforms.contains(&p), "{} runs on {ch}", spec.name);
                }
            }
        }
    }
}
