//! Reading a landing page: what a plan can learn from the page a click lands
//! on, given its address and its HTML (the service fetches it; this module
//! only reads text).
//!
//! The reader is a small tolerant scanner, not an HTML parser: it walks the
//! tags in order, matches tag and attribute names in any case, takes
//! attribute values in double quotes, single quotes or none, skips comments,
//! doctype and the contents of `<script>` and `<style>` (except JSON-LD
//! scripts, which it reads as JSON), and never fails: broken markup yields
//! fewer facts, not an error. What it reads:
//!
//! - `<title>`, `<meta name="description">`, `<html lang>`;
//! - Open Graph: `og:title`, `og:site_name`, `og:description`, `og:type`,
//!   `product:price:amount` and `product:price:currency`;
//! - JSON-LD objects (also inside arrays and `@graph`) of `@type` `Product`
//!   (name, brand, offers' price and currency) and `Organization` (name);
//! - the text of `<h1>` and `<h2>` headings.
//!
//! Every string is entity-decoded, its whitespace collapsed, and cut at
//! [`MAX_CHARS`] characters; lists are cut at [`MAX_HEADINGS`] and
//! [`MAX_PRODUCTS`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::industry::{Industry, classify};
use crate::tokens::tokenize;

/// The longest string kept, in characters.
pub const MAX_CHARS: usize = 300;
/// The most headings kept, in page order.
pub const MAX_HEADINGS: usize = 8;
/// The most product names kept, in page order.
pub const MAX_PRODUCTS: usize = 10;

/// A price shown on the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PagePrice {
    /// The amount as the page writes it (`49.00`).
    pub amount: String,
    /// Its ISO 4217 code in capitals, when the page gives one.
    pub currency: Option<String>,
}

/// The industry the page's words place it in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PageIndustry {
    pub industry: Industry,
    /// The word of the page that decided it.
    pub word: String,
}

/// What a landing page says about the advertiser and the offer. Absent
/// fields were not on the page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PageFacts {
    /// The address the page was read from.
    pub url: String,
    /// `og:title`, else `<title>`.
    pub title: Option<String>,
    /// `<meta name="description">`, else `og:description`.
    pub description: Option<String>,
    /// `og:site_name`.
    pub site_name: Option<String>,
    /// The product's brand (JSON-LD), else the site name, else the
    /// organisation's name (JSON-LD), else the host name's registrable part
    /// capitalised (`shop.lumiere.example` → `Lumiere`).
    pub brand: Option<String>,
    /// Product names (JSON-LD `Product`, or the title of an `og:type`
    /// product page), in page order.
    pub products: Vec<String>,
    /// The text of the `<h1>` and `<h2>` headings, in page order.
    pub headings: Vec<String>,
    /// The first product price (JSON-LD offers, else Open Graph).
    pub price: Option<PagePrice>,
    /// `<html lang>` as written (`en-US`).
    pub language: Option<String>,
    /// The industry of the title, description, headings and product names.
    pub industry: Option<PageIndustry>,
}

impl PageFacts {
    /// The page's text that says what it offers: title, description,
    /// headings and product names.
    fn texts(&self) -> impl Iterator<Item = &str> {
        self.title
            .iter()
            .chain(&self.description)
            .chain(&self.headings)
            .chain(&self.products)
            .map(String::as_str)
    }

    /// The lower-case words of [`PageFacts::texts`], for the keyword tables.
    pub(crate) fn words(&self) -> Vec<String> {
        let text = self.texts().collect::<Vec<_>>().join(" . ");
        tokenize(&text)
            .into_iter()
            .filter_map(|t| t.word().map(str::to_owned))
            .collect()
    }
}

