//! The create-campaign wizard: goal → plan (with the planner's
//! assumptions) → draft saved → creatives with their verdicts (generated,
//! the person's own, the live review that stores nothing) → the twin's
//! simulation → submitted for approval; roles without `campaign.write`
//! refused; a bad budget shown by its field with everything else kept;
//! another organisation's draft a 404; forms without the session's token
//! refused.

use kiki_test_support::identity::{admin, json, member};
use serde_json::Value;
use uuid::Uuid;

use crate::campaigns::{campaign, create, id_of};
use crate::security::assert_no_inline_code;
use crate::*;

/// What the form whose `action` is `action` would post: its inputs,
/// checked boxes, text areas and selected options, as the page has them.
fn form_fields(body: &str, action: &str) -> Vec<(String, String)> {
    let marker = format!("action=\"{action}\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no form {action} in {body}"));
    let end = start + body[start..].find("</form>").expect("the form ends");
    let form = &body[start..end];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let m = format!(" {name}=\"");
        let i = tag.find(&m)? + m.len();
        Some(unescape(&tag[i..i + tag[i..].find('"')?]))
    };
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = form[at..].find('<') {
        let open = at + i + 1;
        let close = open + form[open..].find('>').expect("the tag ends");
        let tag = &form[open..close];
        at = close;
        let Some(name) = attr(tag, "name") else {
            continue;
        };
        if tag.starts_with("input ") {
            if attr(tag, "type").as_deref() == Some("checkbox") && !tag.contains(" checked") {
                continue;
            }
            out.push((name, attr(tag, "value").unwrap_or_default()));
        } else if tag.starts_with("textarea ") {
            let end = close + form[close..].find("</textarea>").expect("it ends");
            out.push((name, unescape(&form[close + 1..end])));
        } else if tag.starts_with("select ") {
            let end = close + form[close..].find("</select>").expect("it ends");
            let options = &form[close..end];
            let chosen = options
                .split("<option ")
                .skip(1)
                .find(|o| o.contains(" selected"))
                .or_else(|| options.split("<option ").nth(1))
                .map(|o| attr(&format!(" {o}"), "value").unwrap_or_default())
                .unwrap_or_default();
            out.push((name, chosen));
        }
    }
    out
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    match fields.iter_mut().find(|(k, _)| k == name) {
        Some(f) => f.1 = value.to_owned(),
        None => fields.push((name.to_owned(), value.to_owned())),
    }
}

fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Step 1's form with a goal and some structured values.
fn goal_form<'a>(csrf: &'a str, daily: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        (
            "goal",
            "Sell 200 pairs of running shoes in the US with a ROAS of 3",
        ),
        ("form.brand", "Stride"),
        ("form.product", "Trail running shoes"),
        ("form.kind", "shopping"),
        ("form.currency", "USD"),
        ("form.daily_budget", daily),
        ("form.channels", "google"),
        ("form.countries", "US"),
        ("form.start", "2026-03-10"),
        ("form.end", "2026-04-08"),
    ]
}

/// Signs in, plans from step 1 and returns step 2's page.
async fn planned(b: &mut Browser<'_>) -> Page {
    let start = b.get("/app/campaigns/new").await;
    assert_eq!(start.status, 200, "{}", start.body);
    let csrf = start.input("csrf");
    let plan = b
        .post("/app/campaigns/new/plan", &goal_form(&csrf, "100"))
        .await;
    assert_eq!(plan.status, 200, "{}", plan.body);
    plan
}

async fn status_of(c: &kiki_test_support::identity::Caller<'_>, id: Uuid) -> Value {
    let (status, v) = json(c.get(&format!("/v1/campaigns/{id}")).await).await;
    assert_eq!(status, 200, "{v}");
    v
}

async fn creative_count(c: &kiki_test_support::identity::Caller<'_>, id: Uuid) -> usize {
    let (status, v) = json(c.get(&format!("/v1/creatives?campaign_id={id}")).await).await;
    assert_eq!(status, 200, "{v}");
    v["items"].as_array().expect("items").len()
}

