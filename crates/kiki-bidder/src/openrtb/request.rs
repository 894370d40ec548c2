//! OpenRTB 2.5/2.6 bid request types, deserialised zero-copy: strings borrow from
//! the request body unless they contain escapes, `ext` objects stay raw until a
//! rule needs them, and unknown fields are ignored. Field names and defaults
//! follow the IAB Tech Lab OpenRTB 2.6 specification (section 3.2).

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// A borrowed string inside an array; a newtype so that serde borrows it
/// instead of allocating (serde only borrows `Cow<str>` written directly on a field).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Str<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl Str<'_> {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A JSON value kept as its raw text (an `ext` object), read only when a rule
/// needs it. Borrowed from the body; parsed into its own types on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawJson<'a>(pub &'a str);

impl<'a> RawJson<'a> {
    pub fn get(&self) -> &'a str {
        self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawJson<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'de RawValue>::deserialize(d).map(|raw| RawJson(raw.get()))
    }
}

/// Accepts `null` where the spec says "array" or "integer with a default", which
/// several exchanges send instead of omitting the field.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// Borrows an optional string from the body: serde only borrows a `Cow<str>` that is
/// the field's whole type, not one inside an `Option`.
fn opt_cow<'de: 'a, 'a, D>(d: D) -> Result<Option<Cow<'a, str>>, D::Error>
where
    D: Deserializer<'de>,
{
    Option::<Str<'a>>::deserialize(d).map(|o| o.map(|s| s.0))
}

fn default_at() -> i64 {
    2
}

/// The top-level bid request (OpenRTB 2.6 §3.2.1).
#[derive(Debug, Default, Deserialize)]
pub struct BidRequest<'a> {
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub imp: Vec<Imp<'a>>,
    #[serde(borrow, default)]
    pub site: Option<Site<'a>>,
    #[serde(borrow, default)]
    pub app: Option<App<'a>>,
    #[serde(borrow, default)]
    pub device: Option<Device<'a>>,
    #[serde(borrow, default)]
    pub user: Option<User<'a>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub test: i64,
    /// Auction type: 1 first price, 2 second price plus (default), 500+ exchange specific.
    #[serde(default = "default_at")]
    pub at: i64,
    /// Maximum time in milliseconds the exchange allows for bids, network included.
    #[serde(default)]
    pub tmax: Option<i64>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub wseat: Vec<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub bseat: Vec<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub cur: Vec<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub bcat: Vec<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub badv: Vec<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub bapp: Vec<Str<'a>>,
    #[serde(borrow, default)]
    pub regs: Option<Regs<'a>>,
    #[serde(borrow, default)]
    pub ext: Option<RawJson<'a>>,
}

/// One impression offered for auction (§3.2.4).
#[derive(Debug, Default, Deserialize)]
pub struct Imp<'a> {
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub banner: Option<Banner<'a>>,
    #[serde(borrow, default)]
    pub video: Option<Video<'a>>,
    #[serde(borrow, default)]
    pub audio: Option<Audio<'a>>,
    #[serde(borrow, default)]
    pub native: Option<Native<'a>>,
    #[serde(borrow, default)]
    pub pmp: Option<Pmp<'a>>,
    /// Minimum CPM in `bidfloorcur`; 0 when absent.
    #[serde(default, deserialize_with = "null_as_default")]
    pub bidfloor: f64,
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub bidfloorcur: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub ext: Option<RawJson<'a>>,
}

