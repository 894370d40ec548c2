//! The conversions vocabulary: request and answer shapes, the rules a
//! reported conversion must follow, the signature of a postback, and the
//! snippet. Pure: no IO; times are arguments.

use hmac::{Hmac, KeyInit, Mac};
use kiki_bidder::click_id::MAX_CLICK_ID_LEN;
use kiki_core::{FieldError, Money};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use time::{Date, OffsetDateTime};
use utoipa::ToSchema;
use uuid::Uuid;

/// The longest order or customer id, in characters.
pub const MAX_ID_CHARS: usize = 200;
/// The largest value of one conversion, in micros (one billion major units,
/// less one micro): a day's sum of a campaign stays far inside 64 bits.
pub const MAX_VALUE_MICROS: i64 = 999_999_999_999_999;
/// An order may be dated this far after the server's time, or before its
/// click (clocks differ).
pub const SKEW_SECS: i64 = 300;
/// The snippet's path under the API version.
pub const SNIPPET_PATH: &str = "/v1/conversions/snippet.js";

time::serde::format_description!(pub iso_date, Date, "[year]-[month]-[day]");

kiki_core::string_enum! {
    /// How a conversion was reported.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = ConversionSource)]
    pub enum Source {
        /// `POST /v1/conversions` with an access token or API key.
        Api = "api",
        /// `POST /v1/conversions` signed with the organisation's secret.
        Signature = "signature",
        /// The order-confirmation snippet, with the public site key.
        Site = "site",
    }
}

/// The schema of a conversion's value: a `NonNegativeMoney` of at most one
/// billion major units (`micros` up to 999999999999999, an `amount` of at
/// most nine whole digits).
pub struct ConversionValue;

impl utoipa::PartialSchema for ConversionValue {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{KnownFormat, Ref, SchemaFormat};
        let micros = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(0))
            .maximum(Some(MAX_VALUE_MICROS))
            .description(Some(
                "The value in micros: millionths of the currency's major unit (49990000 is 49.99).",
            ));
        let amount = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(r"^(0|[1-9][0-9]{0,8})(\.[0-9]{1,6})?$"))
            .description(Some(
                "The value as a decimal string (\"49.99\") instead of `micros`: up to 9 digits before the point and 6 after.",
            ))
            .examples(["49.99"]);
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "The order's value (see the glossary's \"Money\"): `micros` or `amount`, never both, and an ISO 4217 `currency`; at least zero and below one billion.",
            ))
            .property("micros", micros)
            .property("amount", amount)
            .property("currency", Ref::from_schema_name("Currency"))
            .required("currency")
            .examples([json!({"amount": "49.99", "currency": "EUR"})])
            .build();
        let mut ext = utoipa::openapi::extensions::Extensions::default();
        ext.insert(
            "oneOf".into(),
            json!([{"required": ["micros"]}, {"required": ["amount"]}]),
        );
        object.extensions = Some(ext);
        object.into()
    }
}

impl utoipa::ToSchema for ConversionValue {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <Money as utoipa::ToSchema>::schemas(schemas);
    }
}

/// A conversion as the advertiser's server reports it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "click_id": "AQAAAABppXVAAAAAAAAAq80BnFwS0Rt3uZpO3kY0h5MBAZxcEtEbd7maTt5GNIeTBnRyYWNrZWQtY3I3Xx0b4kSZ1xYv2Q3nKxFQ",
    "order_id": "A-1001",
    "value": {"amount": "49.99", "currency": "EUR"},
    "occurred_at": "2026-03-02T12:30:00Z",
    "customer_id": "c-42"
}))]
pub struct ConversionRequest {
    /// The `kiki_click` parameter the landing page received from the ad
    /// click.
    #[schema(min_length = 1, max_length = 428, pattern = "^[A-Za-z0-9_-]+$")]
    pub click_id: String,
    /// The order's id, unique in the organisation: an order is counted
    /// once, however often it is reported. 1 to 200 characters, not only
    /// spaces (spaces around it are dropped).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub order_id: String,
    #[schema(value_type = ConversionValue)]
    pub value: Money,
    /// When the order was placed (default: when it is reported); within the
    /// attribution window after the click.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub occurred_at: Option<OffsetDateTime>,
    /// The advertiser's customer id, 1 to 200 characters, not only spaces.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub customer_id: Option<String>,
}

