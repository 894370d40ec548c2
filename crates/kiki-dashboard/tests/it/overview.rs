//! The overview against the fixture (`main.rs`): 27 Feb – 1 Mar holds, in
//! dollars, spend 100 + 200 + 100 = 400, revenue 300 + 500 + 200 = 1,000,
//! 9 conversions, 40,000 impressions, 600 clicks; the comparison (24–26
//! Feb) spend 50, revenue 100, 2 conversions. Every figure below is worked
//! out by hand from those sums.

use kiki_test_support::identity::{PASSWORD, admin, client_org, json, member};
use serde_json::json;

use crate::*;

#[tokio::test]
async fn the_overview_shows_the_figures_of_the_range_with_their_change() {
    let (app, svc, _) = spawn().await;
    let boss = admin(&app, "kpi@shop.example", "KPI Shop").await;
    feed(&svc, boss.org_id).await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;

    let page = b.get(&format!("/app?{RANGE}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("27 Feb 2026 – 1 Mar 2026"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("compared with 24 Feb 2026 – 26 Feb 2026")
    );
    assert!(page.body.contains("time zone UTC"));
    assert!(page.body.contains("Figures in USD"));

    // $400 now, $50 before: +$350, +700 %.
    assert_eq!(page.tile("spend"), "Ad spend $400.00 ▲ +$350.00 (+700.0 %)");
    assert_eq!(
        page.tile("revenue"),
        "Revenue $1,000.00 ▲ +$900.00 (+900.0 %)"
    );
    // No margin configured: revenue counts as profit, and the tile says so.
    assert_eq!(
        page.tile("gross_profit"),
        "Gross profit $1,000.00 ▲ +$900.00 (+900.0 %) Assumes a 100 % margin: no contribution margin is configured, so revenue counts as profit."
    );
    assert!(
        page.tile("profit_after_ad_spend")
            .starts_with("Profit after ad spend $600.00 ▲ +$550.00 (+1100.0 %)")
    );
    // This app's analytics reads neither the LTV context nor the twin: the
    // tiles show no figure and say why.
    let uplift = page.tile("net_profit_uplift");
    assert!(
        uplift.starts_with("Net profit uplift vs baseline —")
            && uplift.contains("twin is not connected"),
        "{uplift}"
    );
    assert!(
        page.tile("new_customers")
            .contains("LTV context is not connected")
    );
    // 1,000 / 400 = 2.5× against 100 / 50 = 2×.
    assert_eq!(page.tile("roas"), "ROAS 2.50× ▲ +0.50× (+25.0 %)");
    // $400 / 9 = $44.44 against $50 / 2 = $25.
    assert_eq!(
        page.tile("cpa"),
        "Cost per conversion $44.44 ▲ +$19.44 (+77.8 %)"
    );
    assert_eq!(page.tile("conversions"), "Conversions 9 ▲ +7 (+350.0 %)");
    // 600 / 40,000 = 1.5 % against 100 / 5,000 = 2 %.
    assert_eq!(
        page.tile("ctr"),
        "Click-through rate 1.5 % ▼ -0.50 pt (-25.0 %)"
    );
    assert_eq!(page.tile("clicks"), "Clicks 600 ▲ +500 (+500.0 %)");
    assert_eq!(
        page.tile("impressions"),
        "Impressions 40,000 ▲ +35,000 (+700.0 %)"
    );
    assert_eq!(
        page.tile("active_campaigns"),
        "Active campaigns 2 ▲ +1 (+100.0 %)"
    );

    // The platform breakdown, largest spend first.
    assert_eq!(
        page.platform_row("meta"),
        "meta USD $300.00 $800.00 2.67× 7.50 $40.00 500 1.7 %"
    );
    assert_eq!(
        page.platform_row("google"),
        "google USD $100.00 $200.00 2.00× 1.50 $66.67 100 1.0 %"
    );
    assert!(page.body.find("data-platform=\"meta\"") < page.body.find("data-platform=\"google\""));

    // The chart: an SVG for every browser, the data for the script.
    assert!(page.body.contains("<svg class=\"chart-svg\""));
    // In an attribute, not a script block: htmx drops script elements from
    // the content it swaps in.
    let series = page
        .body
        .split_once("<figure class=\"chart\" data-series=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(value, _)| value.replace("&#34;", "\"").replace("&quot;", "\""))
        .unwrap_or_else(|| panic!("the chart's data: {}", page.body));
    assert_eq!(
        series,
        "{\"currency\":\"USD\",\"days\":[\"2026-02-27\",\"2026-02-28\",\"2026-03-01\"],\"revenue_micros\":[300000000,0,700000000],\"spend_micros\":[100000000,0,300000000]}"
    );
    assert!(!page.body.contains("type=\"application/json\""));

    // A configured margin replaces the assumption: 30 % of $1,000.
    let (status, body) = json(
        boss.caller(&app)
            .patch(
                &format!("/v1/organisations/{}", boss.org_id),
                &json!({"contribution_margin_bps": 3000}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let page = b.get(&format!("/app?{RANGE}&compare=none")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    // (Another comparison is another cached answer: no wait for the cache.)
    let gross = page.tile("gross_profit");
    assert_eq!(gross, "Gross profit $300.00", "no comparison, no note");
    assert_eq!(
        page.tile("profit_after_ad_spend"),
        "Profit after ad spend -$100.00"
    );
    assert!(page.body.contains("no comparison"));
}

#[tokio::test]
async fn the_range_is_kept_in_the_url_and_presets_end_today() {
    let (app, svc, _) = spawn().await;
    let boss = admin(&app, "range@shop.example", "Range Shop").await;
    feed(&svc, boss.org_id).await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;

    // 7 days to 1 March: 23 Feb – 1 Mar, so the 25 Feb row counts too.
    let week = b.get("/app?range=7d").await;
    assert_eq!(week.status, 200, "{}", week.body);
    assert!(week.body.contains("23 Feb 2026 – 1 Mar 2026"));
    assert!(week.tile("spend").starts_with("Ad spend $450.00"));
    // The preset links keep the other choices and mark the current one.
    assert!(
        week.body
            .contains("<a href=\"/app?range=7d\" aria-current=\"true\">Last 7 days</a>")
    );
    assert!(
        week.body
            .contains("<a href=\"/app?range=last_month\">Last month</a>")
    );
    // Last month: February, compared with January (nothing then).
    let feb = b.get("/app?range=last_month").await;
    assert!(feb.body.contains("1 Feb 2026 – 28 Feb 2026"));
    assert!(
        feb.tile("spend")
            .starts_with("Ad spend $150.00 ▲ +$150.00 (none before)"),
        "{}",
        feb.tile("spend")
    );
    // Month to date: 1 March only.
    let mtd = b.get("/app?range=mtd").await;
    assert!(mtd.tile("spend").starts_with("Ad spend $300.00"));
    // A custom comparison.
    let custom = b
        .get("/app?range=custom&since=2026-03-01&until=2026-03-01&compare=custom&compare_since=2026-02-27&compare_until=2026-02-27")
        .await;
    assert_eq!(custom.status, 200, "{}", custom.body);
    assert_eq!(
        custom.tile("spend"),
        "Ad spend $300.00 ▲ +$200.00 (+200.0 %)"
    );
    // The custom form keeps its values.
    assert!(
        custom
            .body
            .contains("name=\"compare_since\" value=\"2026-02-27\"")
    );
    // A bad range is a page naming the field, not a server error.
    let bad = b
        .get("/app?range=custom&since=2026-03-02&until=2026-03-01")
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("`since` must not be after `until`"));
    let bad = b.get("/app?tz=Mars/Olympus").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("`tz`"));
}

#[tokio::test]
async fn another_organisations_figures_never_show() {
    let (app, svc, _) = spawn().await;
    let a = admin(&app, "a@tenant-a.example", "Tenant A").await;
    let b_owner = admin(&app, "b@tenant-b.example", "Tenant B").await;
    feed(&svc, a.org_id).await;
    feed_other(&svc, b_owner.org_id).await;
    let mut b = Browser::new(&app);
    b.sign_in(&a.email).await;

    let page = b.get(&format!("/app?{RANGE}")).await;
    assert_eq!(page.status, 200);
    assert!(page.tile("spend").starts_with("Ad spend $400.00"));
    for theirs in ["tiktok", "9,876", "54,321", "Tenant B"] {
        assert!(
            !page.body.contains(theirs),
            "{theirs} leaked: {}",
            page.body
        );
    }
    // Naming their organisation in the URL finds nothing, and exports nothing.
    for path in [
        format!("/app?org={}&{RANGE}", b_owner.org_id),
        format!("/app/platforms.csv?org={}&{RANGE}", b_owner.org_id),
    ] {
        let theirs = b.get(&path).await;
        assert_eq!(theirs.status, 404, "{path}: {}", theirs.body);
        assert!(!theirs.body.contains("tiktok") && !theirs.body.contains("9,876"));
    }
    // Their owner sees theirs only.
    let mut other = Browser::new(&app);
    other.sign_in(&b_owner.email).await;
    let page = other.get(&format!("/app?{RANGE}")).await;
    assert!(page.tile("spend").starts_with("Ad spend $9,876.00"));
    assert!(!page.body.contains("data-platform=\"meta\""));
}

#[tokio::test]
async fn an_agency_switches_to_its_clients_in_one_click() {
    let (app, svc, _) = spawn().await;
    let agency = admin(&app, "boss@agency.example", "Bright Agency").await;
    let client = client_org(&agency.caller(&app), "Client Garden Co").await;
    feed(&svc, client).await;
    let mut b = Browser::new(&app);
    b.sign_in(&agency.email).await;

    // An agency opens on the all-clients roll-up: its own figures (none)
    // and its client's, with a breakdown by organisation.
    let home = b.get(&format!("/app?{RANGE}")).await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.tile("spend").starts_with("Ad spend $400.00"));
    assert!(
        home.body
            .contains("<tr data-organisation=\"Client Garden Co\"><th scope=\"row\">Client Garden Co</th><td>USD</td><td class=\"num\">$400.00</td><td class=\"num\">$1,000.00</td>"),
        "{}",
        home.body
    );
    assert!(home.body.contains(">With its 1 client organisations</a>"));
    assert!(
        home.body
            .contains("aria-current=\"true\">With its 1 client")
    );
    assert!(
        home.body.contains("&#38;view=clients"),
        "links keep the view"
    );
    // Its own figures alone: the agency itself spent nothing.
    let own = b.get(&format!("/app?{RANGE}&view=organisation")).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert!(
        own.body.contains("No figures in this period"),
        "the agency itself spent nothing"
    );
    assert!(!own.body.contains("By organisation"));
    // The export follows the view.
    let csv = b
        .get(&format!("/app/platforms.csv?{RANGE}&view=clients"))
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(csv.body.contains(",meta,"), "{}", csv.body);
    let csv = b
        .get(&format!("/app/platforms.csv?{RANGE}&view=organisation"))
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(!csv.body.contains(",meta,"), "{}", csv.body);
    let bad = b.get(&format!("/app?{RANGE}&view=everyone")).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("`view`"), "{}", bad.body);
    // The switcher lists the client with a link that keeps the range.
    let link = format!("/app?org={client}&#38;{}", RANGE.replace('&', "&#38;"));
    assert!(
        home.body
            .contains(&format!("<a href=\"{link}\">Client Garden Co")),
        "{}",
        home.body
    );

    let page = b.get(&format!("/app?org={client}&{RANGE}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.tile("spend").starts_with("Ad spend $400.00"));
    assert!(page.body.contains(
        "<summary><span class=\"visually-hidden\">Organisation: </span>Client Garden Co</summary>"
    ));
    // Links on the client's page stay in the client.
    assert!(
        page.body
            .contains(&format!("/app?org={client}&#38;range=7d"))
    );
    assert!(
        page.body
            .contains(&format!("/app/platforms.csv?org={client}&#38;"))
    );
}

#[tokio::test]
async fn a_viewer_sees_no_export_and_is_refused_it() {
    let (app, svc, _) = spawn().await;
    let boss = admin(&app, "owner@perm.example", "Perm Shop").await;
    feed(&svc, boss.org_id).await;
    let viewer = member(&app, &boss.caller(&app), "viewer", "viewer@perm.example").await;
    let analyst = member(&app, &boss.caller(&app), "analyst", "analyst@perm.example").await;
    let _ = PASSWORD;

    let mut v = Browser::new(&app);
    v.sign_in(&viewer.email).await;
    let page = v.get(&format!("/app?{RANGE}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.tile("spend").starts_with("Ad spend $400.00"));
    assert!(!page.body.contains("platforms.csv"), "the link is hidden");
    assert!(!page.body.contains("Download CSV"));
    let refused = v.get(&format!("/app/platforms.csv?{RANGE}")).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.header("content-type").starts_with("text/html"));
    assert!(refused.body.contains("“export”"), "{}", refused.body);

    let mut a = Browser::new(&app);
    a.sign_in(&analyst.email).await;
    let page = a.get(&format!("/app?{RANGE}")).await;
    assert!(page.body.contains("Download CSV"));
    let csv = a.get(&format!("/app/platforms.csv?{RANGE}")).await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        csv.header("content-disposition"),
        "attachment; filename=\"kiki-platforms-2026-02-27-2026-03-01.csv\""
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert!(
        lines[0].starts_with("organisation_id,platform,"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 3, "a header and two platforms: {}", csv.body);
    // Largest spend first: Meta's $300 and $800, then Google's.
    assert!(
        lines[1].contains(",meta,") && lines[1].contains(",USD,300,800,7.5,30000,500,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains(",google,") && lines[2].contains(",USD,100,200,1.5,10000,100,"),
        "{}",
        lines[2]
    );
    // The export is in the audit log.
    let (status, log) = json(
        boss.caller(&app)
            .get("/v1/audit?action=analytics.exported")
            .await,
    )
    .await;
    assert_eq!(status, 200, "{log}");
    assert!(log.to_string().contains("analytics.exported"), "{log}");
}