/// A width × height pair (§3.2.10).
#[derive(Debug, Default, Clone, Copy, Deserialize)]
pub struct Format {
    #[serde(default)]
    pub w: Option<u32>,
    #[serde(default)]
    pub h: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Banner<'a> {
    #[serde(default, deserialize_with = "null_as_default")]
    pub format: Vec<Format>,
    #[serde(default)]
    pub w: Option<u32>,
    #[serde(default)]
    pub h: Option<u32>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub battr: Vec<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub btype: Vec<i64>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub mimes: Vec<Str<'a>>,
    #[serde(default)]
    pub pos: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Video<'a> {
    /// Required by the spec; `None` or empty makes the request invalid.
    #[serde(borrow, default)]
    pub mimes: Option<Vec<Str<'a>>>,
    #[serde(default)]
    pub minduration: Option<i64>,
    #[serde(default)]
    pub maxduration: Option<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub protocols: Vec<i64>,
    #[serde(default)]
    pub w: Option<u32>,
    #[serde(default)]
    pub h: Option<u32>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub battr: Vec<i64>,
    #[serde(default)]
    pub plcmt: Option<i64>,
    #[serde(default)]
    pub placement: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Audio<'a> {
    /// Required by the spec; `None` or empty makes the request invalid.
    #[serde(borrow, default)]
    pub mimes: Option<Vec<Str<'a>>>,
    #[serde(default)]
    pub minduration: Option<i64>,
    #[serde(default)]
    pub maxduration: Option<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub battr: Vec<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Native<'a> {
    /// The native markup request, itself a JSON string (required).
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub request: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub ver: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub battr: Vec<i64>,
}

/// Private marketplace deals on an impression (§3.2.11, §3.2.12).
#[derive(Debug, Default, Deserialize)]
pub struct Pmp<'a> {
    #[serde(default, deserialize_with = "null_as_default")]
    pub private_auction: i64,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub deals: Vec<Deal<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Deal<'a> {
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub bidfloor: f64,
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub bidfloorcur: Option<Cow<'a, str>>,
    #[serde(default)]
    pub at: Option<i64>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub wseat: Vec<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub wadomain: Vec<Str<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Publisher<'a> {
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub cat: Vec<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub domain: Option<Cow<'a, str>>,
}

/// A website (§3.2.13). Must not appear together with `app`.
#[derive(Debug, Default, Deserialize)]
pub struct Site<'a> {
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub domain: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub cat: Vec<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub sectioncat: Vec<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub pagecat: Vec<Str<'a>>,
}

/// A mobile or CTV application (§3.2.14).
#[derive(Debug, Default, Deserialize)]
pub struct App<'a> {
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub bundle: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub domain: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub cat: Vec<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub sectioncat: Vec<Str<'a>>,
    #[serde(borrow, default, deserialize_with = "null_as_default")]
    pub pagecat: Vec<Str<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Geo<'a> {
    /// ISO-3166-1 alpha-3 country code.
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub country: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Device<'a> {
    #[serde(borrow, default)]
    pub geo: Option<Geo<'a>>,
    /// AdCOM device type: 1 mobile/tablet, 2 PC, 3 CTV, 4 phone, 5 tablet, 6 connected, 7 set-top box, 8 OOH.
    #[serde(default)]
    pub devicetype: Option<i64>,
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub os: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct User<'a> {
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub id: Option<Cow<'a, str>>,
    /// The buyer's (our) id for the user, set through cookie sync.
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub buyeruid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub geo: Option<Geo<'a>>,
    /// TCF consent string (2.6 location; 2.5 puts it in `ext.consent`).
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub consent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub ext: Option<RawJson<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Source<'a> {
    #[serde(default)]
    pub fd: Option<i64>,
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub tid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub schain: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub ext: Option<RawJson<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Regs<'a> {
    #[serde(default)]
    pub coppa: Option<i64>,
    /// 2.6 location; 2.5 puts it in `ext.gdpr`.
    #[serde(default)]
    pub gdpr: Option<i64>,
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub us_privacy: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "opt_cow")]
    pub gpp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub ext: Option<RawJson<'a>>,
}

/// The 2.5 extension fields we read from `regs.ext`. Parsed leniently: an ext of
/// an unexpected shape counts as absent rather than failing the request.
#[derive(Debug, Default, Deserialize)]
struct RegsExt<'a> {
    #[serde(default)]
    gdpr: Option<i64>,
    #[serde(borrow, default)]
    us_privacy: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
struct UserExt<'a> {
    #[serde(borrow, default)]
    consent: Option<Cow<'a, str>>,
}

impl<'a> BidRequest<'a> {
    /// True for `at = 1`.
    pub fn is_first_price(&self) -> bool {
        self.at == 1
    }

