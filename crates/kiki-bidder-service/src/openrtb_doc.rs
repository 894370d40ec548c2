//! The OpenRTB endpoints in the API document: `/openrtb2/bid`, the win,
//! billing and loss notices and the impression and click trackers, with the
//! exchange-key security scheme. The bid request and response follow the
//! IAB Tech Lab OpenRTB 2.6 specification, which is referenced rather than
//! copied into the schema.

use serde_json::{Value, json};

/// A JSON type or `null` (the reader takes `null` as absent).
fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

/// An array of `items`, or `null` (read as empty).
fn list(items: Value) -> Value {
    json!({"type": ["array", "null"], "items": items})
}

/// The OpenRTB 2.6 objects of a bid request as the bidder reads them
/// (`kiki_bidder::openrtb::request`): the fields it uses, with their JSON
/// types; every other field, and every `ext`, is accepted and ignored. The
/// rules of `kiki_bidder::openrtb::validate` are stated where JSON Schema can
/// state them; impression ids must also differ from each other.
fn request_schemas() -> Value {
    let int = json!({"type": ["integer", "null"], "minimum": i64::MIN, "maximum": i64::MAX});
    let ints = list(json!({"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX}));
    let size = json!({"type": ["integer", "null"], "minimum": 0, "maximum": u32::MAX});
    let strings = list(json!({"type": "string"}));
    let text = nullable("string");
    let currency = json!({"type": ["string", "null"], "pattern": "^\\s*[A-Za-z]{3}\\s*$"});
    let floor = json!({"type": ["number", "null"], "minimum": 0});
    let r = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let nullable_ref = |name: &str| json!({"oneOf": [r(name), {"type": "null"}]});
    let any = json!({});
    json!({
        "OpenRtbBidRequest": {
            "type": "object",
            "description": "OpenRTB 2.6 BidRequest (section 3.2.1), the fields the bidder reads. Required: `id` and at least one impression; `site` and `app` exclude each other; `tmax`, when given, is positive.",
            "required": ["id", "imp"],
            "properties": {
                "id": {"type": "string", "minLength": 1},
                "imp": {"type": "array", "minItems": 1, "items": r("OpenRtbImp"), "description": "Impressions; their ids differ."},
                "site": nullable_ref("OpenRtbSite"),
                "app": nullable_ref("OpenRtbApp"),
                "device": nullable_ref("OpenRtbDevice"),
                "user": nullable_ref("OpenRtbUser"),
                "test": int, "at": {"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX, "description": "Auction type: 1 first price, 2 second price (default)."},
                "tmax": {"type": ["integer", "null"], "minimum": 1, "maximum": i64::MAX},
                "wseat": strings, "bseat": strings, "cur": strings,
                "bcat": strings, "badv": strings, "bapp": strings,
                "regs": nullable_ref("OpenRtbRegs"),
                "ext": any
            },
            "not": {"required": ["site", "app"], "properties": {"site": {"type": "object"}, "app": {"type": "object"}}}
        },
        "OpenRtbImp": {
            "type": "object",
            "description": "An impression (3.2.4): an `id` and at least one of `banner`, `video`, `audio`, `native`.",
            "required": ["id"],
            "properties": {
                "id": {"type": "string", "minLength": 1},
                "banner": nullable_ref("OpenRtbBanner"),
                "video": nullable_ref("OpenRtbVideo"),
                "audio": nullable_ref("OpenRtbAudio"),
                "native": nullable_ref("OpenRtbNative"),
                "pmp": nullable_ref("OpenRtbPmp"),
                "bidfloor": floor, "bidfloorcur": currency, "ext": any
            },
            "anyOf": [
                {"required": ["banner"], "properties": {"banner": {"type": "object"}}},
                {"required": ["video"], "properties": {"video": {"type": "object"}}},
                {"required": ["audio"], "properties": {"audio": {"type": "object"}}},
                {"required": ["native"], "properties": {"native": {"type": "object"}}}
            ]
        },
        "OpenRtbFormat": {"type": "object", "properties": {"w": size, "h": size}},
        "OpenRtbBanner": {"type": "object", "properties": {
            "format": list(r("OpenRtbFormat")), "w": size, "h": size,
            "battr": ints, "btype": ints, "mimes": strings, "pos": int
        }},
        "OpenRtbVideo": {"type": "object", "required": ["mimes"], "properties": {
            "mimes": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            "minduration": int, "maxduration": int, "protocols": ints,
            "w": size, "h": size, "battr": ints, "plcmt": int, "placement": int
        }},
        "OpenRtbAudio": {"type": "object", "required": ["mimes"], "properties": {
            "mimes": {"type": "array", "minItems": 1, "items": {"type": "string"}},
            "minduration": int, "maxduration": int, "battr": ints
        }},
        "OpenRtbNative": {"type": "object", "required": ["request"], "properties": {
            "request": {"type": "string", "minLength": 1}, "ver": text, "battr": ints
        }},
        "OpenRtbPmp": {"type": "object", "properties": {
            "private_auction": int, "deals": list(r("OpenRtbDeal"))
        }},
        "OpenRtbDeal": {"type": "object", "required": ["id"], "properties": {
            "id": {"type": "string", "minLength": 1},
            "bidfloor": floor, "bidfloorcur": currency, "at": int,
            "wseat": strings, "wadomain": strings
        }},
        "OpenRtbSite": {"type": "object", "properties": {
            "domain": text, "cat": strings, "sectioncat": strings, "pagecat": strings
        }},
        "OpenRtbApp": {"type": "object", "properties": {
            "bundle": text, "domain": text, "cat": strings, "sectioncat": strings, "pagecat": strings
        }},
        "OpenRtbGeo": {"type": "object", "properties": {"country": text}},
        "OpenRtbDevice": {"type": "object", "properties": {
            "geo": nullable_ref("OpenRtbGeo"), "devicetype": int, "os": text
        }},
        "OpenRtbUser": {"type": "object", "properties": {
            "id": text, "buyeruid": text, "geo": nullable_ref("OpenRtbGeo"), "consent": text, "ext": any
        }},
        "OpenRtbRegs": {"type": "object", "properties": {
            "coppa": int, "gdpr": int, "us_privacy": text, "gpp": text, "ext": any
        }}
    })
}

/// Paths and the security scheme, merged into `/openapi.json` by the edge.
pub fn document() -> Value {
    let envelope = json!({"$ref": "#/components/schemas/ErrorEnvelope"});
    let refused = |what: &str| json!({"description": what, "content": {"application/json": {"schema": envelope.clone()}}});
    let notice = |kind: &str, what: &str| {
        let priced = kind != "loss";
        let price = if priced {
            json!({"name": "price", "in": "query", "required": false, "allowEmptyValue": false,
                "description": "The clearing price (CPM, `${AUCTION_PRICE}`), a decimal of at most one million, in `cur`. A price above the bid price is refused (422).",
                "schema": {"type": "string", "pattern": "^\\+?(0*[0-9]{1,6}(\\.[0-9]*)?|0*1000000(\\.0*)?|\\.[0-9]+)$"}})
        } else {
            json!({"name": "price", "in": "query", "required": false,
                "description": "Ignored on a loss notice.", "schema": {"type": "string"}})
        };
        let params = json!([
            {"name": "bid", "in": "query", "required": true, "description": "The bid id from the answer (`${AUCTION_BID_ID}`), 1 to 256 characters.", "schema": {"type": "string", "minLength": 1, "maxLength": 256}},
            {"name": "imp", "in": "query", "required": false, "description": "The impression id.", "schema": {"type": "string"}},
            {"name": "li", "in": "query", "required": false, "allowEmptyValue": false, "description": "The line item id.", "schema": {"type": "string", "format": "uuid"}},
            {"name": "cur", "in": "query", "required": false, "allowEmptyValue": false, "description": "Currency of `price` (ISO 4217); the bid currency when absent. Prices in another currency need its rate in `[bidder.engine.fx]`.", "schema": {"type": "string", "pattern": "^[A-Za-z]{3}$"}},
            price,
            {"name": "loss", "in": "query", "required": false, "description": "The loss reason code (`${AUCTION_LOSS}`, OpenRTB 2.6 list 5.25); a value that is not an integer is read as no code.", "schema": {"type": "string"}},
            {"name": "test", "in": "query", "required": false, "description": "`1` for a test notice: answered, never booked; any other value is not a test.", "schema": {"type": "string"}}
        ]);
        let mut responses = json!({
            "200": {"description": "The notice was taken (`x-kiki-notice-status` says whether it was applied, a repeat, unmatched, late or refused)."},
            "400": refused("The notice cannot be read: a missing `bid`, a `li` that is not a UUID, a `cur` that is not a currency code or has no configured rate, a `price` that is not a decimal CPM."),
            "401": refused("The exchange key is missing or not valid.")
        });
        if priced {
            responses["422"] =
                refused("The clearing price is above the bid price: nothing was booked.");
        }
        let op = json!({
            "tags": ["openrtb"],
            "summary": what,
            "description": format!("{what}. Sent by the exchange with the same credentials as the bid request; `x-kiki-notice-status` says whether it was applied, a repeat, unmatched, late or refused."),
            "operationId": format!("openrtb_{kind}_notice"),
            "security": [{"exchange_key": []}],
            "parameters": params,
            "responses": responses
        });
        json!({"get": op.clone(), "post": op})
    };
    let tracker = |kind: &str, what: &str, redirect: bool| {
        let mut params = vec![
            json!({"name": "bid", "in": "query", "required": false, "description": "The bid id.", "schema": {"type": "string"}}),
            json!({"name": "li", "in": "query", "required": true, "description": "The line item id.", "schema": {"type": "string", "format": "uuid"}}),
            json!({"name": "cr", "in": "query", "required": false, "description": "The creative id.", "schema": {"type": "string"}}),
            json!({"name": "t", "in": "query", "required": false, "description": "Issue time of the signature (Unix seconds), as the signed URL carries it. Any `bid`, `cr`, `t` and `sig` are answered; only a valid, unexpired, first call counts.", "schema": {"type": "string"}}),
            json!({"name": "sig", "in": "query", "required": false, "description": "HMAC-SHA256 over bid, line item, creative and issue time; only a valid, unexpired, first call counts.", "schema": {"type": "string"}}),
        ];
        let mut responses = json!({
            "400": refused("`li` is not a line item id."),
            "404": refused("The line item is not running.")
        });
        if redirect {
            params.push(json!({"name": "url", "in": "query", "required": true, "description": "The landing page; redirected to only when its host is the creative's `adomain` or allow-listed (`bidder.click_allowed_hosts`), else 400.", "schema": {"type": "string", "format": "uri"}}));
            responses["302"] = json!({"description": "Redirect to the landing page (`x-kiki-tracker-status` says whether the click counted)."});
            responses["400"] = refused(
                "`li` is not a line item id, or `url` is missing or not a landing page of the line item's advertiser.",
            );
        } else {
            responses["204"] = json!({"description": "Recorded (`x-kiki-tracker-status` says whether it counted)."});
        }
        json!({"get": {
            "tags": ["openrtb"],
            "summary": what,
            "operationId": format!("openrtb_{kind}_tracker"),
            "security": [{}],
            "parameters": params,
            "responses": responses
        }})
    };
    json!({
        "paths": {
            "/openrtb2/bid": {"post": {
                "tags": ["openrtb"],
                "summary": "An OpenRTB 2.6 bid request",
                "description": "The exchange's bid request (IAB Tech Lab OpenRTB 2.6, JSON, optionally gzip). The answer is a bid response with `x-openrtb-version: 2.6`, or 204 for no bid. A request that breaks a rule is refused with 400 naming it; integers are read as exchanges write them, without a decimal point. Bodies above the engine's limit (`bidder.engine.max_body_bytes`) are refused with 413.",
                "operationId": "openrtb_bid",
                "security": [{"exchange_key": []}],
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/OpenRtbBidRequest"},
                    "example": {"id": "req-1", "imp": [{"id": "1", "banner": {"w": 300, "h": 250}, "bidfloor": 0.5, "bidfloorcur": "USD"}], "site": {"domain": "news.example"}, "device": {"ua": "Mozilla/5.0", "ip": "203.0.113.7"}, "user": {"id": "u-42"}, "at": 1, "tmax": 120}
                }}},
                "responses": {
                    "200": {"description": "OpenRTB 2.6 BidResponse (section 4.2.1).", "content": {"application/json": {"schema": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}, "seatbid": {"type": "array", "items": {"type": "object"}}, "cur": {"type": "string"}}}}}},
                    "204": {"description": "No bid."},
                    "400": refused("The body is not OpenRTB JSON, or breaks a rule of the request (named in the message)."),
                    "401": refused("The exchange key is missing or not valid."),
                    "413": refused("The body is larger than `bidder.engine.max_body_bytes`."),
                    "415": refused("A `Content-Encoding` other than gzip.")
                }
            }},
            "/openrtb2/win": notice("win", "Win notice (nurl)"),
            "/openrtb2/billing": notice("billing", "Billing notice (burl)"),
            "/openrtb2/loss": notice("loss", "Loss notice (lurl)"),
            "/openrtb2/imp": tracker("imp", "Impression tracker", false),
            "/openrtb2/click": tracker("click", "Click tracker", true)
        },
        "components": {
            "schemas": request_schemas(),
            "securitySchemes": {"exchange_key": {
                "type": "apiKey", "in": "header", "name": "x-kiki-exchange-key",
                "description": "The key configured for the exchange in `[[bidder.exchanges]]`; an exchange may instead be allowed by source address (`allowed_addrs`)."
            }}
        }
    })
}
