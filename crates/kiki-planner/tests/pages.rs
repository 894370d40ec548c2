//! Landing pages read into facts: realistic pages, broken markup, nothing.

use kiki_planner::page::{MAX_CHARS, MAX_HEADINGS};
use kiki_planner::{Industry, PagePrice, read_page};
use proptest::prelude::*;

const PRODUCT_PAGE: &str = r#"<!doctype html>
<html class="no-js" lang="en-US">
<head>
  <meta charset="utf-8">
  <meta http-equiv="X-UA-Compatible" content="IE=edge">
  <title>Radiance Serum &ndash; Lumière Skincare</title>
  <meta name="description" content="A lightweight vitamin C serum for brighter,
      even-toned skin. Free shipping over $50.">
  <link rel="canonical" href="https://shop.lumiere.example/products/radiance-serum">
  <meta property="og:site_name" content="Lumière Skincare">
  <meta property="og:url" content="https://shop.lumiere.example/products/radiance-serum">
  <meta property="og:title" content="Radiance Serum">
  <meta property="og:type" content="product">
  <meta property="og:description" content="A lightweight vitamin C serum">
  <meta property="og:price:amount" content="52.00">
  <meta property="og:price:currency" content="USD">
  <script>window.ShopifyAnalytics = {"meta":{"product":{"title":"<h1>not a heading</h1>"}}};</script>
  <style>h1 { color: #333 } .a > .b { margin: 0 }</style>
  <script type="application/ld+json">
  {
    "@context": "http://schema.org/",
    "@type": "Product",
    "name": "Radiance Serum",
    "url": "https://shop.lumiere.example/products/radiance-serum",
    "image": ["https://cdn.shop.example/files/serum.jpg"],
    "description": "A lightweight vitamin C serum.",
    "sku": "LUM-RS-30",
    "brand": {"@type": "Brand", "name": "Lumière"},
    "offers": [
      {
        "@type": "Offer",
        "price": "49.00",
        "priceCurrency": "usd",
        "availability": "http://schema.org/InStock",
        "seller": {"@type": "Organization", "name": "Marketplace Seller"}
      }
    ]
  }
  </script>
  <script type="application/ld+json">{"@context":"http://schema.org","@type":"Organization","name":"Lumière Skincare Inc.","url":"https://shop.lumiere.example"}</script>
</head>
<body class="template-product">
  <header class="site-header"><a href="/" class="logo">Lumière</a>
    <nav><ul><li><a href="/collections/all">Shop all</a></li></ul></nav>
  </header>
  <main id="MainContent">
    <div class="product">
      <h1 class="product__title">Radiance Serum</h1>
      <span class="price">$49.00</span>
      <form action="/cart/add" method="post"><button type="submit" name="add">Add to cart</button></form>
      <h2 class="h4">Why you&#39;ll love it</h2>
      <p>Vitamin C and ferulic acid.</p>
      <h2 class="h4">How to use</h2>
    </div>
  </main>
</body>
</html>"#;

const SAAS_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>Ledgerly | Invoicing software for small teams</title>
<meta name="description" content="Send invoices, chase late payments and reconcile your books in one place. Free for 14 days."/>
<meta property="og:title" content="Ledgerly — invoicing software for small teams"/>
<meta property="og:type" content="website"/>
<script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"Organization","@id":"https://ledgerly.example/#org","name":"Ledgerly Ltd","url":"https://ledgerly.example"},{"@type":"WebSite","name":"Ledgerly","publisher":{"@id":"https://ledgerly.example/#org"}}]}</script>
<script src="/_next/static/chunks/main.js" defer></script>
</head>
<body>
<div id="__next">
<section class="hero">
<h1>Get paid <em>twice</em> as fast</h1>
<p>Trusted by 4,000 small businesses.</p>
<a class="btn" href="/signup">Start free trial</a>
</section>
<section><h2>Invoices that chase themselves</h2></section>
<section><h2>Bank feeds from 2,000+ banks</h2></section>
<section><h2>Simple pricing</h2></section>
</div>
</body>
</html>"#;

const ODD_PAGE: &str = "<HTML LANG='fr'>\n<HEAD>\n\
<TITLE>Caf&eacute; &amp; Co &#8212; Torr&#233;faction \t  artisanale</TITLE>\n\
<META NAME=description CONTENT='Du caf&eacute; &quot;de sp&eacute;cialit&eacute;&quot;, torr&eacute;fi&eacute; &agrave; Lyon &#x2014; livr&eacute; en 48h'>\n\
<meta property=og:site_name content=\"Caf&eacute; &amp; Co\">\n\
<!-- <h1>commented out</h1> -->\n\
<script type=\"text/javascript\">document.write(\"<h2>not a heading</h2>\")</script>\n\
<SCRIPT type = \"Application/LD+JSON\">\n\
 [ {\"@type\": [\"Product\"], \"name\": \"Espresso   Blend &amp; more\", \"brand\": \"Caf\u{e9} & Co\",\n\
    \"offers\": {\"@type\": \"AggregateOffer\", \"lowPrice\": 12.5, \"priceCurrency\": \"eur\"}} ]\n\
</SCRIPT>\n\
</HEAD>\n<BODY>\n\
<H1 class=hero>Notre  caf&eacute;<br>du  moment</H1>\n\
<h2>1 < 2 &lt; 3</h2>\n\
<h2 data-x=\"a>b\" title='it&apos;s'>Attribute with &gt; inside</h2>\n\
<p>unclosed <h2>Last heading\n";

