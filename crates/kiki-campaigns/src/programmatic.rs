//! A KIKI programmatic ad set as the bidder's line item: the campaign's
//! schedule in its time zone becomes the flight, the ad set's share of the
//! budgets the line item's budgets, its countries the OpenRTB (alpha-3)
//! codes, its bid strategy the bidder's, and the campaign's approved copy
//! 300×250 HTML banners that carry the signed impression and click trackers.
//! What the open exchange cannot target (ages, genders, interests, keywords)
//! is listed in the line item's notes rather than silently dropped.

use kiki_bidder::lineitem::{
    BidStrategy as LiStrategy, Budget, Creative, CreativeFormat, Flight, FrequencyCap, Targeting,
};
use kiki_bidder::{CampaignId, LineItem, LineItemId};
use kiki_core::{FieldError, Money, OrgId};
use time::{Date, OffsetDateTime};

use crate::model::{AdSet, BidStrategy, CampaignDraft};

/// ISO 3166-1 alpha-2 → alpha-3, sorted by the alpha-2 code (249 entries,
/// the officially assigned codes).
const ISO3166: &str = "\
AD AND AE ARE AF AFG AG ATG AI AIA AL ALB AM ARM AO AGO AQ ATA AR ARG AS ASM AT AUT AU AUS AW ABW AX ALA AZ AZE \
BA BIH BB BRB BD BGD BE BEL BF BFA BG BGR BH BHR BI BDI BJ BEN BL BLM BM BMU BN BRN BO BOL BQ BES BR BRA BS BHS \
BT BTN BV BVT BW BWA BY BLR BZ BLZ CA CAN CC CCK CD COD CF CAF CG COG CH CHE CI CIV CK COK CL CHL CM CMR CN CHN \
CO COL CR CRI CU CUB CV CPV CW CUW CX CXR CY CYP CZ CZE DE DEU DJ DJI DK DNK DM DMA DO DOM DZ DZA EC ECU EE EST \
EG EGY EH ESH ER ERI ES ESP ET ETH FI FIN FJ FJI FK FLK FM FSM FO FRO FR FRA GA GAB GB GBR GD GRD GE GEO GF GUF \
GG GGY GH GHA GI GIB GL GRL GM GMB GN GIN GP GLP GQ GNQ GR GRC GS SGS GT GTM GU GUM GW GNB GY GUY HK HKG HM HMD \
HN HND HR HRV HT HTI HU HUN ID IDN IE IRL IL ISR IM IMN IN IND IO IOT IQ IRQ IR IRN IS ISL IT ITA JE JEY JM JAM \
JO JOR JP JPN KE KEN KG KGZ KH KHM KI KIR KM COM KN KNA KP PRK KR KOR KW KWT KY CYM KZ KAZ LA LAO LB LBN LC LCA \
LI LIE LK LKA LR LBR LS LSO LT LTU LU LUX LV LVA LY LBY MA MAR MC MCO MD MDA ME MNE MF MAF MG MDG MH MHL MK MKD \
ML MLI MM MMR MN MNG MO MAC MP MNP MQ MTQ MR MRT MS MSR MT MLT MU MUS MV MDV MW MWI MX MEX MY MYS MZ MOZ NA NAM \
NC NCL NE NER NF NFK NG NGA NI NIC NL NLD NO NOR NP NPL NR NRU NU NIU NZ NZL OM OMN PA PAN PE PER PF PYF PG PNG \
PH PHL PK PAK PL POL PM SPM PN PCN PR PRI PS PSE PT PRT PW PLW PY PRY QA QAT RE REU RO ROU RS SRB RU RUS RW RWA \
SA SAU SB SLB SC SYC SD SDN SE SWE SG SGP SH SHN SI SVN SJ SJM SK SVK SL SLE SM SMR SN SEN SO SOM SR SUR SS SSD \
ST STP SV SLV SX SXM SY SYR SZ SWZ TC TCA TD TCD TF ATF TG TGO TH THA TJ TJK TK TKL TL TLS TM TKM TN TUN TO TON \
TR TUR TT TTO TV TUV TW TWN TZ TZA UA UKR UG UGA UM UMI US USA UY URY UZ UZB VA VAT VC VCT VE VEN VG VGB VI VIR \
VN VNM VU VUT WF WLF WS WSM YE YEM YT MYT ZA ZAF ZM ZMB ZW ZWE";

