//! The campaign pages: the list with its filters, sort and pages in the
//! URL and its CSV; the detail with the plan, the status history, the
//! creatives' verdicts, the twin's result and the drill-down to an ad; the
//! pause, resume and budget forms with their CSRF token and permission;
//! another organisation's campaign as a 404.

use kiki_analytics_service::domain::Level;
use kiki_test_support::identity::{Caller, admin, json, member};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::security::assert_no_inline_code;
use crate::*;

/// A campaign the twin's gate approves at 50 % (a modest Google budget for
/// a general business), starting after the tests' today.
pub fn campaign(name: &str, objective: &str, channel: &str, daily_dollars: i64) -> Value {
    json!({
        "name": name,
        "objective": objective,
        "kind": "shopping",
        "landing_url": "https://shop.example/spring",
        "brand_name": "Lumière",
        "industry": "general",
        "currency": "USD",
        "daily_budget": {"micros": daily_dollars * 1_000_000, "currency": "USD"},
        "schedule": {"start": "2026-03-10", "end": "2026-04-08", "time_zone": "UTC"},
        "asset_source": "generated",
        "ad_sets": [
            {"name": "Search", "channel": channel, "budget_share_bps": 7000, "bid_strategy": "lowest_cost",
             "targeting": {"countries": ["US"], "keywords": ["serum"]}},
            {"name": "Display", "channel": "kiki", "budget_share_bps": 3000, "bid_strategy": "value_based"}
        ]
    })
}

/// Creates a campaign through the API; its JSON.
pub async fn create(c: &Caller<'_>, body: &Value) -> Value {
    let (status, v) = json(c.post("/v1/campaigns", body).await).await;
    assert_eq!(status, 201, "{v}");
    v
}

pub fn id_of(v: &Value) -> Uuid {
    Uuid::parse_str(v["id"].as_str().expect("an id")).expect("a uuid")
}