/// Reads the page at `url` from its `html`.
pub fn read_page(url: &str, html: &str) -> PageFacts {
    let mut s = Scan::default();
    s.run(html);

    let og = |key: &str| {
        s.meta
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| clean(v))
    };
    let title = og("og:title")
        .or_else(|| s.title.as_deref().and_then(clean))
        .or_else(|| og("twitter:title"));
    let description = og("description").or_else(|| og("og:description"));
    let site_name = og("og:site_name");

    let mut products: Vec<String> = Vec::new();
    for p in &s.ld.products {
        if products.len() < MAX_PRODUCTS && !products.contains(p) {
            products.push(p.clone());
        }
    }
    if products.is_empty()
        && og("og:type").is_some_and(|t| t.eq_ignore_ascii_case("product"))
        && let Some(t) = &title
    {
        products.push(t.clone());
    }

    let price = s.ld.price.clone().or_else(|| {
        let amount = og("product:price:amount").or_else(|| og("og:price:amount"))?;
        let currency = og("product:price:currency")
            .or_else(|| og("og:price:currency"))
            .and_then(|c| currency_code(&c));
        Some(PagePrice { amount, currency })
    });

    let brand =
        s.ld.brand
            .clone()
            .or_else(|| site_name.clone())
            .or_else(|| s.ld.organization.clone())
            .or_else(|| brand_from_url(url));

    let mut facts = PageFacts {
        url: cap(url.trim()),
        title,
        description,
        site_name,
        brand,
        products,
        headings: s.headings,
        price,
        language: s.language.as_deref().and_then(clean),
        industry: None,
    };
    let words = facts.words();
    facts.industry = classify(words.iter().map(String::as_str)).map(|(industry, w)| PageIndustry {
        industry,
        word: w.to_owned(),
    });
    facts
}

/// The host of an `http(s)` address, in lower case, without user, port or
/// trailing dot.
pub(crate) fn host_of(url: &str) -> Option<String> {
    let t = url.trim();
    let lower = t.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &t[8..]
    } else if lower.starts_with("http://") {
        &t[7..]
    } else {
        t.strip_prefix("//").unwrap_or(t)
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host
        .split(':')
        .next()
        .unwrap_or_default()
        .trim_end_matches('.');
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
    ok.then(|| host.to_ascii_lowercase())
}

/// Second-level labels under which country domains register names
/// (`shop.co.uk`, `store.com.au`).
const SECOND_LEVEL: &[&str] = &[
    "co", "com", "org", "net", "ac", "gov", "edu", "ltd", "plc", "ne", "or",
];

/// The brand a host name suggests: its registrable label, capitalised
/// (`www.shop.lumiere.example` → `Lumiere`, `my-shop.co.uk` → `My Shop`).
/// `None` for addresses, `localhost` and single labels.
pub(crate) fn brand_from_url(url: &str) -> Option<String> {
    let host = host_of(url)?;
    let labels: Vec<&str> = host.split('.').filter(|l| !l.is_empty()).collect();
    if labels.len() < 2 || labels.iter().all(|l| l.chars().all(|c| c.is_ascii_digit())) {
        return None;
    }
    let n = labels.len();
    let suffix = if n >= 3 && labels[n - 1].len() == 2 && SECOND_LEVEL.contains(&labels[n - 2]) {
        2
    } else {
        1
    };
    let label = labels.get(n.checked_sub(suffix + 1)?)?;
    let words: Vec<String> = label
        .split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    let brand = words.join(" ");
    (!brand.is_empty()).then_some(brand)
}

/// A three-letter currency code in capitals.
fn currency_code(s: &str) -> Option<String> {
    let t = s.trim();
    (t.len() == 3 && t.bytes().all(|b| b.is_ascii_alphabetic())).then(|| t.to_ascii_uppercase())
}

/// Cuts `s` at [`MAX_CHARS`] characters.
fn cap(s: &str) -> String {
    s.chars()
        .take(MAX_CHARS)
        .collect::<String>()
        .trim_end()
        .to_owned()
}

/// Decodes entities, drops control characters, collapses whitespace and
/// caps the length; `None` when nothing is left.
fn clean(raw: &str) -> Option<String> {
    let decoded = decode_entities(raw);
    let text: String = decoded
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let text = cap(&text);
    (!text.is_empty()).then_some(text)
}