/// A conversion as the order-confirmation snippet sends it: the public site
/// key and the same fields as the server's postback.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "site_key": "site_3q2vT0kC9mXbH1fWz8LpR4sY",
    "click_id": "AQAAAABppXVAAAAAAAAAq80BnFwS0Rt3uZpO3kY0h5MBAZxcEtEbd7maTt5GNIeTBnRyYWNrZWQtY3I3Xx0b4kSZ1xYv2Q3nKxFQ",
    "order_id": "A-1001",
    "value": {"amount": "49.99", "currency": "EUR"}
}))]
pub struct SiteConversionRequest {
    /// The organisation's public site key (`PUT /v1/conversions/site`).
    #[schema(pattern = "^site_[A-Za-z0-9_-]{24}$")]
    pub site_key: String,
    #[schema(min_length = 1, max_length = 428, pattern = "^[A-Za-z0-9_-]+$")]
    pub click_id: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub order_id: String,
    #[schema(value_type = ConversionValue)]
    pub value: Money,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub occurred_at: Option<OffsetDateTime>,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub customer_id: Option<String>,
}

impl SiteConversionRequest {
    /// The conversion without the site key.
    pub fn into_parts(self) -> (String, ConversionRequest) {
        (
            self.site_key,
            ConversionRequest {
                click_id: self.click_id,
                order_id: self.order_id,
                value: self.value,
                occurred_at: self.occurred_at,
                customer_id: self.customer_id,
            },
        )
    }
}

/// A conversion's fields once checked (before the click is resolved).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedConversion {
    pub click_id: String,
    pub order_id: String,
    pub value: Money,
    pub occurred_at: OffsetDateTime,
    pub customer_id: Option<String>,
}

fn id_text(field: &str, raw: &str, errors: &mut Vec<FieldError>) -> String {
    let t = kiki_core::trim_schema(raw);
    if t.is_empty() || t.chars().count() > MAX_ID_CHARS {
        errors.push(FieldError::new(
            field,
            format!("1 to {MAX_ID_CHARS} characters, not only spaces."),
        ));
    }
    t.to_owned()
}

impl ConversionRequest {
    /// The request's own rules (each broken one named); `now` dates an order
    /// without `occurred_at` and bounds one with it.
    pub fn checked(&self, now: OffsetDateTime) -> Result<CheckedConversion, Vec<FieldError>> {
        let mut errors = Vec::new();
        let click_ok = !self.click_id.is_empty()
            && self.click_id.len() <= MAX_CLICK_ID_LEN
            && self
                .click_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !click_ok {
            errors.push(FieldError::new("click_id", crate::error::UNKNOWN_CLICK));
        }
        let order_id = id_text("order_id", &self.order_id, &mut errors);
        let customer_id = self
            .customer_id
            .as_deref()
            .map(|c| id_text("customer_id", c, &mut errors));
        if !(0..=MAX_VALUE_MICROS).contains(&self.value.micros) {
            errors.push(FieldError::new(
                "value.micros",
                "From 0 to 999999999999999 (below one billion in the currency).",
            ));
        }
        let occurred_at = self.occurred_at.unwrap_or(now);
        if occurred_at > now + time::Duration::seconds(SKEW_SECS) {
            errors.push(FieldError::new(
                "occurred_at",
                "In the future: an order is reported after it is placed.",
            ));
        }
        if errors.is_empty() {
            Ok(CheckedConversion {
                click_id: self.click_id.clone(),
                order_id,
                value: self.value,
                occurred_at,
                customer_id,
            })
        } else {
            Err(errors)
        }
    }
}

