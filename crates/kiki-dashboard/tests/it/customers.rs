//! Customers and lifetime value: a CSV file previewed with its columns
//! guessed, confirmed and stored (counts shown, a second upload skipped as
//! duplicates); a fit with its diagnostics and holdout check; customers by
//! CLV and by churn risk; CLV per segment and platform; a customer's page
//! (another organisation's customer is not found); malformed files and bad
//! rows refused with their lines, nothing stored; the limit on size; roles
//! that may read but not upload or fit; a fit run as a job.

use std::fmt::Write as _;
use std::sync::Arc;

use kiki_core::{Currency, OrgId, TenantScope};
use kiki_ltv_service::LtvService;
use kiki_test_support::identity::{admin, member};

use crate::security::assert_no_inline_code;
use crate::*;

/// 60 customers buying through 2025: customer `i` buys `1 + i % 5` times,
/// every `20 + i % 30` days from day `(i * 7) % 150`, amounts varying by
/// order; segment `vip` for every third, platform `meta` or `google`.
/// Column names as a shop export writes them, so the guesses are tested.
pub fn orders_csv() -> String {
    let mut out = String::from("Order ID,Email,Order Date,Total,Segment,Channel\n");
    let start = time::macros::date!(2025 - 01 - 01);
    for i in 0..60u32 {
        let orders = 1 + i % 5;
        for k in 0..orders {
            let day = start + time::Duration::days(i64::from((i * 7) % 150 + k * (20 + i % 30)));
            let amount = 10 + (i * 3 + k * 7) % 40;
            let _ = writeln!(
                out,
                "o-{i}-{k},c{i:02}@shop.example,{day},{amount}.50,{},{}",
                if i % 3 == 0 { "vip" } else { "standard" },
                if i % 2 == 0 { "meta" } else { "google" },
            );
        }
    }
    out
}

/// The number of rows of [`orders_csv`].
fn order_rows() -> u64 {
    (0..60u64).map(|i| 1 + i % 5).sum()
}

impl Browser<'_> {
    /// Posts a file the way the page's file form does.
    pub async fn post_file(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file_name: &str,
        file: &[u8],
    ) -> Page {
        let boundary = "----kikiTestBoundary7MA4YWxk";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(file);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let resp = self
            .client
            .post(self.app.url(path))
            .header("cookie", self.cookie_header())
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .expect("the request is sent");
        self.read(resp).await
    }
}

/// The selected option's value of `<select name="{name}">`.
fn selected(page: &Page, name: &str) -> String {
    let marker = format!("name=\"{name}\"");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no select {name}"));
    let end = start + page.body[start..].find("</select>").expect("it ends");
    let select = &page.body[start..end];
    match select.find(" selected>") {
        None => String::new(),
        Some(i) => {
            let open = select[..i].rfind("value=\"").expect("a value") + 7;
            select[open..i].trim_end_matches('"').to_owned()
        }
    }
}

/// The confirmation form of a preview, with its choices as guessed.
fn confirm_form(page: &Page) -> Vec<(String, String)> {
    let mut form = vec![
        ("csrf".to_owned(), page.input("csrf")),
        ("data".to_owned(), page.input("data")),
        ("file_name".to_owned(), page.input("file_name")),
        ("currency".to_owned(), page.input("currency")),
    ];
    for key in [
        "customer_id",
        "timestamp",
        "amount",
        "currency",
        "order_id",
        "segment",
        "platform",
        "kind",
    ] {
        let name = format!("col_{key}");
        let v = selected(page, &name);
        form.push((name, v));
    }
    form
}

fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Uploads [`orders_csv`] through the preview and its confirmation.
async fn upload(b: &mut Browser<'_>, csrf: &str) -> Page {
    let preview = b
        .post_file(
            "/app/customers/preview",
            &[("csrf", csrf)],
            "orders.csv",
            orders_csv().as_bytes(),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let form = confirm_form(&preview);
    b.post("/app/customers/upload", &pairs(&form)).await
}

/// The text of the table row `data-{attr}="{key}"`.
fn row_text(page: &Page, attr: &str, key: &str) -> String {
    let marker = format!("data-{attr}=\"{key}\">");
    let start = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no row {key} in {}", page.body))
        + marker.len();
    let end = start + page.body[start..].find("</tr>").expect("the row ends");
    text(&page.body[start..end])
}

/// Customer ids in the order the table lists them.
fn listed(page: &Page) -> Vec<String> {
    page.body
        .match_indices("data-customer=\"")
        .map(|(i, m)| {
            let s = &page.body[i + m.len()..];
            s[..s.find('"').unwrap()].to_owned()
        })
        .collect()
}

fn ltv(app: &TestApp) -> Arc<LtvService> {
    app.state
        .services
        .get::<LtvService>()
        .expect("the ltv module is mounted")
}

async fn stored_customers(app: &TestApp, org: uuid::Uuid) -> u64 {
    ltv(app)
        .customer_count(&TenantScope::single(OrgId(org)), Currency::USD)
        .await
        .expect("counted")
}

#[tokio::test]
async fn a_file_is_previewed_mapped_stored_fitted_and_its_customers_listed() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "ltv@shop.example", "LTV Shop").await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;

    // Empty: the upload form, a sentence on what to do, the fit button.
    let empty = b.get("/app/customers").await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert_no_inline_code("/app/customers", &empty.body);
    assert!(
        empty
            .body
            .contains("<a href=\"/app/customers?range=30d\" aria-current=\"page\">Customers</a>"),
        "{}",
        empty.body
    );
    let t = text(&empty.body);
    assert!(t.contains("No transactions in USD yet"), "{t}");
    assert!(t.contains("No model has been fitted yet"), "{t}");
    assert!(empty.body.contains("enctype=\"multipart/form-data\""));
    assert!(empty.body.contains("Fit a new model"));
    let csrf = empty.input("csrf");

    // The preview: first rows, the columns guessed from their names.
    let preview = b
        .post_file(
            "/app/customers/preview",
            &[("csrf", &csrf)],
            "orders.csv",
            orders_csv().as_bytes(),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_no_inline_code("/app/customers/preview", &preview.body);
    let t = text(&preview.body);
    assert!(
        t.contains(&format!("orders.csv: {} rows", order_rows())),
        "{t}"
    );
    assert!(t.contains("First 10 rows"), "{t}");
    assert!(t.contains("c00@shop.example"), "{t}");
    for (name, column) in [
        ("col_customer_id", "1"),
        ("col_timestamp", "2"),
        ("col_amount", "3"),
        ("col_currency", ""),
        ("col_order_id", "0"),
        ("col_segment", "4"),
        ("col_platform", "5"),
        ("col_kind", ""),
    ] {
        assert_eq!(selected(&preview, name), column, "{name}");
    }
    assert_eq!(preview.input("currency"), "USD");
    // Nothing is stored by the preview.
    assert_eq!(stored_customers(&app, boss.org_id).await, 0);

    // Confirmed: stored, the counts shown after the redirect.
    let form = confirm_form(&preview);
    let done = b.post("/app/customers/upload", &pairs(&form)).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let n = order_rows();
    assert_eq!(
        done.location(),
        format!("/app/customers?done=uploaded&received={n}&inserted={n}&duplicates=0")
    );
    let page = b.get(done.location()).await;
    assert_eq!(page.status, 200);
    let t = text(&page.body);
    assert!(
        t.contains(&format!(
            "{n} rows received, {n} stored, 0 skipped as duplicates"
        )),
        "{t}"
    );
    assert!(!t.contains("No transactions in USD yet"), "{t}");
    assert_eq!(stored_customers(&app, boss.org_id).await, 60);
    // The same file again: every row a duplicate.
    let again = b.post("/app/customers/upload", &pairs(&form)).await;
    assert_eq!(
        again.location(),
        format!("/app/customers?done=uploaded&received={n}&inserted=0&duplicates={n}")
    );

    // Fit with a holdout: the model, its diagnostics and holdout check.
    let fitted = b
        .post(
            "/app/customers/fit",
            &[("csrf", &csrf), ("model", "bgnbd"), ("holdout_days", "60")],
        )
        .await;
    assert_eq!(fitted.status, 303, "{}", fitted.body);
    assert_eq!(fitted.location(), "/app/customers?done=fitted");
    let page = b.get(fitted.location()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_no_inline_code("/app/customers", &page.body);
    let t = text(&page.body);
    assert!(t.contains("A new model is fitted"), "{t}");
    assert!(t.contains("Model BG/NBD (version 1)"), "{t}");
    assert!(t.contains("Parameters of the BG/NBD purchase model"), "{t}");
    for label in [
        "Log-likelihood",
        "AIC",
        "Converged",
        "Data window 1 Jan 2025",
        "Calibration end",
        "Customers 60",
        "Horizon 365 days",
    ] {
        assert!(t.contains(label), "{label}: {t}");
    }
    assert!(page.body.contains("data-holdout"), "{t}");
    for label in [
        "Predicted purchases",
        "Actual purchases",
        "Aggregate error",
        "MAE",
        "RMSE",
    ] {
        assert!(t.contains(label), "{label}: {t}");
    }
    assert!(t.contains("Spend model (Gamma-Gamma)"), "{t}");
    assert!(row_text(&page, "version", "1").contains("BG/NBD"));

    // Customers by CLV, highest first, with money in its currency.
    let svc = ltv(&app);
    let scope = TenantScope::single(OrgId(boss.org_id));
    let by_clv = svc
        .customers(
            &scope,
            kiki_ltv_service::service::SortBy::Clv,
            &kiki_core::PageRequest {
                limit: Some(50),
                cursor: None,
            },
        )
        .await
        .unwrap();
    let ids = listed(&page);
    assert_eq!(ids.len(), 50);
    assert_eq!(
        ids,
        by_clv
            .items
            .iter()
            .map(|r| r.customer_id.clone())
            .collect::<Vec<_>>()
    );
    let clvs: Vec<i64> = by_clv.items.iter().map(|r| r.clv.unwrap().micros).collect();
    assert!(clvs.windows(2).all(|w| w[0] >= w[1]), "{clvs:?}");
    let top = &by_clv.items[0];
    assert!(
        row_text(&page, "customer", &top.customer_id)
            .contains(&top.clv.unwrap().text().to_string())
    );
    assert!(t.contains("$"), "money in dollars: {t}");
    // The next page follows the service's cursor: the last 10.
    let next_at = page.body.find("rel=\"next\"").expect("a next page");
    let href_start = page.body[..next_at].rfind("href=\"").unwrap() + 6;
    let href = page.body[href_start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    let second = b.get(&href).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(listed(&second).len(), 10);
    assert!(second.body.contains("First page"));

    // By churn risk, highest first.
    let churn = b.get("/app/customers?sort=churn_risk").await;
    assert_eq!(churn.status, 200);
    let by_churn = svc
        .customers(
            &scope,
            kiki_ltv_service::service::SortBy::ChurnRisk,
            &kiki_core::PageRequest {
                limit: Some(50),
                cursor: None,
            },
        )
        .await
        .unwrap();
    let risks: Vec<f64> = by_churn.items.iter().map(|r| r.churn_risk).collect();
    assert!(risks.windows(2).all(|w| w[0] >= w[1]), "{risks:?}");
    assert_eq!(
        listed(&churn),
        by_churn
            .items
            .iter()
            .map(|r| r.customer_id.clone())
            .collect::<Vec<_>>()
    );
    assert!(text(&churn.body).contains("Customers by churn risk, highest first"));
    let bad_sort = b.get("/app/customers?sort=price").await;
    assert_eq!(bad_sort.status, 400);

    // CLV per segment and per platform, with their bars.
    let agg = svc
        .aggregates(&scope, kiki_ltv::GroupBy::Segment)
        .await
        .unwrap()
        .unwrap();
    let vip = agg
        .groups
        .iter()
        .find(|g| g.value.key.as_deref() == Some("vip"))
        .unwrap();
    let vip_row = row_text(&page, "group", "vip");
    assert!(vip_row.starts_with("vip 20 20"), "{vip_row}");
    let total = kiki_core::Money::from_micros(vip.value.total_clv_micros, Currency::USD);
    assert!(vip_row.contains(&total.text().to_string()), "{vip_row}");
    assert!(row_text(&page, "group", "meta").starts_with("meta 30"));
    assert!(row_text(&page, "group", "google").starts_with("google 30"));
    assert!(t.contains("Per segment") && t.contains("Per acquisition platform"));
    assert!(page.body.contains("<svg class=\"chart-svg bars\""));
    assert!(
        page.body
            .contains("<title id=\"t-seg\">Total CLV per segment</title>")
    );

    // A customer's page; another organisation does not see them.
    let one = b
        .get(&format!(
            "/app/customers/c/{}",
            top.customer_id.replace('@', "%40")
        ))
        .await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_no_inline_code("/app/customers/c", &one.body);
    let t1 = text(&one.body);
    assert!(
        t1.contains(&format!("Customer {}", top.customer_id)),
        "{t1}"
    );
    assert!(t1.contains("P(alive)") && t1.contains("CLV"), "{t1}");
    let missing = b.get("/app/customers/c/nobody").await;
    assert_eq!(missing.status, 404);

    let other = admin(&app, "other@else.example", "Else Shop").await;
    let mut o = Browser::new(&app);
    o.sign_in(&other.email).await;
    let theirs = o
        .get(&format!(
            "/app/customers/c/{}",
            top.customer_id.replace('@', "%40")
        ))
        .await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    let their_page = o.get("/app/customers").await;
    assert_eq!(their_page.status, 200);
    assert!(listed(&their_page).is_empty());
    assert!(!their_page.body.contains("shop.example"));
    // Nor an earlier model of the first organisation.
    let model_id = svc.current_model(&scope).await.unwrap().unwrap().id;
    let foreign = o.get(&format!("/app/customers?model={model_id}")).await;
    assert_eq!(foreign.status, 404);
    // A second fit: two versions, the first still readable.
    let refit = b
        .post(
            "/app/customers/fit",
            &[("csrf", &csrf), ("model", "mbgnbd")],
        )
        .await;
    assert_eq!(refit.status, 303, "{}", refit.body);
    let v2 = b.get("/app/customers").await;
    let t2 = text(&v2.body);
    assert!(t2.contains("Model MBG/NBD (version 2)"), "{t2}");
    assert!(t2.contains("fitted without a holdout period"), "{t2}");
    let v1 = b.get(&format!("/app/customers?model={model_id}")).await;
    assert_eq!(v1.status, 200);
    assert!(text(&v1.body).contains("This is an earlier version (1)"));
}

#[tokio::test]
async fn malformed_files_and_bad_rows_are_refused_and_nothing_is_stored() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "bad@shop.example", "Bad Rows").await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let csrf = b.csrf().await;

    // Not CSV: a line with more fields than the header.
    let broken = b
        .post_file(
            "/app/customers/preview",
            &[("csrf", &csrf)],
            "broken.csv",
            b"customer_id,timestamp,amount\nc1,2025-01-01,10\nc2,2025-01-02,20,oops\n",
        )
        .await;
    assert_eq!(broken.status, 422, "{}", broken.body);
    let t = text(&broken.body);
    assert!(
        t.contains("Line 3 of the file has 4 fields where the header has 3"),
        "{t}"
    );
    assert!(t.contains("Nothing was stored"), "{t}");
    // Not text at all, and no file.
    let binary = b
        .post_file(
            "/app/customers/preview",
            &[("csrf", &csrf)],
            "x.csv",
            &[0xff, 0xd8, 0xff],
        )
        .await;
    assert_eq!(binary.status, 422);
    assert!(text(&binary.body).contains("not UTF-8"));
    let header_only = b
        .post_file(
            "/app/customers/preview",
            &[("csrf", &csrf)],
            "x.csv",
            b"a,b,c\n",
        )
        .await;
    assert_eq!(header_only.status, 422);
    assert!(text(&header_only.body).contains("no rows"));

    // Readable, but two rows the service refuses: listed with their lines.
    let file = "customer,date,amount\nc1,2025-01-01,10\nc2,yesterday,20\nc3,2025-01-03,-5\n";
    let preview = b
        .post_file(
            "/app/customers/preview",
            &[("csrf", &csrf)],
            "rows.csv",
            file.as_bytes(),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.body);
    let form = confirm_form(&preview);
    let refused = b.post("/app/customers/upload", &pairs(&form)).await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    let t = text(&refused.body);
    assert!(t.contains("Rows to fix (2)"), "{t}");
    assert!(
        t.contains("2 3 date (timestamp) Must be a timestamp"),
        "{t}"
    );
    assert!(
        t.contains("3 4 amount (amount) An order amount must be at least 0"),
        "{t}"
    );
    // The preview is shown again, its file still in the form.
    assert_eq!(refused.input("data"), preview.input("data"));
    assert_eq!(stored_customers(&app, boss.org_id).await, 0);

    // A needed column left unchosen.
    let mut no_amount = form.clone();
    for (k, v) in &mut no_amount {
        if k == "col_amount" {
            v.clear();
        }
    }
    let unmapped = b.post("/app/customers/upload", &pairs(&no_amount)).await;
    assert_eq!(unmapped.status, 422);
    assert!(text(&unmapped.body).contains("Choose the column that holds the amount."));
    // A currency that is not one.
    let mut bad_currency = form.clone();
    for (k, v) in &mut bad_currency {
        if k == "currency" {
            *v = "dollars".into();
        }
    }
    let cur = b.post("/app/customers/upload", &pairs(&bad_currency)).await;
    assert_eq!(cur.status, 422);
    assert!(text(&cur.body).contains("three-letter ISO code"));
    assert_eq!(stored_customers(&app, boss.org_id).await, 0);

    // Larger than the page's limit: a clear error, nothing read.
    let big = vec![b'a'; kiki_dashboard::pages::customers::MAX_FILE_BYTES + 10];
    let large = b
        .post_file(
            "/app/customers/preview",
            &[("csrf", &csrf)],
            "big.csv",
            &big,
        )
        .await;
    assert_eq!(large.status, 413, "{}", large.body);
    assert!(text(&large.body).contains("larger than 1 MiB, the limit of this page"));
    let too_big = vec![b'a'; kiki_dashboard::pages::customers::PREVIEW_BODY_BYTES + 10];
    let larger = b
        .post_file(
            "/app/customers/preview",
            &[("csrf", &csrf)],
            "big.csv",
            &too_big,
        )
        .await;
    assert_eq!(larger.status, 413, "{}", larger.body);
    assert!(text(&larger.body).contains("larger than 1 MiB, the limit of this page"));

    // A fit with nothing to fit: the page again with the reason.
    let nothing = b
        .post(
            "/app/customers/fit",
            &[("csrf", &csrf), ("holdout_days", "0")],
        )
        .await;
    assert_eq!(nothing.status, 422, "{}", nothing.body);
    assert!(text(&nothing.body).contains("No model was fitted: "));
    // A form without the session's token.
    let forged = b
        .post_file(
            "/app/customers/preview",
            &[("csrf", "nope")],
            "rows.csv",
            file.as_bytes(),
        )
        .await;
    assert_eq!(forged.status, 403);
}