pub async fn act(c: &Caller<'_>, id: Uuid, action: &str) -> Value {
    let (status, v) = json(
        c.post(
            &format!("/v1/campaigns/{id}/actions"),
            &json!({"action": action, "reason": format!("test: {action}")}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{action}: {v}");
    v
}

/// Submitted and waiting for approval; its JSON.
pub async fn submitted(c: &Caller<'_>, name: &str) -> Value {
    let v = create(c, &campaign(name, "New customers", "google", 100)).await;
    let v = act(c, id_of(&v), "submit").await;
    assert_eq!(v["gate"]["approved"], true, "{v}");
    assert_eq!(v["status"], "pending_approval");
    v
}

/// Submitted, approved and launched; its JSON.
pub async fn live(c: &Caller<'_>, name: &str) -> Value {
    let v = submitted(c, name).await;
    let id = id_of(&v);
    let (status, list) = json(
        c.get(&format!("/v1/approvals?status=pending&campaign_id={id}"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let approval = list["items"][0]["id"].as_str().expect("an approval");
    let (status, d) = json(
        c.post(
            &format!("/v1/approvals/{approval}/decision"),
            &json!({"decision": "approve"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{d}");
    let v = act(c, id, "launch").await;
    assert_eq!(v["status"], "active", "{v}");
    v
}

async fn status_of(c: &Caller<'_>, id: Uuid) -> Value {
    let (status, v) = json(c.get(&format!("/v1/campaigns/{id}")).await).await;
    assert_eq!(status, 200, "{v}");
    v
}

/// The campaign's figures on Google: the campaign, its first ad set and
/// two ads of it. 27 Feb: ad a-1 $30 spend, $90 revenue; ad a-2 $10, $10.
/// 1 Mar: ad a-1 $20, $50.
async fn feed_campaign(svc: &AnalyticsService, org: Uuid, campaign: &Value) {
    let id = campaign["id"].as_str().unwrap().to_owned();
    let ad_set = campaign["ad_sets"][0]["id"].as_str().unwrap().to_owned();
    let at = |level: Level, ext: &str, day: Date, spend: i64, revenue: i64, ad: bool| DailyRow {
        level,
        platform: "google".into(),
        external_id: ext.into(),
        day,
        campaign_id: Some(id.clone()),
        ad_set_id: (level != Level::Campaign).then(|| ad_set.clone()),
        ad_id: None,
        spend: usd(spend),
        revenue: usd(revenue),
        conversions_micros: if ad { 1_000_000 } else { 2_000_000 },
        impressions: 1_000,
        clicks: 10,
    };
    let (d1, d3) = (date!(2026 - 02 - 27), date!(2026 - 03 - 01));
    let rows = vec![
        at(Level::Campaign, "g-c", d1, 40, 100, false),
        at(Level::Campaign, "g-c", d3, 20, 50, false),
        at(Level::AdSet, "g-s", d1, 40, 100, false),
        at(Level::AdSet, "g-s", d3, 20, 50, false),
        at(Level::Ad, "a-1", d1, 30, 90, true),
        at(Level::Ad, "a-2", d1, 10, 10, true),
        at(Level::Ad, "a-1", d3, 20, 50, true),
    ];
    let period = kiki_analytics::Period::new(date!(2026 - 02 - 20), date!(2026 - 03 - 01)).unwrap();
    svc.record_daily(&TenantScope::single(OrgId(org)), "google", period, &rows)
        .await
        .expect("the rows are recorded");
}

/// The names of the list's rows, in order.
fn listed(page: &Page) -> Vec<String> {
    page.body
        .split("<tr data-campaign=")
        .skip(1)
        .map(|r| {
            let name = r.split("\">").nth(3).unwrap_or_default();
            name.split('<').next().unwrap_or_default().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_list_filters_sorts_and_pages_with_everything_in_the_url() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "list@shop.example", "List Shop").await;
    let c = boss.caller(&app);
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;

    // No campaign yet: the empty state says so.
    let empty = b.get("/app/campaigns").await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert!(
        empty
            .body
            .contains("This organisation has no campaigns yet")
    );
    assert_no_inline_code("/app/campaigns empty", &empty.body);

    create(&c, &campaign("Alpha spring", "Spring range", "google", 100)).await;
    create(&c, &campaign("beta autumn", "Autumn coats", "meta", 300)).await;
    let gamma = create(&c, &campaign("Gamma winter", "Winter sale", "meta", 200)).await;
    act(&c, id_of(&gamma), "submit").await;

    let all = b.get("/app/campaigns").await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert_no_inline_code("/app/campaigns", &all.body);
    // Newest first by default.
    assert_eq!(
        listed(&all),
        ["Gamma winter", "beta autumn", "Alpha spring"]
    );
    assert!(all.body.contains("3 of 3 campaigns"));
    assert!(all.body.contains("$300.00"));
    // The navigation marks the page.
    assert!(
        all.body
            .contains("<a href=\"/app/campaigns?range=30d\" aria-current=\"page\">Campaigns</a>"),
        "{}",
        all.body
    );

    // Status, platform and text filters, alone and together.
    let p = b.get("/app/campaigns?status=pending_approval").await;
    assert_eq!(listed(&p), ["Gamma winter"]);
    let p = b.get("/app/campaigns?platform=meta").await;
    assert_eq!(listed(&p), ["Gamma winter", "beta autumn"]);
    let p = b
        .get("/app/campaigns?platform=meta&status=draft&q=AUTUMN")
        .await;
    assert_eq!(listed(&p), ["beta autumn"]);
    // The form shows the filters of the URL.
    assert!(
        p.body
            .contains("<option value=\"meta\" selected>Meta</option>")
    );
    assert!(
        p.body
            .contains("<option value=\"draft\" selected>Draft</option>")
    );
    assert!(p.body.contains("name=\"q\" value=\"AUTUMN\""));
    let none = b.get("/app/campaigns?q=nothing-like-this").await;
    assert!(listed(&none).is_empty());
    assert!(none.body.contains("No campaign matches these filters"));

    // Sorts.
    let p = b.get("/app/campaigns?sort=name").await;
    assert_eq!(listed(&p), ["Alpha spring", "beta autumn", "Gamma winter"]);
    let p = b.get("/app/campaigns?sort=budget&dir=desc").await;
    assert_eq!(listed(&p), ["beta autumn", "Gamma winter", "Alpha spring"]);
    // The header of the current sort turns its order round, keeping the filters.
    assert!(
        p.body
            .contains("href=\"/app/campaigns?range=30d&#38;sort=budget&#38;dir=asc\""),
        "{}",
        p.body
    );

    // Pages keep the filters and the sort in their links.
    let p1 = b.get("/app/campaigns?sort=name&per_page=2").await;
    assert_eq!(listed(&p1), ["Alpha spring", "beta autumn"]);
    assert!(p1.body.contains("Page 1 of 2"));
    let next = "/app/campaigns?range=30d&sort=name&per_page=2&page=2";
    assert!(p1.body.contains(&next.replace('&', "&#38;")), "{}", p1.body);
    let p2 = b.get(next).await;
    assert_eq!(listed(&p2), ["Gamma winter"]);
    assert!(p2.body.contains("Page 2 of 2"));
    assert!(p2.body.contains("rel=\"prev\""));

    // Bad values are a page that names them.
    let bad = b.get("/app/campaigns?sort=colour").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("`sort` must be one of"));

    // The CSV holds the listed rows (every page), in the list's order.
    let csv = b
        .get("/app/campaigns.csv?platform=meta&sort=name&per_page=1")
        .await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(csv.header("content-type").starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 3, "{}", csv.body);
    assert!(lines[0].starts_with("id,name,status,platforms,currency,daily_budget,spend"));
    assert!(
        lines[1].contains(",beta autumn,draft,meta kiki,USD,300,0,"),
        "{}",
        csv.body
    );
    assert!(
        lines[2].contains(",Gamma winter,pending_approval,"),
        "{}",
        csv.body
    );

    // A viewer sees the list but neither the link nor the file.
    let viewer = member(&app, &c, "viewer", "viewer@list.example").await;
    let mut v = Browser::new(&app);
    v.sign_in(&viewer.email).await;
    let seen = v.get("/app/campaigns").await;
    assert_eq!(seen.status, 200);
    assert_eq!(listed(&seen).len(), 3);
    assert!(!seen.body.contains("/app/campaigns.csv"));
    assert_eq!(v.get("/app/campaigns.csv").await.status, 403);
}

#[tokio::test]
async fn the_detail_shows_the_plan_the_history_the_twin_and_drills_down_to_an_ad() {
    let (app, svc, _) = spawn().await;
    let boss = admin(&app, "detail@shop.example", "Detail Shop").await;
    let c = boss.caller(&app);
    let v = live(&c, "Spring serum").await;
    let id = id_of(&v);
    let ad_set = v["ad_sets"][0]["id"].as_str().unwrap().to_owned();
    feed_campaign(&svc, boss.org_id, &v).await;
    // A creative of the campaign, reviewed against the policy.
    let (status, cr) = json(
        c.post(
            "/v1/creatives",
            &json!({"campaign_id": id, "channel": "google", "copy": {
                "headlines": ["Lumière serum", "Glow daily", "Made in Lyon"],
                "descriptions": ["Light, daily, made in Lyon.", "Reordered by our customers."],
                "paths": []}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{cr}");
    let verdict = cr["verdict"].as_str().unwrap().to_owned();

    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let page = b.get(&format!("/app/campaigns/{id}?{RANGE}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_no_inline_code("/app/campaigns/{id}", &page.body);
    let t = text(&page.body);
    assert!(t.contains("Spring serum Active"), "{t}");
    assert!(t.contains("Goal New customers"));
    assert!(t.contains("Daily budget $100.00"));
    assert!(t.contains("Search Google Ads 70.0 % $70.00"), "{t}");
    // The status history, newest first.
    let submit = page.body.find("<td>Submit</td>").expect("the submit move");
    let launch = page.body.find("<td>Launch</td>").expect("the launch move");
    assert!(launch < submit);
    assert!(t.contains("Launch Approved Active you test: launch"), "{t}");
    // The creative and its verdict.
    assert!(page.body.contains(&format!("verdict-{verdict}")));
    assert!(t.contains("Lumière serum"));
    // The twin's result of the submitted plan.
    for field in ["p10", "p50", "p90", "confidence"] {
        assert!(
            page.body.contains(&format!("data-field=\"{field}\">")),
            "{field}"
        );
    }
    let sim = v["gate"]["simulation_id"].as_str().unwrap();
    let (status, s) = json(c.get(&format!("/v1/simulations/{sim}")).await).await;
    assert_eq!(status, 200, "{s}");
    let p50 = kiki_core::Money::from_micros(
        s["report"]["result"]["uplift"]["p50"]["micros"]
            .as_i64()
            .expect("micros"),
        Currency::USD,
    );
    assert!(
        page.body
            .contains(&format!("data-field=\"p50\">{}</dd>", p50.text())),
        "{}",
        page.body
    );
    assert!(t.contains("Stress scenarios"));
    assert!(t.contains("Data quality"));
    // Figures of the campaign: its days and its ad sets.
    assert!(page.body.contains("<svg class=\"chart-svg\""));
    assert!(t.contains("2026-02-27 USD $40.00 $100.00 2.50×"), "{t}");
    assert!(t.contains("2026-03-01 USD $20.00 $50.00"));
    assert!(t.contains("Ad sets"));
    let to_set = format!(
        "/app/campaigns/{id}?{}&#38;adset={ad_set}",
        RANGE.replace('&', "&#38;")
    );
    assert!(page.body.contains(&to_set), "{}", page.body);

    // One ad set: its ads, largest spend first.
    let set = b
        .get(&format!("/app/campaigns/{id}?{RANGE}&adset={ad_set}"))
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let t = text(&set.body);
    assert!(t.contains("Figures: Ad set Search"), "{t}");
    assert!(t.contains("Ad a-1 google USD $50.00 $140.00"), "{t}");
    assert!(t.contains("Ad a-2 google USD $10.00 $10.00"), "{t}");
    assert!(set.body.find("Ad a-1") < set.body.find("Ad a-2"));

    // One ad: its own days only.
    let ad = b
        .get(&format!(
            "/app/campaigns/{id}?{RANGE}&adset={ad_set}&ad=a-2"
        ))
        .await;
    assert_eq!(ad.status, 200, "{}", ad.body);
    assert_no_inline_code("ad", &ad.body);
    let t = text(&ad.body);
    assert!(t.contains("Figures: Ad a-2"), "{t}");
    assert!(t.contains("2026-02-27 USD $10.00 $10.00 1.00×"), "{t}");
    assert!(!ad.body.contains("data-day=\"2026-03-01\""));
    assert!(ad.body.contains("aria-current=\"page\">Ad a-2</a>"));

    // An ad set of no campaign here: 404.
    let missing = b
        .get(&format!("/app/campaigns/{id}?adset={}", Uuid::new_v4()))
        .await;
    assert_eq!(missing.status, 404);

    // A draft has no twin result yet, and says so.
    let draft = create(&c, &campaign("Draft only", "Later", "google", 50)).await;
    let page = b.get(&format!("/app/campaigns/{}", id_of(&draft))).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("No twin result yet"));
    assert!(page.body.contains("No creatives yet."));
}

#[tokio::test]
async fn pause_and_resume_work_from_the_page_with_the_sessions_token_only() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "act@shop.example", "Act Shop").await;
    let c = boss.caller(&app);
    let id = id_of(&live(&c, "To pause").await);
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let page = b.get(&format!("/app/campaigns/{id}")).await;
    assert!(page.body.contains("data-action=\"pause\""));
    assert!(!page.body.contains("data-action=\"resume\""));
    let csrf = page.input("csrf");
    let path = format!("/app/campaigns/{id}/actions");

    // Without the session's token nothing happens.
    let mut other = Browser::new(&app);
    other.sign_in(&boss.email).await;
    let theirs = other.csrf().await;
    for form in [
        vec![("action", "pause")],
        vec![("action", "pause"), ("csrf", "")],
        vec![("action", "pause"), ("csrf", theirs.as_str())],
    ] {
        let refused = b.post(&path, &form).await;
        assert_eq!(refused.status, 403, "{form:?}");
        assert!(refused.body.contains("This form has expired"));
    }
    assert_eq!(status_of(&c, id).await["status"], "active");

    let done = b.post(&path, &[("csrf", &csrf), ("action", "pause")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), format!("/app/campaigns/{id}?done=paused"));
    assert_eq!(status_of(&c, id).await["status"], "paused");
    let page = b.get(done.location()).await;
    assert!(page.body.contains("The campaign is paused."));
    assert!(page.body.contains("data-action=\"resume\""));
    assert!(text(&page.body).contains("Pause Active Paused you Pause from the dashboard."));

    // Pausing twice is a conflict, said in words.
    let again = b.post(&path, &[("csrf", &csrf), ("action", "pause")]).await;
    assert_eq!(again.status, 409, "{}", again.body);

    let done = b
        .post(&path, &[("csrf", &csrf), ("action", "resume")])
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(status_of(&c, id).await["status"], "active");
    assert!(
        b.get(done.location())
            .await
            .body
            .contains("The campaign runs again.")
    );
}

#[tokio::test]
async fn the_daily_budget_changes_from_the_page_and_bad_input_changes_nothing() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "budget@shop.example", "Budget Shop").await;
    let c = boss.caller(&app);
    let id = id_of(&live(&c, "Budgeted").await);
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let page = b.get(&format!("/app/campaigns/{id}")).await;
    assert!(page.body.contains("name=\"daily_budget\" value=\"100.00\""));
    let csrf = page.input("csrf");
    let path = format!("/app/campaigns/{id}/budget");

    for (input, message) in [
        ("abc", "“abc” is not an amount"),
        ("12.345", "USD has 2 decimals at most"),
        ("0", "The amount must be more than $0.00."),
        ("", "Enter an amount in USD"),
    ] {
        let shown = b
            .post(&path, &[("csrf", &csrf), ("daily_budget", input)])
            .await;
        assert_eq!(shown.status, 422, "{input}: {}", shown.body);
        assert!(shown.body.contains(message), "{input}: {}", shown.body);
        assert!(shown.body.contains("aria-invalid=\"true\""));
        assert!(
            shown
                .body
                .contains(&format!("name=\"daily_budget\" value=\"{input}\""))
        );
        assert_no_inline_code("budget error", &shown.body);
        assert_eq!(
            status_of(&c, id).await["draft"]["daily_budget"]["micros"],
            100_000_000,
            "{input}"
        );
    }
    // Without the token: refused, unchanged.
    let refused = b.post(&path, &[("daily_budget", "80")]).await;
    assert_eq!(refused.status, 403);

    let done = b
        .post(&path, &[("csrf", &csrf), ("daily_budget", "80.50")])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), format!("/app/campaigns/{id}?done=budget"));
    assert_eq!(
        status_of(&c, id).await["draft"]["daily_budget"]["micros"],
        80_500_000
    );
    let page = b.get(done.location()).await;
    assert!(page.body.contains("The daily budget is changed."));
    assert!(text(&page.body).contains("Daily budget $80.50"));
}

#[tokio::test]
async fn roles_without_the_permission_see_no_action_and_are_refused() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "perm@shop.example", "Perm Shop").await;
    let c = boss.caller(&app);
    let id = id_of(&live(&c, "Guarded").await);
    for role in ["viewer", "analyst"] {
        let person = member(&app, &c, role, &format!("{role}@perm.example")).await;
        let mut b = Browser::new(&app);
        b.sign_in(&person.email).await;
        let page = b.get(&format!("/app/campaigns/{id}")).await;
        assert_eq!(page.status, 200, "{role}");
        assert!(!page.body.contains("data-action="), "{role}");
        assert!(!page.body.contains("name=\"daily_budget\""), "{role}");
        let csrf = page.input("csrf");
        let pause = b
            .post(
                &format!("/app/campaigns/{id}/actions"),
                &[("csrf", &csrf), ("action", "pause")],
            )
            .await;
        assert_eq!(pause.status, 403, "{role}");
        assert!(
            pause.body.contains("campaign.write"),
            "{role}: {}",
            pause.body
        );
        let budget = b
            .post(
                &format!("/app/campaigns/{id}/budget"),
                &[("csrf", &csrf), ("daily_budget", "10")],
            )
            .await;
        assert_eq!(budget.status, 403, "{role}");
    }
    let v = status_of(&c, id).await;
    assert_eq!(v["status"], "active");
    assert_eq!(v["draft"]["daily_budget"]["micros"], 100_000_000);
}

#[tokio::test]
async fn another_organisations_campaign_is_not_found() {
    let (app, _, _) = spawn().await;
    let mine = admin(&app, "mine@shop.example", "Mine Shop").await;
    let theirs = admin(&app, "theirs@shop.example", "Their Shop").await;
    let their_id = id_of(&live(&theirs.caller(&app), "Their secret plan").await);
    let mut b = Browser::new(&app);
    b.sign_in(&mine.email).await;
    let page = b.get(&format!("/app/campaigns/{their_id}")).await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("Their secret plan"));
    assert!(
        !b.get("/app/campaigns")
            .await
            .body
            .contains("Their secret plan")
    );
    let csrf = b.csrf().await;
    let pause = b
        .post(
            &format!("/app/campaigns/{their_id}/actions"),
            &[("csrf", &csrf), ("action", "pause")],
        )
        .await;
    assert_eq!(pause.status, 404);
    let budget = b
        .post(
            &format!("/app/campaigns/{their_id}/budget"),
            &[("csrf", &csrf), ("daily_budget", "1")],
        )
        .await;
    assert_eq!(budget.status, 404);
    assert_eq!(
        status_of(&theirs.caller(&app), their_id).await["status"],
        "active"
    );
    // Naming their organisation in the URL does not help.
    let named = b
        .get(&format!("/app/campaigns/{their_id}?org={}", theirs.org_id))
        .await;
    assert_eq!(named.status, 404);
}
