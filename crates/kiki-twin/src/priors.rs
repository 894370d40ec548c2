//! Industry priors: what the twin assumes about a platform before it has seen
//! an organisation's own history, as a table by industry × platform.
//!
//! The numbers are rounded planning assumptions, not measurements. They are
//! set to the order of magnitude of publicly reported benchmarks — the annual
//! search and social advertising benchmark reports of WordStream/LocaliQ, the
//! platforms' own rate guidance, and for LTV the industry table of the system
//! KIKI replaces — and each carries a wide coefficient of variation so that
//! an organisation's own history overrides them within a few weeks. The table
//! is printed in `docs/twin.md` (a test keeps the two in step).

use serde::{Deserialize, Serialize};

use crate::platform::Platform;

kiki_core::string_enum! {
    /// The industry an organisation belongs to; it scales the platform priors.
    #[derive(
        Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, Default,
    )]
    #[serde(rename_all = "snake_case")]
    pub enum Industry {
        Ecommerce = "ecommerce",
        Saas = "saas",
        MobileApps = "mobile_apps",
        ProfessionalServices = "professional_services",
        Education = "education",
        Health = "health",
        Finance = "finance",
        #[default]
        General = "general",
    }
}

impl Industry {
    /// Multipliers on the platform base values: (CPM, CTR, CVR), and the
    /// industry's typical first-order value and customer LTV in major units.
    /// LTVs follow the original system's industry table (e-commerce 120, SaaS
    /// 800, mobile gaming 50, professional services 1,500, education 300,
    /// health 200, finance 800, general 100).
    fn profile(self) -> IndustryProfile {
        let p = |cpm, ctr, cvr, order_value, ltv| IndustryProfile {
            cpm,
            ctr,
            cvr,
            order_value,
            ltv,
        };
        match self {
            Industry::Ecommerce => p(1.0, 1.0, 0.8, 80.0, 120.0),
            Industry::Saas => p(1.4, 0.8, 0.6, 100.0, 800.0),
            Industry::MobileApps => p(0.8, 1.2, 1.5, 10.0, 50.0),
            Industry::ProfessionalServices => p(1.3, 0.9, 0.9, 500.0, 1500.0),
            Industry::Education => p(1.0, 1.0, 1.0, 150.0, 300.0),
            Industry::Health => p(1.2, 0.9, 0.9, 90.0, 200.0),
            Industry::Finance => p(1.5, 0.8, 0.7, 200.0, 800.0),
            Industry::General => p(1.0, 1.0, 1.0, 75.0, 100.0),
        }
    }
}

struct IndustryProfile {
    cpm: f64,
    ctr: f64,
    cvr: f64,
    order_value: f64,
    ltv: f64,
}

/// Platform base values for the `general` industry: mean CPM (major units per
/// 1,000 impressions), CTR, click-to-customer CVR, and geometric adstock decay.
const fn platform_base(p: Platform) -> (f64, f64, f64, f64) {
    match p {
        // Feed ads: cheap reach, ~1 % CTR, carry-over from video and feed recall.
        Platform::Meta => (12.0, 0.012, 0.030, 0.3),
        // Search-heavy: high CPM because CTR is high; little carry-over.
        Platform::Google => (80.0, 0.040, 0.050, 0.1),
        Platform::Tiktok => (10.0, 0.008, 0.020, 0.3),
        // B2B: the most expensive reach and the longest consideration.
        Platform::Linkedin => (35.0, 0.005, 0.030, 0.4),
        Platform::Snapchat => (6.0, 0.006, 0.015, 0.3),
        Platform::Pinterest => (5.0, 0.004, 0.020, 0.4),
        Platform::Microsoft => (40.0, 0.030, 0.040, 0.1),
        // Sponsored products: low CTR but shoppers already intend to buy.
        Platform::Amazon => (4.0, 0.004, 0.100, 0.1),
        Platform::Sandbox => (10.0, 0.010, 0.030, 0.2),
        // Promoted posts: feed-like reach, a little below Meta's rates.
        Platform::X => (6.0, 0.008, 0.015, 0.3),
        // Open-exchange display through KIKI's bidder: the cheapest reach,
        // banner-level CTR, prospecting CVR.
        Platform::Kiki => (2.5, 0.0035, 0.010, 0.2),
    }
}