/// The alpha-3 code of an assigned ISO 3166-1 alpha-2 code (`US` → `USA`).
pub fn alpha3(alpha2: &str) -> Option<&'static str> {
    let mut it = ISO3166.split_ascii_whitespace();
    while let (Some(two), Some(three)) = (it.next(), it.next()) {
        if two == alpha2 {
            return Some(three);
        }
    }
    None
}

/// Every assigned ISO 3166-1 alpha-2 code, in order.
pub fn alpha2_codes() -> impl Iterator<Item = &'static str> {
    ISO3166.split_ascii_whitespace().step_by(2)
}

/// The instant a calendar day starts in an IANA time zone (`UTC` included),
/// from the time zone database built into the binary. `None` for a zone the
/// database does not know.
pub fn day_start(day: Date, time_zone: &str) -> Option<OffsetDateTime> {
    let tz = jiff::tz::db().get(time_zone).ok()?;
    let civil = jiff::civil::date(
        day.year() as i16,
        u8::from(day.month()) as i8,
        day.day() as i8,
    );
    let zoned = civil.to_zoned(tz).ok()?;
    OffsetDateTime::from_unix_timestamp(zoned.timestamp().as_second()).ok()
}

/// True when the time zone database knows `time_zone`.
pub fn known_time_zone(time_zone: &str) -> bool {
    jiff::tz::db().get(time_zone).is_ok()
}

/// One approved creative of the campaign, as the banner shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BannerCopy {
    /// The creative's id (the banner's `crid` is derived from it).
    pub id: String,
    pub headline: String,
    pub description: Option<String>,
    /// An image the person supplied or the images endpoint made.
    pub image_url: Option<String>,
}

/// Everything the line item is built from.
#[derive(Debug, Clone)]
pub struct LineItemInputs<'a> {
    pub org: OrgId,
    /// The campaign (the line item's `cid`).
    pub campaign: uuid::Uuid,
    pub draft: &'a CampaignDraft,
    pub ad_set: &'a AdSet,
    /// The ad set's daily budget (its share of the campaign's).
    pub daily: Money,
    /// The customer value bids start from when a user's segment is unknown.
    pub ltv: Money,
    /// At most this many impressions per user per day.
    pub daily_frequency_cap: u32,
    pub active: bool,
    pub copies: &'a [BannerCopy],
}

/// The line item and the parts of the ad set the exchange cannot apply.
#[derive(Debug, Clone)]
pub struct ProgrammaticLineItem {
    pub line_item: LineItem,
    /// Sentences on what the open exchange does not target.
    pub notes: Vec<String>,
}

/// Banner size every programmatic creative is rendered in (the IAB medium
/// rectangle, the size most exchanges fill).
pub const BANNER: (u32, u32) = (300, 250);