/// Where an order stands against its click: attributed, or why not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribution {
    Attributed,
    /// Placed before the click (beyond the clocks' difference).
    BeforeClick,
    /// Placed more than the window after the click.
    OutsideWindow,
}

/// Whether an order placed at `occurred_at` is a conversion of a click at
/// `clicked_at` under a window of `window_secs`.
pub fn attribution(
    clicked_at: OffsetDateTime,
    occurred_at: OffsetDateTime,
    window_secs: i64,
) -> Attribution {
    let after = (occurred_at - clicked_at).whole_seconds();
    if after < -SKEW_SECS {
        Attribution::BeforeClick
    } else if after > window_secs {
        Attribution::OutsideWindow
    } else {
        Attribution::Attributed
    }
}

/// A recorded conversion.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01964f1e-8a31-7c2e-9b7a-3f0c1d2e4a5b",
    "order_id": "A-1001",
    "campaign_id": "01964f1e-0000-7000-8000-000000000001",
    "line_item_id": "01964f1e-0000-7000-8000-000000000002",
    "creative_id": "banner-300x250",
    "bid_id": "00000000000001a4",
    "clicked_at": "2026-03-02T12:00:00Z",
    "value": {"micros": 49990000, "currency": "EUR"},
    "occurred_at": "2026-03-02T12:30:00Z",
    "customer_id": "c-42",
    "source": "signature",
    "recorded_by": "signature:ckey_Qm3xT9pLw2VbN7sA",
    "recorded_at": "2026-03-02T12:30:02Z"
}))]
pub struct ConversionView {
    pub id: Uuid,
    pub order_id: String,
    /// The campaign of the clicked line item.
    pub campaign_id: Uuid,
    pub line_item_id: Uuid,
    pub creative_id: String,
    /// The bid whose ad was clicked (16 hex digits).
    pub bid_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub clicked_at: OffsetDateTime,
    pub value: Money,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub customer_id: Option<String>,
    pub source: Source,
    /// `user:<id>`, `api_key:<id>`, `signature:<key id>` or `site`.
    pub recorded_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

/// What the snippet's endpoint answers: the conversion's id, nothing of
/// the organisation's data.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({"id": "01964f1e-8a31-7c2e-9b7a-3f0c1d2e4a5b", "order_id": "A-1001"}))]
pub struct SiteConversionAnswer {
    pub id: Uuid,
    pub order_id: String,
}

/// One day of one campaign's conversions in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DailyConversions {
    /// The UTC day the orders were placed (YYYY-MM-DD).
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub day: Date,
    pub campaign_id: Uuid,
    pub conversions: i64,
    /// The orders' total value.
    pub value: Money,
}

/// Conversions of one line item on one UTC day in one currency: what
/// analytics rolls up as platform `kiki`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LineItemConversions {
    /// The UTC day the orders were placed (YYYY-MM-DD).
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub day: Date,
    pub campaign_id: Uuid,
    /// The clicked line item the conversions are credited to.
    pub line_item_id: Uuid,
    pub conversions: i64,
    /// The orders' total value, in the currency they were reported in.
    pub value: Money,
}

/// A campaign's (or every campaign's) conversions per day.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({
    "since": "2026-03-01", "until": "2026-03-02",
    "days": [{"day": "2026-03-02", "campaign_id": "01964f1e-0000-7000-8000-000000000001",
        "conversions": 3, "value": {"micros": 149970000, "currency": "EUR"}}]
}))]
pub struct DailySummary {
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub since: Date,
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub until: Date,
    /// Days with conversions, oldest first (then by campaign and currency).
    pub days: Vec<DailyConversions>,
}