/// Coefficients of variation of the prior means across advertisers: how much
/// one organisation's true rate may differ from the table.
pub const PRIOR_CV_CPM: f64 = 0.5;
pub const PRIOR_CV_CTR: f64 = 0.5;
pub const PRIOR_CV_CVR: f64 = 0.6;
pub const PRIOR_CV_ORDER_VALUE: f64 = 0.5;
pub const PRIOR_CV_LTV: f64 = 0.6;
/// Day-to-day log-scale noise of impressions per unit spend, and of
/// conversions per impression, before history says otherwise.
pub const PRIOR_DAILY_SIGMA_CPM: f64 = 0.15;
pub const PRIOR_DAILY_SIGMA_CONVERSIONS: f64 = 0.35;
/// Hill saturation prior: half-saturation at 3 × the reference daily spend,
/// shape 1 (concave), and the log-scale uncertainty of that ratio (÷× 2).
pub const PRIOR_HALF_SATURATION_RATIO: f64 = 3.0;
pub const PRIOR_SHAPE: f64 = 1.0;
pub const PRIOR_RATIO_SIGMA: f64 = std::f64::consts::LN_2;

/// The prior for one industry × platform cell.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlatformPrior {
    pub platform: Platform,
    pub industry: Industry,
    /// Mean cost per 1,000 impressions, major currency units.
    pub cpm: f64,
    /// Mean click-through rate.
    pub ctr: f64,
    /// Mean click-to-conversion rate (a conversion is an acquired customer).
    pub cvr: f64,
    /// Mean first-order value, major units.
    pub order_value: f64,
    /// Mean customer lifetime value, major units.
    pub ltv: f64,
    /// Geometric adstock decay per day.
    pub adstock: f64,
}

/// The prior for `industry` on `platform`. Currency-neutral: values are read
/// in the model's currency, an assumption the docs state.
pub fn prior(industry: Industry, platform: Platform) -> PlatformPrior {
    let (cpm, ctr, cvr, adstock) = platform_base(platform);
    let ind = industry.profile();
    PlatformPrior {
        platform,
        industry,
        cpm: cpm * ind.cpm,
        ctr: ctr * ind.ctr,
        cvr: cvr * ind.cvr,
        order_value: ind.order_value,
        ltv: ind.ltv,
        adstock,
    }
}

/// The whole table as Markdown, one row per industry × platform, as printed
/// in `docs/twin.md`.
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| industry | platform | CPM | CTR | CVR | CPA | first order | LTV | adstock |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for industry in Industry::ALL {
        for platform in Platform::ALL {
            let p = prior(industry, platform);
            let cpa = p.cpm / 1000.0 / p.ctr / p.cvr;
            out.push_str(&format!(
                "| {} | {} | {:.2} | {:.2} % | {:.2} % | {:.0} | {:.0} | {:.0} | {:.1} |\n",
                industry.as_str(),
                platform.as_str(),
                p.cpm,
                p.ctr * 100.0,
                p.cvr * 100.0,
                cpa,
                p.order_value,
                p.ltv,
                p.adstock
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cell_of_the_table_is_a_valid_prior() {
        for industry in Industry::ALL {
            for platform in Platform::ALL {
                let p = prior(industry, platform);
                assert!(p.cpm > 0.0 && p.cpm.is_finite());
                assert!(p.ctr > 0.0 && p.ctr < 1.0);
                assert!(p.cvr > 0.0 && p.cvr < 1.0);
                assert!(p.order_value > 0.0 && p.ltv >= p.order_value);
                assert!((0.0..1.0).contains(&p.adstock));
            }
        }
    }

    #[test]
    fn the_docs_print_the_same_prior_table_as_the_code() {
        let docs = include_str!("../../../docs/twin.md");
        assert!(
            docs.contains(&markdown_table()),
            "docs/twin.md is out of date; paste priors::markdown_table() into it:\n{}",
            markdown_table()
        );
    }
}

#[cfg(test)]
mod string_names {
    use super::*;

    /// The strings stored in columns are the names serde writes and reads.
    #[test]
    fn industry_names_are_the_serde_names() {
        assert!(
            kiki_core::serde_name_problems::<Industry>().is_empty(),
            "{:?}",
            kiki_core::serde_name_problems::<Industry>()
        );
    }
}