/// The bidder line item for a KIKI programmatic ad set. Field errors name the
/// campaign's field (`schedule.time_zone`, `ad_sets[i].targeting.countries[k]`,
/// `creatives`).
pub fn line_item(
    i: &LineItemInputs<'_>,
    position: usize,
) -> Result<ProgrammaticLineItem, Vec<FieldError>> {
    let d = i.draft;
    let a = i.ad_set;
    let mut errs = Vec::new();
    let start = day_start(d.schedule.start, &d.schedule.time_zone);
    let end = match d.schedule.end {
        Some(e) => e
            .next_day()
            .and_then(|n| day_start(n, &d.schedule.time_zone))
            .map(Some),
        None => Some(None),
    };
    let (Some(start), Some(end)) = (start, end) else {
        errs.push(FieldError::new(
            "schedule.time_zone",
            format!(
                "The time zone {} is not in the time zone database.",
                d.schedule.time_zone
            ),
        ));
        return Err(errs);
    };
    let mut countries = Vec::new();
    for (k, c) in a.targeting.countries.iter().enumerate() {
        match alpha3(c) {
            Some(three) => countries.push(three.to_owned()),
            None => errs.push(FieldError::new(
                format!("ad_sets[{position}].targeting.countries[{k}]"),
                format!("{c} is not an assigned ISO 3166-1 country code."),
            )),
        }
    }
    if i.copies.is_empty() {
        errs.push(FieldError::new(
            "creatives",
            "KIKI programmatic needs at least one creative the policy review approved.",
        ));
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    let total = d.total_budget.map(|t| {
        let micros = i128::from(t.micros) * i128::from(a.budget_share_bps) / 10_000;
        Money::from_micros(micros.max(1) as i64, t.currency)
    });
    let bid_strategy = match (a.bid_strategy, a.bid_cap) {
        (BidStrategy::CostCap, Some(cap)) => LiStrategy::TargetCpa { cpa: cap },
        _ => match d.max_cpa {
            Some(cpa) if a.bid_strategy == BidStrategy::CostCap => LiStrategy::TargetCpa { cpa },
            _ => LiStrategy::ValueBased,
        },
    };
    let domain = landing_host(&d.landing_url);
    let creatives = i
        .copies
        .iter()
        .map(|c| Creative {
            id: format!("{}-{}x{}", c.id, BANNER.0, BANNER.1),
            format: CreativeFormat::Banner {
                w: BANNER.0,
                h: BANNER.1,
            },
            markup: banner_markup(c, &d.brand_name, &d.landing_url),
            adomain: domain.iter().cloned().collect(),
            categories: Vec::new(),
            attributes: Vec::new(),
            bundle: None,
        })
        .collect();
    let mut notes = Vec::new();
    let t = &a.targeting;
    let mut unused = Vec::new();
    if t.age_min.is_some() || t.age_max.is_some() {
        unused.push("ages");
    }
    if !t.genders.is_empty() {
        unused.push("genders");
    }
    if !t.interests.is_empty() {
        unused.push("interests");
    }
    if !t.keywords.is_empty() {
        unused.push("keywords");
    }
    if !unused.is_empty() {
        notes.push(format!(
            "Not applied on KIKI programmatic: {} (bid requests from exchanges carry no such fields; the bidder values users by their LTV segment instead).",
            unused.join(", ")
        ));
    }
    if !t.audiences.is_empty() {
        notes.push(
            "Audiences are applied through LTV segments: the bidder bids by the segment's predicted value."
                .to_owned(),
        );
    }
    let mut name = format!("{} · {}", d.name, a.name);
    if name.chars().count() > 200 {
        name = name.chars().take(200).collect();
    }
    let line_item = LineItem {
        id: LineItemId(uuid::Uuid::nil()),
        org_id: i.org,
        campaign_id: CampaignId(i.campaign),
        name,
        active: i.active,
        flight: Flight { start, end },
        budget: Budget {
            daily: i.daily,
            total,
        },
        pacing: Default::default(),
        bid_strategy,
        max_cpm: None,
        targeting: Targeting {
            countries,
            ..Targeting::default()
        },
        creatives,
        ltv_baseline: i.ltv,
        margin: Default::default(),
        frequency_cap: (i.daily_frequency_cap > 0).then_some(FrequencyCap {
            max_impressions: i.daily_frequency_cap,
            window_secs: 86_400,
        }),
        priors: None,
        deals: Default::default(),
    };
    Ok(ProgrammaticLineItem { line_item, notes })
}

/// The landing page's host without `www.` (the creative's advertiser domain,
/// which the click tracker redirects to).
fn landing_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = host.split(':').next()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_owned();
    (!host.is_empty()).then_some(host)
}