#[tokio::test]
async fn roles_that_may_read_lifetime_values_cannot_upload_or_fit() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "roles@shop.example", "Role Shop").await;
    let c = boss.caller(&app);
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let csrf = b.csrf().await;
    assert_eq!(upload(&mut b, &csrf).await.status, 303);

    for role in ["analyst", "viewer"] {
        let person = member(&app, &c, role, &format!("{role}@roles.example")).await;
        let mut v = Browser::new(&app);
        v.sign_in(&person.email).await;
        let page = v.get("/app/customers").await;
        assert_eq!(page.status, 200, "{role}: {}", page.body);
        assert!(
            page.body.contains(">Customers</a>"),
            "{role}: the nav entry"
        );
        assert!(
            !page.body.contains("action=\"/app/customers/preview\""),
            "{role}"
        );
        assert!(
            !page.body.contains("action=\"/app/customers/fit\""),
            "{role}"
        );
        assert!(text(&page.body).contains("Your role can see lifetime values but not upload"));
        let vcsrf = page.input("csrf");
        let refused = v
            .post_file(
                "/app/customers/preview",
                &[("csrf", &vcsrf)],
                "orders.csv",
                orders_csv().as_bytes(),
            )
            .await;
        assert_eq!(refused.status, 403, "{role}");
        assert!(refused.body.contains("ltv.write"), "{}", refused.body);
        let fit = v.post("/app/customers/fit", &[("csrf", &vcsrf)]).await;
        assert_eq!(fit.status, 403, "{role}");
        let confirm = v
            .post(
                "/app/customers/upload",
                &[("csrf", &vcsrf), ("data", "YSxi")],
            )
            .await;
        assert_eq!(confirm.status, 403, "{role}");
    }
    // Not signed in: the sign-in page.
    let mut anon = Browser::new(&app);
    let page = anon.get("/app/customers").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.location(), "/sign-in");
}