/// The organisation's conversion credentials, without any secret.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({
    "signing_secret": {"key_id": "ckey_Qm3xT9pLw2VbN7sA", "created_at": "2026-03-02T12:00:00Z"},
    "previous_secret": null,
    "site": {"site_key": "site_3q2vT0kC9mXbH1fWz8LpR4sY", "allowed_origins": ["https://shop.example"], "created_at": "2026-03-02T12:00:00Z"},
    "attribution_window_days": 30,
    "snippet_url": "/v1/conversions/snippet.js"
}))]
pub struct ConversionSettings {
    /// The current signing secret's public id (`X-Kiki-Signature: key=…`).
    pub signing_secret: Option<SecretInfo>,
    /// The secret it replaced, while it still verifies.
    pub previous_secret: Option<PreviousSecret>,
    /// The browser snippet's site key and origins, when set up.
    pub site: Option<SiteView>,
    pub attribution_window_days: u32,
    pub snippet_url: String,
}

/// A signing secret's public face.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SecretInfo {
    pub key_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A rotated secret that still verifies until `expires_at`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PreviousSecret {
    pub key_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A new signing secret, shown this once.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({
    "key_id": "ckey_Qm3xT9pLw2VbN7sA",
    "secret": "csec_b7Jx0pQ2mZr9VtY4wL1sN8kD3fH6gC5aE0uI2oR7eT9",
    "created_at": "2026-03-02T12:00:00Z",
    "previous_secret": null
}))]
pub struct NewSecret {
    pub key_id: String,
    /// The secret: sign each postback with it (HMAC-SHA256). Shown only in
    /// this answer; KIKI keeps it encrypted.
    pub secret: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The secret this one replaces, verifying until `expires_at`.
    pub previous_secret: Option<PreviousSecret>,
}

/// The browser snippet's site key and where it may be used.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SiteView {
    /// Public: put it in the snippet's `data-site-key`.
    pub site_key: String,
    pub allowed_origins: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// The schema of an origin as a page's `Origin` header gives it: `http://`
/// or `https://`, a host and an optional port (a trailing `/` is dropped).
pub struct OriginText;

impl utoipa::PartialSchema for OriginText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(r"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#@\s]+/?$"))
            .description(Some(
                "An origin: `http://` or `https://`, a host and an optional port, no path.",
            ))
            .examples(["https://shop.example"])
            .build()
            .into()
    }
}

impl utoipa::ToSchema for OriginText {}

/// The origins the snippet runs on; a new site key on request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"allowed_origins": ["https://shop.example", "https://www.shop.example"]}))]
pub struct SiteRequest {
    /// The origins (scheme, host and port, no path) of the pages that send
    /// conversions, 1 to 20, each once.
    #[schema(min_items = 1, max_items = 20, value_type = Vec<OriginText>)]
    pub allowed_origins: Vec<String>,
    /// Issue a new site key (the old one stops working at once). A site key
    /// is issued the first time whatever this says.
    #[serde(default)]
    pub rotate_key: bool,
}

/// An origin as browsers send it (`https://shop.example`, a port only when
/// not the scheme's default), or `None` when `raw` is not one.
pub fn origin_of(raw: &str) -> Option<String> {
    // The shape the schema states (`OriginText`), checked on the text as
    // given: the URL parser would drop spaces and tabs a schema refuses.
    let rest = match (raw.get(..7), raw.get(..8)) {
        (_, Some(p)) if p.eq_ignore_ascii_case("https://") => &raw[8..],
        (Some(p), _) if p.eq_ignore_ascii_case("http://") => &raw[7..],
        _ => return None,
    };
    let host = rest.strip_suffix('/').unwrap_or(rest);
    if host.is_empty()
        || host
            .chars()
            .any(|c| matches!(c, '/' | '?' | '#' | '@') || kiki_core::is_schema_space(c))
    {
        return None;
    }
    let u = url::Url::parse(raw).ok()?;
    if !matches!(u.scheme(), "https" | "http")
        || u.host_str().is_none()
        || !u.username().is_empty()
        || u.password().is_some()
        || !(u.path().is_empty() || u.path() == "/")
        || u.query().is_some()
        || u.fragment().is_some()
    {
        return None;
    }
    Some(u.origin().ascii_serialization())
}