/// Replaces character references: the common named ones and decimal or
/// hexadecimal numeric ones. An unknown or unterminated reference is kept
/// as written.
pub(crate) fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(&rest[..p]);
        let after = &rest[p + 1..];
        let semi = after
            .char_indices()
            .take(12)
            .find(|(_, c)| *c == ';')
            .map(|(i, _)| i);
        match semi.and_then(|k| entity(&after[..k]).map(|c| (k, c))) {
            Some((k, c)) => {
                out.push(c);
                rest = &after[k + 1..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        return Some(
            char::from_u32(code)
                .filter(|&c| c != '\0')
                .unwrap_or('\u{FFFD}'),
        );
    }
    Some(match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "middot" => '·',
        "bull" => '•',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "eacute" => 'é',
        "egrave" => 'è',
        "agrave" => 'à',
        "uuml" => 'ü',
        "ouml" => 'ö',
        "auml" => 'ä',
        "szlig" => 'ß',
        "ccedil" => 'ç',
        _ => return None,
    })
}

/// What JSON-LD says.
#[derive(Default)]
struct Ld {
    products: Vec<String>,
    brand: Option<String>,
    organization: Option<String>,
    price: Option<PagePrice>,
}

/// The scanner's findings, raw (attribute values are already decoded).
#[derive(Default)]
struct Scan {
    title: Option<String>,
    language: Option<String>,
    /// (`name`/`property` in lower case, `content`), in page order.
    meta: Vec<(String, String)>,
    headings: Vec<String>,
    ld: Ld,
}

/// Elements whose content is text up to their end tag, never markup.
const RAW: &[&str] = &["script", "style", "title", "textarea", "template"];

/// The most text gathered for one heading before it is cut, in bytes.
const HEADING_BYTES: usize = 4_096;

fn find_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= hay.len() || needle.is_empty() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| from + p)
}

impl Scan {
    fn run(&mut self, html: &str) {
        let b = html.as_bytes();
        let mut i = 0;
        // The open heading: its tag and its raw text so far.
        let mut heading: Option<(String, String)> = None;
        while i < b.len() {
            if b[i] != b'<' {
                let j = b[i..]
                    .iter()
                    .position(|&c| c == b'<')
                    .map_or(b.len(), |p| i + p);
                if let Some((_, text)) = &mut heading
                    && text.len() < HEADING_BYTES
                {
                    text.push_str(&html[i..j]);
                }
                i = j;
                continue;
            }
            if b[i..].starts_with(b"<!--") {
                i = find_ci(b, i + 4, b"-->").map_or(b.len(), |j| j + 3);
                continue;
            }
            let next = b.get(i + 1).copied();
            if matches!(next, Some(b'!' | b'?')) {
                i = b[i..]
                    .iter()
                    .position(|&c| c == b'>')
                    .map_or(b.len(), |p| i + p + 1);
                continue;
            }
            let closing = next == Some(b'/');
            let name_at = i + 1 + usize::from(closing);
            if !b.get(name_at).is_some_and(u8::is_ascii_alphabetic) {
                // A lone `<` is text.
                if let Some((_, text)) = &mut heading {
                    text.push('<');
                }
                i += 1;
                continue;
            }
            let tag = parse_tag(html, name_at);
            i = tag.end;
            if closing {
                if let Some((open, _)) = &heading
                    && *open == tag.name
                {
                    self.finish_heading(heading.take());
                }
                continue;
            }
            match tag.name.as_str() {
                "h1" | "h2" => {
                    self.finish_heading(heading.take());
                    if !tag.self_closing {
                        heading = Some((tag.name.clone(), String::new()));
                    }
                }
                "br" | "p" | "div" | "li" => {
                    if let Some((_, text)) = &mut heading {
                        text.push(' ');
                    }
                }
                "html" if self.language.is_none() => {
                    self.language = tag.attr("lang").map(str::to_owned);
                }
                "meta" => {
                    let key = tag
                        .attr("property")
                        .or_else(|| tag.attr("name"))
                        .or_else(|| tag.attr("itemprop"));
                    if let (Some(key), Some(content)) = (key, tag.attr("content")) {
                        self.meta
                            .push((key.trim().to_ascii_lowercase(), content.to_owned()));
                    }
                }
                _ => {}
            }
            if RAW.contains(&tag.name.as_str()) && !tag.self_closing {
                let close = format!("</{}", tag.name);
                let end = find_ci(b, i, close.as_bytes()).unwrap_or(b.len());
                let content = &html[i..end];
                match tag.name.as_str() {
                    "title" if self.title.is_none() => {
                        self.title = Some(content.to_owned());
                    }
                    "script"
                        if tag.attr("type").is_some_and(|t| {
                            t.trim().eq_ignore_ascii_case("application/ld+json")
                        }) =>
                    {
                        self.json_ld(content);
                    }
                    _ => {}
                }
                i = b[end..]
                    .iter()
                    .position(|&c| c == b'>')
                    .map_or(b.len(), |p| end + p + 1);
            }
        }
        self.finish_heading(heading);
    }