#[tokio::test]
async fn a_large_organisation_is_fitted_by_a_job_whose_status_the_page_shows() {
    let clock = kiki_core::TestClock::at(NOW);
    let app = kiki_test_support::identity::identity_app()
        .clock(Arc::new(clock.clone()))
        // Every fit runs as a job.
        .configure(|c| c.set_section("ltv", serde_json::json!({"sync_max_customers": 0})))
        .module(Arc::new(kiki_twin_service::TwinModule::new()))
        .module(Arc::new(kiki_campaigns_service::CampaignsModule::new()))
        .module(Arc::new(kiki_analytics_service::AnalyticsModule::new()))
        .module(Arc::new(kiki_ltv_service::LtvModule::new()))
        .module(Arc::new(kiki_dashboard::DashboardModule::new()))
        .spawn()
        .await;
    let boss = admin(&app, "job@shop.example", "Job Shop").await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let csrf = b.csrf().await;
    assert_eq!(upload(&mut b, &csrf).await.status, 303);
    let queued = b.post("/app/customers/fit", &[("csrf", &csrf)]).await;
    assert_eq!(queued.status, 303, "{}", queued.body);
    let location = queued.location().to_owned();
    let job = location
        .strip_prefix("/app/customers?job=")
        .expect("the job's page");
    let id = uuid::Uuid::parse_str(job).unwrap();
    let done = app.wait_for_job(kiki_core::JobId(id)).await;
    assert_eq!(done.status.as_str(), "succeeded", "{done:?}");
    let page = b.get(&location).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let t = text(&page.body);
    assert!(t.contains("Fit job Status succeeded"), "{t}");
    assert!(t.contains("Model BG/NBD (version 1)"), "{t}");
    // Another organisation does not see the job.
    let other = admin(&app, "nojob@else.example", "No Job").await;
    let mut o = Browser::new(&app);
    o.sign_in(&other.email).await;
    assert_eq!(o.get(&location).await.status, 404);
}