impl SiteRequest {
    /// The origins, normalised, each once.
    pub fn checked(&self) -> Result<Vec<String>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut out: Vec<String> = Vec::new();
        if self.allowed_origins.is_empty() || self.allowed_origins.len() > 20 {
            errors.push(FieldError::new("allowed_origins", "1 to 20 origins."));
        }
        for (i, raw) in self.allowed_origins.iter().enumerate() {
            let field = format!("allowed_origins[{i}]");
            match origin_of(raw) {
                None => errors.push(FieldError::new(
                    field,
                    "An origin: http:// or https://, a host and an optional port, no path, like https://shop.example.",
                )),
                Some(o) if out.contains(&o) => {
                    errors.push(FieldError::new(field, "This origin is listed twice."))
                }
                Some(o) => out.push(o),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

/// The parts of an `X-Kiki-Signature` header:
/// `key=<key id>,t=<unix seconds>,v1=<hex HMAC-SHA256>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub key_id: String,
    pub t: i64,
    pub v1: String,
}

/// Reads an `X-Kiki-Signature` header; `None` when a part is missing or
/// malformed.
pub fn parse_signature(header: &str) -> Option<SignatureHeader> {
    let (mut key_id, mut t, mut v1) = (None, None, None);
    for part in header.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k.trim() {
            "key" => key_id = Some(v.trim().to_owned()),
            "t" => t = Some(v.trim().parse::<i64>().ok()?),
            "v1" => v1 = Some(v.trim().to_ascii_lowercase()),
            _ => {}
        }
    }
    let v1 = v1.filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))?;
    Some(SignatureHeader {
        key_id: key_id.filter(|k| !k.is_empty())?,
        t: t?,
        v1,
    })
}

