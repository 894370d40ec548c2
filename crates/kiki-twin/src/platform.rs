//! The ad platforms KIKI knows, serialised lower-case. Request types carry the
//! platform as a string so that an unknown name becomes a field error (422)
//! rather than a body that fails to parse.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::TwinError;

kiki_core::string_enum! {
    /// An ad platform. `sandbox` is KIKI's built-in simulated market.
    #[derive(
        Debug,
        Clone,
        Copy,
        PartialEq,
        Eq,
        Hash,
        PartialOrd,
        Ord,
        Serialize,
        Deserialize,
        utoipa::ToSchema,
    )]
    #[serde(rename_all = "lowercase")]
    pub enum Platform {
        Meta = "meta",
        Google = "google",
        Tiktok = "tiktok",
        Linkedin = "linkedin",
        Snapchat = "snapchat",
        Pinterest = "pinterest",
        Microsoft = "microsoft",
        Amazon = "amazon",
        Sandbox = "sandbox",
        /// X (formerly Twitter) promoted posts.
        X = "x",
        /// KIKI programmatic: open-exchange display bought by KIKI's own
        /// OpenRTB bidder.
        Kiki = "kiki",
    }
}

impl Platform {
    /// Every platform, in a fixed order used wherever output must be stable.
    /// The lower-case wire name.
    /// The name people read in explanations.
    pub const fn display_name(self) -> &'static str {
        match self {
            Platform::Meta => "Meta",
            Platform::Google => "Google",
            Platform::Tiktok => "TikTok",
            Platform::Linkedin => "LinkedIn",
            Platform::Snapchat => "Snapchat",
            Platform::Pinterest => "Pinterest",
            Platform::Microsoft => "Microsoft",
            Platform::Amazon => "Amazon",
            Platform::Sandbox => "Sandbox",
            Platform::X => "X",
            Platform::Kiki => "KIKI programmatic",
        }
    }

    /// Parses the wire name exactly (lower case, no surrounding spaces).
    /// The message used by every validator for an unknown platform name.
    pub fn unknown_message(name: &str) -> String {
        let known: Vec<&str> = Platform::ALL.iter().map(|p| p.as_str()).collect();
        format!(
            "`{name}` is not a known platform; expected one of {}.",
            known.join(", ")
        )
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

impl FromStr for Platform {
    type Err = TwinError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::parse(s).ok_or_else(|| TwinError::UnknownPlatform(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_platform_round_trips_through_its_lower_case_name() {
        for p in Platform::ALL {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            assert_eq!(serde_json::from_str::<Platform>(&json).unwrap(), p);
            assert_eq!(p.as_str().parse::<Platform>().unwrap(), p);
        }
    }

    #[test]
    fn unknown_and_differently_cased_names_are_rejected() {
        for bad in ["facebook", "Meta", " meta", "", "tik-tok"] {
            assert!(Platform::parse(bad).is_none(), "{bad}");
            assert!(serde_json::from_str::<Platform>(&format!("\"{bad}\"")).is_err());
        }
    }
}

#[cfg(test)]
mod string_names {
    use super::*;

    /// The strings stored in columns are the names serde writes and reads.
    #[test]
    fn platform_names_are_the_serde_names() {
        assert!(
            kiki_core::serde_name_problems::<Platform>().is_empty(),
            "{:?}",
            kiki_core::serde_name_problems::<Platform>()
        );
    }
}
