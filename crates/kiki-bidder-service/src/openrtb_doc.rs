//! The OpenRTB endpoints in the API document: `/openrtb2/bid`, the win,
//! billing and loss notices and the impression and click trackers, with the
//! exchange-key security scheme. The bid request and response follow the
//! IAB Tech Lab OpenRTB 2.6 specification, which is referenced rather than
//! copied into the schema.

use serde_json::{Value, json};

/// Paths and the security scheme, merged into `/openapi.json` by the edge.
pub fn document() -> Value {
    let notice = |kind: &str, what: &str| {
        let params = json!([
            {"name": "bid", "in": "query", "required": true, "description": "The bid id from the answer (`${AUCTION_BID_ID}`).", "schema": {"type": "string", "minLength": 1, "maxLength": 256}},
            {"name": "imp", "in": "query", "required": false, "description": "The impression id.", "schema": {"type": "string"}},
            {"name": "li", "in": "query", "required": false, "description": "The line item id.", "schema": {"type": "string", "format": "uuid"}},
            {"name": "cur", "in": "query", "required": false, "description": "Currency of `price` (ISO 4217); the bid currency when absent.", "schema": {"type": "string", "pattern": "^[A-Z]{3}$"}},
            {"name": "price", "in": "query", "required": false, "description": "The clearing price (CPM, `${AUCTION_PRICE}`). A price above the bid price is refused (422).", "schema": {"type": "string"}},
            {"name": "loss", "in": "query", "required": false, "description": "The loss reason code (`${AUCTION_LOSS}`, OpenRTB 2.6 list 5.25).", "schema": {"type": "integer"}},
            {"name": "test", "in": "query", "required": false, "description": "`1` for a test notice: answered, never booked.", "schema": {"type": "string", "enum": ["0", "1"]}}
        ]);
        let op = json!({
            "tags": ["openrtb"],
            "summary": what,
            "description": format!("{what}. Sent by the exchange with the same credentials as the bid request; `x-kiki-notice-status` says whether it was applied, a repeat, unmatched, late or refused."),
            "operationId": format!("openrtb_{kind}_notice"),
            "security": [{"exchange_key": []}],
            "parameters": params,
            "responses": {
                "204": {"description": "The notice was taken (see `x-kiki-notice-status`)."}
            }
        });
        json!({"get": op.clone(), "post": op})
    };
    let tracker = |kind: &str, what: &str, redirect: bool| {
        let mut params = vec![
            json!({"name": "bid", "in": "query", "required": false, "description": "The bid id.", "schema": {"type": "string"}}),
            json!({"name": "li", "in": "query", "required": true, "description": "The line item id.", "schema": {"type": "string", "format": "uuid"}}),
            json!({"name": "cr", "in": "query", "required": false, "description": "The creative id.", "schema": {"type": "string"}}),
            json!({"name": "t", "in": "query", "required": false, "description": "Issue time of the signature (Unix seconds).", "schema": {"type": "integer"}}),
            json!({"name": "sig", "in": "query", "required": false, "description": "HMAC-SHA256 over bid, line item, creative and issue time; only a valid, unexpired, first call counts.", "schema": {"type": "string"}}),
        ];
        let mut responses = json!({
            "404": {"description": "The line item is not running.", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}}
        });
        if redirect {
            params.push(json!({"name": "url", "in": "query", "required": true, "description": "The landing page; redirected to only when its host is the creative's `adomain` or allow-listed.", "schema": {"type": "string", "format": "uri"}}));
            responses["302"] = json!({"description": "Redirect to the landing page (`x-kiki-tracker-status` says whether the click counted)."});
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
                "description": "The exchange's bid request (IAB Tech Lab OpenRTB 2.6, JSON, optionally gzip). The answer is a bid response with `x-openrtb-version: 2.6`, or 204 for no bid. Bodies above the engine's limit are refused with 413.",
                "operationId": "openrtb_bid",
                "security": [{"exchange_key": []}],
                "requestBody": {"required": true, "content": {"application/json": {
                    "schema": {"type": "object", "required": ["id", "imp"], "properties": {
                        "id": {"type": "string", "minLength": 1},
                        "imp": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}}
                    }, "description": "OpenRTB 2.6 BidRequest (section 3.2.1)."},
                    "example": {"id": "req-1", "imp": [{"id": "1", "banner": {"w": 300, "h": 250}, "bidfloor": 0.5, "bidfloorcur": "USD"}], "site": {"domain": "news.example"}, "device": {"ua": "Mozilla/5.0", "ip": "203.0.113.7"}, "user": {"id": "u-42"}, "at": 1, "tmax": 120}
                }}},
                "responses": {
                    "200": {"description": "OpenRTB 2.6 BidResponse (section 4.2.1).", "content": {"application/json": {"schema": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}, "seatbid": {"type": "array", "items": {"type": "object"}}, "cur": {"type": "string"}}}}}},
                    "204": {"description": "No bid."}
                }
            }},
            "/openrtb2/win": notice("win", "Win notice (nurl)"),
            "/openrtb2/billing": notice("billing", "Billing notice (burl)"),
            "/openrtb2/loss": notice("loss", "Loss notice (lurl)"),
            "/openrtb2/imp": tracker("imp", "Impression tracker", false),
            "/openrtb2/click": tracker("click", "Click tracker", true)
        },
        "components": {"securitySchemes": {"exchange_key": {
            "type": "apiKey", "in": "header", "name": "x-kiki-exchange-key",
            "description": "The key configured for the exchange in `[[bidder.exchanges]]`; an exchange may instead be allowed by source address (`allowed_addrs`)."
        }}}
    })
}