/// The lower-case hex HMAC-SHA256 of `<t>.<body>` under `secret`: what the
/// sender puts in `v1`.
pub fn signature_of(secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `header` signs `body` with `secret` (compared in constant time).
pub fn signature_matches(secret: &str, header: &SignatureHeader, body: &[u8]) -> bool {
    kiki_credentials::constant_time_eq(
        signature_of(secret, header.t, body).as_bytes(),
        header.v1.as_bytes(),
    )
}

const SNIPPET: &str = include_str!("../assets/snippet.js");

/// The snippet with the attribution window written in.
pub fn snippet(window_days: u32) -> String {
    SNIPPET.replace("__KIKI_WINDOW_DAYS__", &window_days.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::Currency;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-03-02 12:00 UTC);

    fn request(order: &str, micros: i64) -> ConversionRequest {
        ConversionRequest {
            click_id: "AbC-_9".into(),
            order_id: order.into(),
            value: Money::from_micros(micros, Currency::EUR),
            occurred_at: None,
            customer_id: None,
        }
    }

    #[test]
    fn a_request_is_checked_field_by_field() {
        let ok = request("  A-1  ", 49_990_000).checked(NOW).unwrap();
        assert_eq!(ok.order_id, "A-1");
        assert_eq!(ok.occurred_at, NOW);
        for (r, field) in [
            (request(" ", 1), "order_id"),
            (request(&"x".repeat(201), 1), "order_id"),
            (request("A", -1), "value.micros"),
            (request("A", MAX_VALUE_MICROS + 1), "value.micros"),
            (
                ConversionRequest {
                    click_id: "not base64!".into(),
                    ..request("A", 1)
                },
                "click_id",
            ),
            (
                ConversionRequest {
                    occurred_at: Some(NOW + time::Duration::seconds(SKEW_SECS + 1)),
                    ..request("A", 1)
                },
                "occurred_at",
            ),
            (
                ConversionRequest {
                    customer_id: Some("\u{3000}".into()),
                    ..request("A", 1)
                },
                "customer_id",
            ),
        ] {
            let e = r.checked(NOW).unwrap_err();
            assert_eq!(e.len(), 1, "{e:?}");
            assert_eq!(e[0].field, field);
        }
        assert_eq!(
            request("A", MAX_VALUE_MICROS)
                .checked(NOW)
                .unwrap()
                .value
                .micros,
            MAX_VALUE_MICROS
        );
    }

    #[test]
    fn an_order_is_attributed_within_the_window_after_its_click() {
        let day = 86_400;
        for (after, want) in [
            (0, Attribution::Attributed),
            (30 * day, Attribution::Attributed),
            (30 * day + 1, Attribution::OutsideWindow),
            (-SKEW_SECS, Attribution::Attributed),
            (-SKEW_SECS - 1, Attribution::BeforeClick),
        ] {
            assert_eq!(
                attribution(NOW, NOW + time::Duration::seconds(after), 30 * day),
                want,
                "{after}"
            );
        }
    }

    #[test]
    fn a_signature_header_reads_and_verifies_only_its_own_body_and_time() {
        let body = br#"{"order_id":"A-1"}"#;
        let sig = signature_of("csec_secret", 1_772_452_800, body);
        assert_eq!(sig.len(), 64);
        let h = parse_signature(&format!("key=ckey_x, t=1772452800, v1={sig}")).unwrap();
        assert_eq!(h.key_id, "ckey_x");
        assert!(signature_matches("csec_secret", &h, body));
        assert!(!signature_matches("csec_other", &h, body));
        assert!(!signature_matches(
            "csec_secret",
            &h,
            br#"{"order_id":"A-2"}"#
        ));
        let later = SignatureHeader {
            t: h.t + 1,
            ..h.clone()
        };
        assert!(!signature_matches("csec_secret", &later, body));
        for bad in [
            "",
            "key=ckey_x,t=1",
            "key=ckey_x,t=x,v1=00",
            &format!("key=,t=1,v1={sig}"),
            &format!("key=ckey_x,t=1,v1={}", &sig[1..]),
            "garbage",
        ] {
            assert!(parse_signature(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn origins_are_normalised_and_paths_are_refused() {
        assert_eq!(
            origin_of("https://Shop.Example").as_deref(),
            Some("https://shop.example")
        );
        assert_eq!(
            origin_of("https://shop.example:443/").as_deref(),
            Some("https://shop.example")
        );
        assert_eq!(
            origin_of("http://localhost:8080").as_deref(),
            Some("http://localhost:8080")
        );
        for bad in [
            "shop.example",
            " https://shop.example",
            "https://shop.example\n",
            "https://sh\top.example",
            "https://",
            "https://shop.example/checkout",
            "ftp://shop.example",
            "https://user@shop.example",
            "*",
        ] {
            assert!(origin_of(bad).is_none(), "{bad}");
        }
        let r = SiteRequest {
            allowed_origins: vec!["https://a.example".into(), "https://A.example/".into()],
            rotate_key: false,
        };
        assert_eq!(r.checked().unwrap_err()[0].field, "allowed_origins[1]");
    }

    #[test]
    fn the_snippet_carries_the_window_and_no_dynamic_code() {
        let s = snippet(30);
        assert!(
            s.contains("var WINDOW_DAYS = 30;"),
            "the window is written in"
        );
        assert!(!s.contains("__KIKI_"));
        for banned in [
            "eval(",
            "new Function",
            "setTimeout(\"",
            "innerHTML",
            "document.write",
        ] {
            assert!(!s.contains(banned), "{banned}");
        }
    }

    #[test]
    fn the_schema_length_of_a_click_id_is_the_engine_bound() {
        assert_eq!(MAX_CLICK_ID_LEN, 428);
    }
}