#[tokio::test]
async fn a_goal_becomes_a_submitted_campaign_through_the_five_steps() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "wizard@shop.example", "Wizard Shop").await;
    let c = boss.caller(&app);
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;

    let list = b.get("/app/campaigns").await;
    assert!(
        list.body.contains("href=\"/app/campaigns/new\""),
        "{}",
        list.body
    );

    // 1. The goal.
    let start = b.get("/app/campaigns/new").await;
    assert_eq!(start.status, 200);
    assert_no_inline_code("goal", &start.body);
    assert!(
        start
            .body
            .contains("aria-current=\"step\"><span class=\"num\">1")
    );
    assert!(
        start.body.contains("name=\"url\""),
        "the page reader is offered"
    );

    // 2. The plan, with the planner's assumptions; nothing stored yet.
    let plan = planned(&mut b).await;
    assert_no_inline_code("plan", &plan.body);
    assert!(
        plan.body
            .contains("aria-current=\"step\"><span class=\"num\">2")
    );
    assert!(
        plan.body.contains("The planner&#x27;s assumptions")
            || plan.body.contains("The planner's assumptions")
    );
    assert!(plan.body.contains("rule planner"), "{}", plan.body);
    assert!(plan.body.contains("class=\"assumption\""));
    assert!(plan.body.contains("You gave it"));
    let (_, list) = json(c.get("/v1/campaigns").await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");

    let mut fields = form_fields(&plan.body, "/app/campaigns/new");
    assert_eq!(
        fields.iter().find(|(k, _)| k == "daily_budget").unwrap().1,
        "100.00"
    );
    set(&mut fields, "name", "Trail shoes, spring");
    set(&mut fields, "landing_url", "https://stride.example/trail");
    let saved = b.post("/app/campaigns/new", &pairs(&fields)).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let creatives_path = saved.location().to_owned();
    let id: Uuid = creatives_path
        .trim_start_matches("/app/campaigns/new/")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .expect("the draft's id");
    assert_eq!(creatives_path, format!("/app/campaigns/new/{id}/creatives"));
    let v = status_of(&c, id).await;
    assert_eq!(v["status"], "draft");
    assert_eq!(v["draft"]["name"], "Trail shoes, spring");
    assert_eq!(v["draft"]["daily_budget"]["micros"], 100_000_000);
    assert_eq!(v["draft"]["schedule"]["start"], "2026-03-10");

    // The stored draft's plan step: a reload loses nothing.
    let again = b.get(&format!("/app/campaigns/new/{id}/plan")).await;
    assert_eq!(again.status, 200);
    assert!(again.body.contains("value=\"Trail shoes, spring\""));

    // 3. Creatives: generated, the person's own, the live review.
    let page = b.get(&creatives_path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_no_inline_code("creatives", &page.body);
    assert!(page.body.contains("No creatives yet"));
    assert!(
        page.body
            .contains("hx-trigger=\"keyup changed delay:500ms\"")
    );
    let generate_action = format!("/app/campaigns/new/{id}/creatives/generate");
    let mut gen_fields = form_fields(&page.body, &generate_action);
    set(&mut gen_fields, "count", "2");
    // The brief starts from the goal, whose "ROAS" in capitals the policy
    // would reject: the key message is edited like a person would.
    set(
        &mut gen_fields,
        "brief.key_message",
        "Trail running shoes with grip for every road",
    );
    let generated = b.post(&generate_action, &pairs(&gen_fields)).await;
    assert_eq!(generated.status, 303, "{}", generated.body);
    assert_eq!(creative_count(&c, id).await, 2);

    let csrf = page.input("csrf");
    let before = creative_count(&c, id).await;
    let live = b
        .post(
            &format!("/app/campaigns/new/{id}/review"),
            &[
                ("csrf", csrf.as_str()),
                ("channel", "google"),
                ("target", "verdict-own"),
                ("copy.headlines", "Trail shoes that grip"),
            ],
        )
        .await;
    assert_eq!(live.status, 200, "{}", live.body);
    assert!(
        live.body
            .trim_start()
            .starts_with("<div id=\"verdict-own\""),
        "{}",
        live.body
    );
    // One headline and no description are below Google's limits: refused,
    // with the reasons.
    assert!(
        live.body.contains("verdict-tag verdict-rejected"),
        "{}",
        live.body
    );
    assert!(live.body.contains("3 to 15 headlines"));
    assert!(!live.body.contains("<html"));
    assert_eq!(
        creative_count(&c, id).await,
        before,
        "the review stores nothing"
    );

    let own = b
        .post(
            &creatives_path,
            &[
                ("csrf", csrf.as_str()),
                ("channel", "google"),
                (
                    "copy.headlines",
                    "Trail shoes that grip\nFree returns\nBuilt for long runs",
                ),
                (
                    "copy.descriptions",
                    "Light shoes for long runs.\nGrip on wet rock and mud.",
                ),
            ],
        )
        .await;
    assert_eq!(own.status, 303, "{}", own.body);
    assert!(own.location().contains("#creative-"));
    let page = b.get(&creatives_path).await;
    assert!(page.body.contains("Your own"), "{}", page.body);
    assert!(
        page.body
            .contains("Trail shoes that grip\nFree returns\nBuilt for long runs")
    );
    assert!(
        !page.body.contains("verdict-tag verdict-rejected"),
        "{}",
        page.body
    );
    assert_eq!(page.body.matches("class=\"verdict-tag verdict-").count(), 3);

    // Editing a creative's copy stores it, reviewed again.
    let (_, list) = json(c.get(&format!("/v1/creatives?campaign_id={id}")).await).await;
    let first = list["items"][0]["id"].as_str().unwrap().to_owned();
    let edit_action = format!("/app/campaigns/new/{id}/creatives/{first}");
    let mut edit = form_fields(&page.body, &edit_action);
    set(
        &mut edit,
        "copy.headlines",
        "Grip on every trail\nFree returns\nBuilt for long runs",
    );
    let edited = b.post(&edit_action, &pairs(&edit)).await;
    assert_eq!(edited.status, 303, "{}", edited.body);
    let (_, one) = json(c.get(&format!("/v1/creatives/{first}")).await).await;
    assert_eq!(one["copy"]["headlines"][0], "Grip on every trail", "{one}");

    // 4. The simulation, shown like the campaign page shows it.
    let sim_path = format!("/app/campaigns/new/{id}/simulation");
    let sim_page = b.get(&sim_path).await;
    assert_eq!(sim_page.status, 200);
    assert!(sim_page.body.contains("Not run yet"));
    let ran = b.post(&sim_path, &[("csrf", csrf.as_str())]).await;
    assert_eq!(ran.status, 303, "{}", ran.body);
    assert!(ran.location().contains("sim="), "{}", ran.location());
    let result = b.get(ran.location().split('#').next().unwrap()).await;
    assert_eq!(result.status, 200, "{}", result.body);
    assert_no_inline_code("simulation", &result.body);
    for field in ["p10", "p50", "p90", "confidence"] {
        assert!(
            result.body.contains(&format!("data-field=\"{field}\"")),
            "{field}: {}",
            result.body
        );
    }
    assert!(result.body.contains("class=\"verdict"));

    // 5. Submitted: the launch gate ran and the campaign waits for approval.
    let submit_path = format!("/app/campaigns/new/{id}/submit");
    let step5 = b.get(&submit_path).await;
    assert_eq!(step5.status, 200);
    assert_no_inline_code("submit", &step5.body);
    let done = b.post(&submit_path, &[("csrf", csrf.as_str())]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location(),
        format!("/app/campaigns/{id}?done=submitted")
    );
    let v = status_of(&c, id).await;
    assert_eq!(v["status"], "pending_approval", "{v}");
    assert!(v["gate"]["simulation_id"].is_string());
    let shown = b.get(done.location()).await;
    assert!(shown.body.contains("waits for approval"), "{}", shown.body);
    // A submitted campaign's wizard steps lead to its page.
    let gone = b.get(&creatives_path).await;
    assert_eq!(gone.status, 303);
    assert_eq!(gone.location(), format!("/app/campaigns/{id}"));
}

#[tokio::test]
async fn roles_without_campaign_write_see_no_link_and_are_refused() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "wperm@shop.example", "WPerm Shop").await;
    let c = boss.caller(&app);
    let draft = id_of(
        &create(
            &c,
            &campaign("Theirs to edit", "New customers", "google", 100),
        )
        .await,
    );
    for role in ["viewer", "analyst"] {
        let person = member(&app, &c, role, &format!("{role}@wperm.example")).await;
        let mut b = Browser::new(&app);
        b.sign_in(&person.email).await;
        let list = b.get("/app/campaigns").await;
        assert_eq!(list.status, 200);
        assert!(!list.body.contains("/app/campaigns/new"), "{role}");
        let page = b.get("/app/campaigns/new").await;
        assert_eq!(page.status, 403, "{role}");
        assert!(
            page.body.contains("campaign.write"),
            "{role}: {}",
            page.body
        );
        let csrf = b.csrf().await;
        let plan = b
            .post("/app/campaigns/new/plan", &goal_form(&csrf, "100"))
            .await;
        assert_eq!(plan.status, 403, "{role}");
        for step in ["plan", "creatives", "simulation", "submit"] {
            let p = b.get(&format!("/app/campaigns/new/{draft}/{step}")).await;
            assert_eq!(p.status, 403, "{role} {step}");
        }
        let submit = b
            .post(
                &format!("/app/campaigns/new/{draft}/submit"),
                &[("csrf", csrf.as_str())],
            )
            .await;
        assert_eq!(submit.status, 403, "{role}");
    }
    assert_eq!(status_of(&c, draft).await["status"], "draft");
}