#[test]
fn a_shop_product_page_gives_product_brand_price_and_industry() {
    let f = read_page(
        "https://shop.lumiere.example/products/radiance-serum",
        PRODUCT_PAGE,
    );
    assert_eq!(
        f.url,
        "https://shop.lumiere.example/products/radiance-serum"
    );
    assert_eq!(f.title.as_deref(), Some("Radiance Serum"));
    assert_eq!(
        f.description.as_deref(),
        Some(
            "A lightweight vitamin C serum for brighter, even-toned skin. Free shipping over $50."
        )
    );
    assert_eq!(f.site_name.as_deref(), Some("Lumière Skincare"));
    // The product's own brand wins over the site and the organisation.
    assert_eq!(f.brand.as_deref(), Some("Lumière"));
    assert_eq!(f.products, ["Radiance Serum"]);
    assert_eq!(
        f.headings,
        ["Radiance Serum", "Why you'll love it", "How to use"]
    );
    // JSON-LD offers win over Open Graph, and the code is put in capitals.
    assert_eq!(
        f.price,
        Some(PagePrice {
            amount: "49.00".to_owned(),
            currency: Some("USD".to_owned()),
        })
    );
    assert_eq!(f.language.as_deref(), Some("en-US"));
    let industry = f.industry.unwrap();
    assert_eq!(
        (industry.industry, industry.word.as_str()),
        (Industry::Ecommerce, "serum")
    );
}

#[test]
fn a_saas_landing_page_gives_the_organisation_and_its_headings() {
    let f = read_page("https://ledgerly.example/", SAAS_PAGE);
    assert_eq!(
        f.title.as_deref(),
        Some("Ledgerly — invoicing software for small teams")
    );
    assert_eq!(f.site_name, None);
    assert_eq!(f.brand.as_deref(), Some("Ledgerly Ltd"));
    assert!(f.products.is_empty());
    assert_eq!(f.price, None);
    assert_eq!(
        f.headings,
        [
            "Get paid twice as fast",
            "Invoices that chase themselves",
            "Bank feeds from 2,000+ banks",
            "Simple pricing"
        ]
    );
    let industry = f.industry.unwrap();
    assert_eq!(
        (industry.industry, industry.word.as_str()),
        (Industry::Saas, "software")
    );
}

#[test]
fn entities_odd_markup_and_unclosed_tags_are_read_tolerantly() {
    let f = read_page("https://cafe-and-co.fr/", ODD_PAGE);
    assert_eq!(
        f.title.as_deref(),
        Some("Café & Co — Torréfaction artisanale")
    );
    assert_eq!(
        f.description.as_deref(),
        Some("Du café \"de spécialité\", torréfié à Lyon — livré en 48h")
    );
    assert_eq!(f.site_name.as_deref(), Some("Café & Co"));
    assert_eq!(f.brand.as_deref(), Some("Café & Co"));
    assert_eq!(f.products, ["Espresso Blend & more"]);
    assert_eq!(
        f.price,
        Some(PagePrice {
            amount: "12.5".to_owned(),
            currency: Some("EUR".to_owned()),
        })
    );
    assert_eq!(f.language.as_deref(), Some("fr"));
    assert_eq!(
        f.headings,
        [
            "Notre café du moment",
            "1 < 2 < 3",
            "Attribute with > inside",
            "Last heading"
        ]
    );
    assert!(f.industry.is_none());
}

#[test]
fn an_empty_page_gives_only_the_brand_of_its_host() {
    for html in [
        "",
        "<html><head></head><body></body></html>",
        "<<<>>><",
        "<!--",
    ] {
        let f = read_page("https://www.northwind-tea.example/", html);
        assert_eq!(f.brand.as_deref(), Some("Northwind Tea"), "{html}");
        assert_eq!(f.title, None);
        assert_eq!(f.description, None);
        assert_eq!(f.site_name, None);
        assert!(f.products.is_empty() && f.headings.is_empty());
        assert_eq!(f.price, None);
        assert_eq!(f.language, None);
        assert!(f.industry.is_none());
    }
    let f = read_page("", "");
    assert_eq!(f.brand, None);
}

#[test]
fn strings_and_lists_are_capped() {
    let long = "word ".repeat(400);
    let mut html = format!("<title>{long}</title><meta name=description content=\"{long}\">");
    for i in 0..20 {
        html.push_str(&format!("<h2>Heading {i}</h2>"));
    }
    let f = read_page("https://a.example", &html);
    assert_eq!(f.title.as_ref().unwrap().chars().count(), MAX_CHARS - 1); // the cut's trailing space goes
    assert!(f.description.as_ref().unwrap().chars().count() <= MAX_CHARS);
    assert_eq!(f.headings.len(), MAX_HEADINGS);
    assert_eq!(f.headings[0], "Heading 0");
}

#[test]
fn the_page_serialises_with_its_schema_names() {
    let f = read_page("https://shop.lumiere.example/p", PRODUCT_PAGE);
    let v = serde_json::to_value(&f).unwrap();
    assert_eq!(v["industry"]["industry"], "ecommerce");
    assert_eq!(v["price"]["currency"], "USD");
    let back: kiki_planner::PageFacts = serde_json::from_value(v).unwrap();
    assert_eq!(back, f);
}

proptest! {
    #[test]
    fn any_text_reads_without_panicking(s in "[<>a-zA-Z0-9/!=\"' &#;:\\-\\[\\]{}é€\n]{0,300}") {
        let f = read_page("https://x.example/", &s);
        prop_assert!(f.headings.len() <= MAX_HEADINGS);
        for h in &f.headings {
            prop_assert!(h.chars().count() <= MAX_CHARS);
        }
    }

    #[test]
    fn any_text_inside_tags_reads_without_panicking(s in "\\PC{0,200}") {
        let html = format!("<html lang={s}><title>{s}</title><h1>{s}<script type=application/ld+json>{s}</script><meta name=description content='{s}'>");
        let _ = read_page(&s, &html);
    }
}