/// HTML text with `&`, `<`, `>`, `"` and `'` escaped.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The banner's HTML: the copy in a 300×250 box that links through the
/// signed click tracker to the landing page, and the impression beacon.
pub fn banner_markup(c: &BannerCopy, brand: &str, landing_url: &str) -> String {
    let (w, h) = BANNER;
    let image = c
        .image_url
        .as_deref()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .map(|u| {
            format!(
                "<img src=\"{}\" alt=\"\" style=\"display:block;width:100%;height:125px;object-fit:cover\">",
                escape(u)
            )
        })
        .unwrap_or_default();
    let description = c
        .description
        .as_deref()
        .map(|d| {
            format!(
                "<p style=\"margin:4px 8px;font-size:13px\">{}</p>",
                escape(d)
            )
        })
        .unwrap_or_default();
    format!(
        "<div style=\"width:{w}px;height:{h}px;overflow:hidden;font-family:sans-serif;border:1px solid #ddd;box-sizing:border-box\">\
<a href=\"${{KIKI_CLICK_URL}}{url}\" target=\"_blank\" rel=\"noopener\" style=\"color:inherit;text-decoration:none;display:block;height:100%\">\
{image}<strong style=\"display:block;margin:8px 8px 0;font-size:16px\">{headline}</strong>{description}\
<span style=\"display:block;margin:4px 8px;font-size:11px;color:#666\">{brand}</span></a>\
<img src=\"${{KIKI_IMP_URL}}\" width=\"1\" height=\"1\" alt=\"\" style=\"display:none\"></div>",
        url = percent_encode(landing_url),
        headline = escape(&c.headline),
        brand = escape(brand),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AssetSource, CampaignKind, Schedule, Targeting as AdTargeting};
    use kiki_core::Currency;
    use kiki_creative::Channel;
    use time::macros::{date, datetime};

    fn draft() -> CampaignDraft {
        CampaignDraft {
            name: "Spring".into(),
            objective: "Sales".into(),
            kind: CampaignKind::Shopping,
            landing_url: "https://www.shop.example/serum?x=1&y=<2>".into(),
            brand_name: "Lumière & Co".into(),
            industry: "ecommerce".into(),
            currency: Currency::USD,
            daily_budget: Money::from_micros(100_000_000, Currency::USD),
            total_budget: Some(Money::from_micros(3_000_000_000, Currency::USD)),
            schedule: Schedule {
                start: date!(2027 - 03 - 01),
                end: Some(date!(2027 - 03 - 30)),
                time_zone: "America/New_York".into(),
            },
            target_roi: None,
            max_cpa: None,
            asset_source: AssetSource::Generated,
            ad_sets: vec![AdSet {
                name: "Open exchange".into(),
                channel: Channel::Kiki,
                targeting: AdTargeting {
                    countries: vec!["US".into(), "FR".into()],
                    age_min: Some(25),
                    genders: vec!["female".into()],
                    ..Default::default()
                },
                budget_share_bps: 2_500,
                bid_strategy: BidStrategy::ValueBased,
                bid_cap: None,
            }],
        }
    }

    fn copies() -> Vec<BannerCopy> {
        vec![BannerCopy {
            id: "c1".into(),
            headline: "Glow <now>".into(),
            description: Some("Vitamin C".into()),
            image_url: None,
        }]
    }

    fn build(
        d: &CampaignDraft,
        copies: &[BannerCopy],
    ) -> Result<ProgrammaticLineItem, Vec<FieldError>> {
        line_item(
            &LineItemInputs {
                org: OrgId(uuid::Uuid::nil()),
                campaign: uuid::Uuid::nil(),
                draft: d,
                ad_set: &d.ad_sets[0],
                daily: Money::from_micros(25_000_000, Currency::USD),
                ltv: Money::from_micros(80_000_000, Currency::USD),
                daily_frequency_cap: 3,
                active: true,
                copies,
            },
            0,
        )
    }

    #[test]
    fn the_table_has_every_assigned_code_once_and_in_order() {
        let codes: Vec<&str> = ISO3166.split_ascii_whitespace().collect();
        assert_eq!(codes.len(), 2 * 249);
        let twos: Vec<&str> = codes.iter().step_by(2).copied().collect();
        let mut sorted = twos.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(twos, sorted, "alpha-2 codes sorted and unique");
        let mut threes: Vec<&str> = codes.iter().skip(1).step_by(2).copied().collect();
        threes.sort_unstable();
        threes.dedup();
        assert_eq!(threes.len(), 249, "alpha-3 codes unique");
        assert_eq!(alpha3("US"), Some("USA"));
        assert_eq!(alpha3("GB"), Some("GBR"));
        assert_eq!(alpha3("KM"), Some("COM"));
        assert_eq!(alpha3("ZZ"), None);
    }

    #[test]
    fn the_flight_is_the_schedule_in_its_time_zone() {
        let li = build(&draft(), &copies()).unwrap().line_item;
        // New York is UTC−5 in early March and UTC−4 after the DST change (14 March 2027).
        assert_eq!(li.flight.start, datetime!(2027-03-01 05:00 UTC));
        assert_eq!(li.flight.end, Some(datetime!(2027-03-31 04:00 UTC)));
        let mut open = draft();
        open.schedule.end = None;
        open.schedule.time_zone = "UTC".into();
        let li = build(&open, &copies()).unwrap().line_item;
        assert_eq!(li.flight.start, datetime!(2027-03-01 00:00 UTC));
        assert_eq!(li.flight.end, None);
    }

    #[test]
    fn budgets_countries_and_cap_follow_the_ad_set() {
        let out = build(&draft(), &copies()).unwrap();
        let li = out.line_item;
        assert_eq!(li.budget.daily.micros, 25_000_000);
        assert_eq!(li.budget.total.map(|t| t.micros), Some(750_000_000));
        assert_eq!(li.targeting.countries, vec!["USA", "FRA"]);
        assert_eq!(
            li.frequency_cap.map(|f| (f.max_impressions, f.window_secs)),
            Some((3, 86_400))
        );
        assert_eq!(li.ltv_baseline.micros, 80_000_000);
        assert_eq!(li.bid_strategy, LiStrategy::ValueBased);
        assert!(li.validate().is_ok(), "{:?}", li.validate());
        assert_eq!(li.creatives[0].adomain, vec!["shop.example"]);
        assert_eq!(out.notes.len(), 1);
        assert!(out.notes[0].contains("ages, genders"), "{}", out.notes[0]);
    }

    #[test]
    fn a_cost_cap_bids_to_its_cap() {
        let mut d = draft();
        d.ad_sets[0].bid_strategy = BidStrategy::CostCap;
        d.ad_sets[0].bid_cap = Some(Money::from_micros(12_000_000, Currency::USD));
        let li = build(&d, &copies()).unwrap().line_item;
        assert_eq!(
            li.bid_strategy,
            LiStrategy::TargetCpa {
                cpa: Money::from_micros(12_000_000, Currency::USD)
            }
        );
    }

    #[test]
    fn the_banner_escapes_copy_and_encodes_the_landing_page() {
        let li = build(&draft(), &copies()).unwrap().line_item;
        let m = &li.creatives[0].markup;
        assert!(m.contains("Glow &lt;now&gt;"), "{m}");
        assert!(m.contains("Lumière &amp; Co"), "{m}");
        assert!(
            m.contains(
                "${KIKI_CLICK_URL}https%3A%2F%2Fwww.shop.example%2Fserum%3Fx%3D1%26y%3D%3C2%3E\""
            ),
            "{m}"
        );
        assert!(m.contains("src=\"${KIKI_IMP_URL}\""), "{m}");
        assert_eq!(li.creatives[0].id, "c1-300x250");
    }

    #[test]
    fn unknown_countries_zones_and_no_creative_name_the_field() {
        let mut d = draft();
        d.ad_sets[0].targeting.countries = vec!["US".into(), "XX".into()];
        let errs = build(&d, &[]).unwrap_err();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["ad_sets[0].targeting.countries[1]", "creatives"]
        );
        let mut d = draft();
        d.schedule.time_zone = "Mars/Olympus".into();
        let errs = build(&d, &copies()).unwrap_err();
        assert_eq!(errs[0].field, "schedule.time_zone");
    }
}