#[tokio::test]
async fn a_bad_budget_is_shown_by_its_field_and_the_rest_is_kept() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "wbad@shop.example", "WBad Shop").await;
    let c = boss.caller(&app);
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;

    // Step 1: an amount with too many decimals.
    let csrf = b.csrf().await;
    let bad = b
        .post("/app/campaigns/new/plan", &goal_form(&csrf, "12.345"))
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_no_inline_code("goal refused", &bad.body);
    assert!(
        bad.body.contains("data-error-for=\"form.daily_budget\""),
        "{}",
        bad.body
    );
    assert!(bad.body.contains("2 decimals at most"));
    assert!(bad.body.contains("value=\"12.345\""));
    assert!(bad.body.contains("Sell 200 pairs of running shoes"));
    assert!(bad.body.contains("value=\"Stride\""));
    assert!(bad.body.contains("value=\"google\" checked"));

    // Step 2: a budget that is not an amount, and the service's own 422
    // (no landing page) by its field; nothing stored.
    let plan = planned(&mut b).await;
    let mut fields = form_fields(&plan.body, "/app/campaigns/new");
    set(&mut fields, "name", "Kept name");
    set(&mut fields, "daily_budget", "lots");
    let refused = b.post("/app/campaigns/new", &pairs(&fields)).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("data-error-for=\"daily_budget\""));
    assert!(refused.body.contains("value=\"Kept name\""));
    assert!(refused.body.contains("value=\"lots\""));
    assert!(
        refused.body.contains("class=\"assumption\""),
        "the assumptions stay"
    );

    set(&mut fields, "daily_budget", "100");
    set(&mut fields, "landing_url", "");
    let refused = b.post("/app/campaigns/new", &pairs(&fields)).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("data-error-for=\"landing_url\""),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("value=\"Kept name\""));
    let (_, list) = json(c.get("/v1/campaigns").await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
}