    fn finish_heading(&mut self, heading: Option<(String, String)>) {
        if let Some((_, raw)) = heading
            && self.headings.len() < MAX_HEADINGS
            && let Some(text) = clean(&raw)
        {
            self.headings.push(text);
        }
    }

    fn json_ld(&mut self, content: &str) {
        let t = content.trim();
        let t = t.strip_prefix("<!--").unwrap_or(t);
        let t = t.strip_suffix("-->").unwrap_or(t).trim();
        let t = t.strip_prefix("//<![CDATA[").unwrap_or(t);
        let t = t.strip_suffix("//]]>").unwrap_or(t);
        if let Ok(v) = serde_json::from_str::<Value>(t) {
            self.ld_value(&v, 0);
        }
    }

    fn ld_value(&mut self, v: &Value, depth: usize) {
        if depth > 8 {
            return;
        }
        match v {
            Value::Array(items) => {
                for item in items {
                    self.ld_value(item, depth + 1);
                }
            }
            Value::Object(o) => {
                let types: Vec<&str> = match o.get("@type") {
                    Some(Value::String(t)) => vec![t.as_str()],
                    Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                let is = |names: &[&str]| types.iter().any(|t| names.contains(t));
                let name = o.get("name").and_then(ld_text);
                if is(&["Product", "ProductGroup", "IndividualProduct"]) {
                    self.ld_product(o, name);
                    // A product's own parts (seller, reviews) are not the page's.
                    return;
                }
                if is(&[
                    "Organization",
                    "Corporation",
                    "OnlineStore",
                    "OnlineBusiness",
                    "Store",
                    "LocalBusiness",
                ]) && self.ld.organization.is_none()
                {
                    self.ld.organization = name;
                }
                for child in o.values() {
                    if child.is_object() || child.is_array() {
                        self.ld_value(child, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }

    fn ld_product(&mut self, o: &serde_json::Map<String, Value>, name: Option<String>) {
        if let Some(n) = name
            && !self.ld.products.contains(&n)
            && self.ld.products.len() < MAX_PRODUCTS
        {
            self.ld.products.push(n);
        }
        if self.ld.brand.is_none() {
            self.ld.brand = match o.get("brand") {
                Some(Value::Object(b)) => b.get("name").and_then(ld_text),
                Some(Value::Array(bs)) => bs.iter().find_map(|b| match b {
                    Value::Object(b) => b.get("name").and_then(ld_text),
                    other => ld_text(other),
                }),
                Some(other) => ld_text(other),
                None => None,
            };
        }
        if self.ld.price.is_none() {
            let offers: Vec<&serde_json::Map<String, Value>> = match o.get("offers") {
                Some(Value::Object(offer)) => vec![offer],
                Some(Value::Array(list)) => list.iter().filter_map(Value::as_object).collect(),
                _ => Vec::new(),
            };
            self.ld.price = offers.into_iter().find_map(|offer| {
                let amount = ["price", "lowPrice"]
                    .iter()
                    .find_map(|k| offer.get(*k).and_then(ld_text))?;
                let currency = offer
                    .get("priceCurrency")
                    .and_then(Value::as_str)
                    .and_then(currency_code);
                Some(PagePrice { amount, currency })
            });
        }
    }
}

/// A JSON-LD value as text: a string cleaned, a number as written.
fn ld_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => clean(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// One start tag.
struct Tag {
    /// Lower case.
    name: String,
    /// Names in lower case, values decoded; the first of a name wins.
    attrs: Vec<(String, String)>,
    self_closing: bool,
    /// The byte after its `>` (or the end of the text).
    end: usize,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads the tag whose name starts at byte `at` (just after `<` or `</`).
fn parse_tag(html: &str, at: usize) -> Tag {
    let b = html.as_bytes();
    let mut i = at;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'-' | b':' | b'_')) {
        i += 1;
    }
    let name = html[at..i].to_ascii_lowercase();
    let mut attrs: Vec<(String, String)> = Vec::new();
    let mut self_closing = false;
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            self_closing = b[i] == b'/';
            i += 1;
        }
        if i >= b.len() {
            break;
        }
        if b[i] == b'>' {
            i += 1;
            break;
        }
        self_closing = false;
        let start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        if i == start {
            i += 1; // a stray `=`: skip it
            continue;
        }
        let key = html[start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if b.get(i) == Some(&b'=') {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            match b.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let from = i + 1;
                    let to = b[from..]
                        .iter()
                        .position(|&c| c == q)
                        .map_or(b.len(), |p| from + p);
                    value = decode_entities(&html[from..to]);
                    i = (to + 1).min(b.len());
                }
                _ => {
                    let from = i;
                    while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                        i += 1;
                    }
                    value = decode_entities(&html[from..i]);
                }
            }
        }
        if !attrs.iter().any(|(k, _)| *k == key) {
            attrs.push((key, value));
        }
    }
    Tag {
        name,
        attrs,
        self_closing,
        end: i,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_decode_and_unknown_ones_stay() {
        assert_eq!(
            decode_entities(
                "Tom &amp; Jerry &lt;3 &quot;hi&quot; &#39;x&#39; &#233;t&#xE9; a&nbsp;b"
            ),
            "Tom & Jerry <3 \"hi\" 'x' été a b"
        );
        assert_eq!(
            decode_entities("&bogus; & &#; &#xZZ; AT&T"),
            "&bogus; & &#; &#xZZ; AT&T"
        );
        assert_eq!(decode_entities("&#0;&#x110000;"), "\u{FFFD}\u{FFFD}");
    }

    #[test]
    fn hosts_give_their_registrable_label() {
        let b = |u: &str| brand_from_url(u);
        assert_eq!(
            b("https://shop.lumiere.example/p/serum").as_deref(),
            Some("Lumiere")
        );
        assert_eq!(b("http://www.my-shop.co.uk").as_deref(), Some("My Shop"));
        assert_eq!(b("https://USER@Acme.com:8443/x?y").as_deref(), Some("Acme"));
        assert_eq!(b("https://localhost:3000/"), None);
        assert_eq!(b("http://10.0.0.1/"), None);
        assert_eq!(b("not a url"), None);
    }

    #[test]
    fn attributes_in_any_quote_style_and_case() {
        let t = parse_tag(
            r#"META Name='Description' CONTENT="a &amp; b" data-x=1 checked/>"#,
            0,
        );
        assert_eq!(t.name, "meta");
        assert_eq!(t.attr("name"), Some("Description"));
        assert_eq!(t.attr("content"), Some("a & b"));
        assert_eq!(t.attr("data-x"), Some("1"));
        assert_eq!(t.attr("checked"), Some(""));
        assert!(t.self_closing);
    }
}