    /// `regs.gdpr` (2.6) or `regs.ext.gdpr` (2.5), `None` when unknown.
    pub fn gdpr(&self) -> Option<i64> {
        let regs = self.regs.as_ref()?;
        regs.gdpr.or_else(|| {
            regs.ext
                .and_then(|raw| serde_json::from_str::<RegsExt<'_>>(raw.get()).ok())
                .and_then(|e| e.gdpr)
        })
    }

    /// `regs.us_privacy` (2.6) or `regs.ext.us_privacy` (2.5).
    pub fn us_privacy(&self) -> Option<Cow<'a, str>> {
        let regs = self.regs.as_ref()?;
        if let Some(s) = &regs.us_privacy {
            return Some(s.clone());
        }
        regs.ext
            .and_then(|raw| serde_json::from_str::<RegsExt<'a>>(raw.get()).ok())
            .and_then(|e| e.us_privacy)
    }

    /// `user.consent` (2.6) or `user.ext.consent` (2.5).
    pub fn consent(&self) -> Option<Cow<'a, str>> {
        let user = self.user.as_ref()?;
        if let Some(s) = &user.consent {
            return Some(s.clone());
        }
        user.ext
            .and_then(|raw| serde_json::from_str::<UserExt<'a>>(raw.get()).ok())
            .and_then(|e| e.consent)
    }

    /// True when `regs.coppa = 1`.
    pub fn is_coppa(&self) -> bool {
        self.regs.as_ref().and_then(|r| r.coppa) == Some(1)
    }

    /// The country of the device, falling back to the user's.
    pub fn country(&self) -> Option<&str> {
        self.device
            .as_ref()
            .and_then(|d| d.geo.as_ref())
            .and_then(|g| g.country.as_deref())
            .or_else(|| {
                self.user
                    .as_ref()
                    .and_then(|u| u.geo.as_ref())
                    .and_then(|g| g.country.as_deref())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_without_escapes_borrow_from_the_body() {
        let body = br#"{"id":"r1","imp":[{"id":"1","banner":{"w":300,"h":250}}],"bcat":["IAB25","IAB26"]}"#;
        let req: BidRequest<'_> = serde_json::from_slice(body).unwrap();
        assert!(matches!(req.id, Some(Cow::Borrowed("r1"))));
        assert!(matches!(req.bcat[0].0, Cow::Borrowed("IAB25")));
        assert_eq!(req.at, 2, "the spec's default auction type is second price");
    }

    #[test]
    fn escaped_strings_are_decoded_into_owned_values() {
        let body = br#"{"id":"r\u0031","imp":[]}"#;
        let req: BidRequest<'_> = serde_json::from_slice(body).unwrap();
        assert_eq!(req.id.as_deref(), Some("r1"));
    }

    #[test]
    fn privacy_signals_are_read_from_both_2_5_and_2_6_locations() {
        let v25 = br#"{"id":"a","imp":[],"regs":{"ext":{"gdpr":1,"us_privacy":"1YYN"}},"user":{"ext":{"consent":"CO123"}}}"#;
        let v26 = br#"{"id":"a","imp":[],"regs":{"gdpr":1,"us_privacy":"1YYN"},"user":{"consent":"CO123"}}"#;
        for body in [&v25[..], &v26[..]] {
            let req: BidRequest<'_> = serde_json::from_slice(body).unwrap();
            assert_eq!(req.gdpr(), Some(1));
            assert_eq!(req.consent().as_deref(), Some("CO123"));
            assert_eq!(req.us_privacy().as_deref(), Some("1YYN"));
        }
    }

    #[test]
    fn an_ext_of_an_unexpected_shape_counts_as_absent() {
        let body = br#"{"id":"a","imp":[],"regs":{"ext":"gdpr"},"user":{"ext":[1,2]}}"#;
        let req: BidRequest<'_> = serde_json::from_slice(body).unwrap();
        assert_eq!(req.gdpr(), None);
        assert_eq!(req.consent(), None);
    }

    #[test]
    fn null_arrays_and_unknown_fields_are_accepted() {
        let body = br#"{"id":"a","imp":null,"bcat":null,"whatever":{"deep":[1,2,3]},"test":null}"#;
        let req: BidRequest<'_> = serde_json::from_slice(body).unwrap();
        assert!(req.imp.is_empty());
        assert!(req.bcat.is_empty());
        assert_eq!(req.test, 0);
    }
}