#[tokio::test]
async fn another_organisations_draft_is_not_found() {
    let (app, _, _) = spawn().await;
    let mine = admin(&app, "wmine@shop.example", "WMine Shop").await;
    let theirs = admin(&app, "wtheirs@shop.example", "WTheirs Shop").await;
    let tc = theirs.caller(&app);
    let their = id_of(
        &create(
            &tc,
            &campaign("Their secret draft", "New customers", "google", 100),
        )
        .await,
    );
    let mut b = Browser::new(&app);
    b.sign_in(&mine.email).await;
    let csrf = b.csrf().await;
    for step in ["plan", "creatives", "simulation", "submit"] {
        let p = b.get(&format!("/app/campaigns/new/{their}/{step}")).await;
        assert_eq!(p.status, 404, "{step}");
        assert!(!p.body.contains("Their secret draft"));
        let named = b
            .get(&format!(
                "/app/campaigns/new/{their}/{step}?org={}",
                theirs.org_id
            ))
            .await;
        assert_eq!(named.status, 404, "{step} with org=");
    }
    for (path, form) in [
        ("submit", vec![("csrf", csrf.as_str())]),
        ("simulation", vec![("csrf", csrf.as_str())]),
        (
            "review",
            vec![("csrf", csrf.as_str()), ("copy.headlines", "Hello")],
        ),
        (
            "creatives",
            vec![
                ("csrf", csrf.as_str()),
                ("channel", "google"),
                ("copy.headlines", "Hello"),
            ],
        ),
        ("plan", vec![("csrf", csrf.as_str()), ("name", "Mine now")]),
    ] {
        let p = b
            .post(&format!("/app/campaigns/new/{their}/{path}"), &form)
            .await;
        assert_eq!(p.status, 404, "POST {path}: {}", p.body);
    }
    let v = status_of(&tc, their).await;
    assert_eq!(v["status"], "draft");
    assert_eq!(v["draft"]["name"], "Their secret draft");
    assert_eq!(creative_count(&tc, their).await, 0);
}

#[tokio::test]
async fn the_wizards_forms_without_the_sessions_token_are_refused() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "wcsrf@shop.example", "WCSRF Shop").await;
    let c = boss.caller(&app);
    let draft = id_of(
        &create(
            &c,
            &campaign("Guarded draft", "New customers", "google", 100),
        )
        .await,
    );
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let wrong = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    for token in ["", wrong] {
        let mut form = goal_form(token, "100");
        if token.is_empty() {
            form.retain(|(k, _)| *k != "csrf");
        }
        let plan = b.post("/app/campaigns/new/plan", &form).await;
        assert_eq!(plan.status, 403, "{}", plan.body);
        assert!(plan.body.contains("This form has expired"));
        for path in ["submit", "simulation", "review", "creatives", "plan"] {
            let p = b
                .post(
                    &format!("/app/campaigns/new/{draft}/{path}"),
                    &[
                        ("csrf", token),
                        ("copy.headlines", "Hi"),
                        ("channel", "google"),
                    ],
                )
                .await;
            assert_eq!(p.status, 403, "{path} with {token:?}");
        }
    }
    assert_eq!(status_of(&c, draft).await["status"], "draft");
    assert_eq!(creative_count(&c, draft).await, 0);
}

#[tokio::test]
async fn a_rejected_creative_holds_the_draft_until_it_is_fixed_and_released() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "whold@shop.example", "WHold Shop").await;
    let c = boss.caller(&app);
    let draft = id_of(&create(&c, &campaign("Held draft", "New customers", "google", 100)).await);
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let path = format!("/app/campaigns/new/{draft}/creatives");
    let csrf = b.get(&path).await.input("csrf");
    // One headline is below Google's limits: rejected, and the draft held.
    let added = b
        .post(
            &path,
            &[
                ("csrf", csrf.as_str()),
                ("channel", "google"),
                ("copy.headlines", "Only one headline"),
            ],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(status_of(&c, draft).await["status"], "safety_hold");
    // The other steps lead back to the creatives, which say why.
    let sim = b
        .get(&format!("/app/campaigns/new/{draft}/simulation"))
        .await;
    assert_eq!(sim.status, 303);
    assert_eq!(sim.location(), path);
    let page = b.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_no_inline_code("held", &page.body);
    assert!(page.body.contains("safety hold"));
    assert!(page.body.contains("verdict-tag verdict-rejected"));
    let (_, list) = json(c.get(&format!("/v1/creatives?campaign_id={draft}")).await).await;
    let creative = list["items"][0]["id"].as_str().unwrap().to_owned();
    let edit_action = format!("/app/campaigns/new/{draft}/creatives/{creative}");
    let mut edit = form_fields(&page.body, &edit_action);
    set(
        &mut edit,
        "copy.headlines",
        "Grip on every trail\nFree returns\nBuilt for long runs",
    );
    set(
        &mut edit,
        "copy.descriptions",
        "Light shoes for long runs.\nGrip on wet rock and mud.",
    );
    let fixed = b.post(&edit_action, &pairs(&edit)).await;
    assert_eq!(fixed.status, 303, "{}", fixed.body);
    let released = b
        .post(
            &format!("/app/campaigns/new/{draft}/release"),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(released.status, 303, "{}", released.body);
    assert_eq!(status_of(&c, draft).await["status"], "draft");
    let page = b.get(&path).await;
    assert!(!page.body.contains("safety hold"));
    assert!(!page.body.contains("verdict-tag verdict-rejected"));
}
