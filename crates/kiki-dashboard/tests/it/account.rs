//! The account page (password change, two-factor enrolment with the QR code
//! and the secret, confirmation, recovery codes shown once, new codes,
//! turning it off) and the pages without a session (password reset request
//! and confirmation, registration by invitation), with their field errors,
//! CSRF and double-submit refusals.

use kiki_core::Clock as _;
use kiki_credentials::totp::{self, TotpSecret};
use kiki_test_support::identity::{
    INVITATION_MARKER, PASSWORD, RESET_MARKER, admin, invite_code, json, mailed_token, member,
    sign_in,
};
use serde_json::json;

use crate::security::assert_no_inline_code;
use crate::*;

fn code_at(secret: &str, clock: &TestClock, offset: i64) -> String {
    let s = TotpSecret::from_base32(secret).expect("the secret is base32");
    totp::code_at(
        &s,
        u64::try_from(clock.now().unix_timestamp() + offset).unwrap(),
    )
}

fn wrong_code(secret: &str, clock: &TestClock) -> String {
    let accepted = [-30, 0, 30].map(|o| code_at(secret, clock, o));
    (0..1000)
        .map(|i| format!("{:06}", 123_456 + i))
        .find(|c| !accepted.contains(c))
        .expect("a code outside the window")
}

#[tokio::test]
async fn every_member_changes_their_password_with_errors_beside_the_fields() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "pw@account.example", "Password Shop").await;
    let viewer = member(
        &app,
        &boss.caller(&app),
        "viewer",
        "pw.viewer@account.example",
    )
    .await;
    let mut b = Browser::new(&app);
    b.sign_in(&viewer.email).await;
    let page = b.get("/app/account").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_no_inline_code("/app/account", &page.body);
    assert!(text(&page.body).contains("pw.viewer@account.example"));
    let csrf = page.input("csrf");
    let path = "/app/account/password";

    let wrong = b
        .post(
            path,
            &[
                ("csrf", &csrf),
                ("current_password", "not-it-at-all"),
                ("new_password", "a-brand-new-passphrase-7"),
                ("new_password_again", "a-brand-new-passphrase-7"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(
        wrong
            .body
            .contains("id=\"current-password-error\">The current password is not correct."),
        "{}",
        wrong.body
    );
    assert!(
        !wrong.body.contains("a-brand-new-passphrase-7"),
        "passwords are never filled back in"
    );
    let differ = b
        .post(
            path,
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("new_password", "a-brand-new-passphrase-7"),
                ("new_password_again", "something-else-entirely"),
            ],
        )
        .await;
    assert_eq!(differ.status, 422);
    assert!(
        differ.body.contains("id=\"new-password-again-error\""),
        "{}",
        differ.body
    );
    let weak = b
        .post(
            path,
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("new_password", "short"),
                ("new_password_again", "short"),
            ],
        )
        .await;
    assert_eq!(weak.status, 422);
    assert!(
        weak.body.contains("id=\"new-password-error\">The password"),
        "{}",
        weak.body
    );
    let no_token = b
        .post(
            path,
            &[
                ("current_password", PASSWORD),
                ("new_password", "a-brand-new-passphrase-7"),
                ("new_password_again", "a-brand-new-passphrase-7"),
            ],
        )
        .await;
    assert_eq!(no_token.status, 403);

    let done = b
        .post(
            path,
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("new_password", "a-brand-new-passphrase-7"),
                ("new_password_again", "a-brand-new-passphrase-7"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/app/account?done=password");
    let after = b.get(done.location()).await;
    assert_eq!(after.status, 200, "this session stays");
    assert!(text(&after.body).contains("Your password is changed."));
    let mut again = Browser::new(&app);
    let old = again.submit_password(&viewer.email, PASSWORD).await;
    assert_eq!(old.status, 401);
    let new = again
        .submit_password(&viewer.email, "a-brand-new-passphrase-7")
        .await;
    assert_eq!(new.status, 303, "{}", new.body);
}

#[tokio::test]
async fn two_factor_authentication_is_set_up_with_the_qr_code_and_turned_off_with_the_password() {
    let (app, _, clock) = spawn().await;
    let boss = admin(&app, "mfa@account.example", "MFA Account Shop").await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let page = b.get("/app/account").await;
    assert!(page.body.contains("data-mfa=\"off\""), "{}", page.body);
    let csrf = page.input("csrf");

    // A code before any set-up: the page says what to do first.
    let early = b
        .post(
            "/app/account/mfa/confirm",
            &[("csrf", &csrf), ("code", "123456")],
        )
        .await;
    assert_eq!(early.status, 409, "{}", early.body);
    assert!(
        early.body.contains("Set-up has not started"),
        "{}",
        early.body
    );

    let enrol = b.post("/app/account/mfa/enroll", &[("csrf", &csrf)]).await;
    assert_eq!(enrol.status, 200, "{}", enrol.body);
    assert_no_inline_code("/app/account/mfa/enroll", &enrol.body);
    assert_eq!(enrol.header("cache-control"), "no-store");
    assert!(
        enrol
            .body
            .contains("<svg class=\"qr\" role=\"img\" aria-label=\"QR code"),
        "{}",
        enrol.body
    );
    assert!(enrol.body.contains("<path"));
    let grouped = enrol
        .body
        .split("data-mfa-secret>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap();
    let secret: String = grouped.split_whitespace().collect();
    assert!(secret.len() >= 16, "{secret}");

    let wrong = b
        .post(
            "/app/account/mfa/confirm",
            &[("csrf", &csrf), ("code", &wrong_code(&secret, &clock))],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(wrong.body.contains("id=\"code-error\""), "{}", wrong.body);
    assert!(
        !wrong.body.contains(grouped),
        "the secret is not shown again"
    );
    let empty = b
        .post(
            "/app/account/mfa/confirm",
            &[("csrf", &csrf), ("code", " ")],
        )
        .await;
    assert_eq!(empty.status, 422);

    let on = b
        .post(
            "/app/account/mfa/confirm",
            &[("csrf", &csrf), ("code", &code_at(&secret, &clock, 0))],
        )
        .await;
    assert_eq!(on.status, 200, "{}", on.body);
    assert_no_inline_code("/app/account/mfa/confirm", &on.body);
    let codes = on.body.matches("<li><code>").count();
    assert_eq!(codes, 10, "{}", on.body);
    assert!(on.body.contains("shown this once"));
    let first_code = on
        .body
        .split("<li><code>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let account = b.get("/app/account").await;
    assert!(account.body.contains("data-mfa=\"on\""));
    assert!(
        !account.body.contains(&first_code),
        "recovery codes are shown once"
    );
    // Enrolling again is refused with the service's sentence.
    let twice = b.post("/app/account/mfa/enroll", &[("csrf", &csrf)]).await;
    assert_eq!(twice.status, 409);
    assert!(twice.body.contains("already on"), "{}", twice.body);

    let fresh = b
        .post("/app/account/mfa/recovery-codes", &[("csrf", &csrf)])
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert_eq!(fresh.body.matches("<li><code>").count(), 10);
    assert!(
        !fresh.body.contains(&first_code),
        "new codes replace the old"
    );
    // A sign-in now asks for the code.
    let mut other = Browser::new(&app);
    let step = other.submit_password(&boss.email, PASSWORD).await;
    assert!(step.body.contains("Two-factor"), "{}", step.body);

    let bad = b
        .post(
            "/app/account/mfa/disable",
            &[("csrf", &csrf), ("password", "not-the-password")],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(
        bad.body
            .contains("id=\"mfa-password-error\">The password is not correct."),
        "{}",
        bad.body
    );
    let no_token = b
        .post("/app/account/mfa/disable", &[("password", PASSWORD)])
        .await;
    assert_eq!(no_token.status, 403);
    let off = b
        .post(
            "/app/account/mfa/disable",
            &[("csrf", &csrf), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(off.status, 303, "{}", off.body);
    assert_eq!(off.location(), "/app/account?done=mfa_off");
    assert!(
        b.get(off.location())
            .await
            .body
            .contains("data-mfa=\"off\"")
    );
    let (status, me) = json(boss.caller(&app).get("/v1/me").await).await;
    assert_eq!(status, 200);
    assert_eq!(me["user"]["mfa_enabled"], false, "{me}");
}

#[tokio::test]
async fn a_reset_request_answers_alike_for_every_address_and_the_mailed_link_sets_a_password() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "reset@account.example", "Reset Shop").await;
    let mut b = Browser::new(&app);
    let form = b.get("/sign-in").await;
    assert!(form.body.contains("href=\"/password-reset\""));
    assert!(form.body.contains("href=\"/register\""));
    let page = b.get("/password-reset").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_no_inline_code("/password-reset", &page.body);
    let token = page.input("csrf");

    let known = b
        .post(
            "/password-reset",
            &[("csrf", &token), ("email", &boss.email)],
        )
        .await;
    assert_eq!(known.status, 200, "{}", known.body);
    let token2 = b.get("/password-reset").await.input("csrf");
    let unknown = b
        .post(
            "/password-reset",
            &[("csrf", &token2), ("email", "nobody@account.example")],
        )
        .await;
    assert_eq!(unknown.status, 200);
    let sent = |body: &str| {
        body.split("data-reset-sent>")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        sent(&known.body),
        sent(&unknown.body),
        "the answer never tells"
    );
    let token3 = b.get("/password-reset").await.input("csrf");
    let bad = b
        .post(
            "/password-reset",
            &[("csrf", &token3), ("email", "not an address")],
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("id=\"email-error\""), "{}", bad.body);
    assert!(bad.body.contains("value=\"not an address\""));
    // A post from elsewhere (no double-submit token) is refused.
    let mut stranger = Browser::new(&app);
    let forged = stranger
        .post("/password-reset", &[("email", &boss.email)])
        .await;
    assert_eq!(forged.status, 403);

    let reset = mailed_token(&app, &boss.email, RESET_MARKER).await;
    let (_, mail) = kiki_test_support::identity::latest_mail(&app, &boss.email)
        .await
        .unwrap();
    assert!(mail.contains("/reset-password?token="), "{mail}");
    let confirm = b.get(&format!("/reset-password?token={reset}")).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert_no_inline_code("/reset-password", &confirm.body);
    assert_eq!(confirm.input("token"), reset);
    let ft = confirm.input("csrf");
    let differ = b
        .post(
            "/password-reset/confirm",
            &[
                ("csrf", &ft),
                ("token", &reset),
                ("new_password", "a-brand-new-passphrase-7"),
                ("new_password_again", "other"),
            ],
        )
        .await;
    assert_eq!(differ.status, 422);
    assert!(differ.body.contains("id=\"new-password-again-error\""));
    let ft = differ.input("csrf");
    let weak = b
        .post(
            "/password-reset/confirm",
            &[
                ("csrf", &ft),
                ("token", &reset),
                ("new_password", "password"),
                ("new_password_again", "password"),
            ],
        )
        .await;
    assert_eq!(weak.status, 422, "{}", weak.body);
    assert!(
        weak.body.contains("id=\"new-password-error\""),
        "{}",
        weak.body
    );
    let ft = weak.input("csrf");
    let done = b
        .post(
            "/password-reset/confirm",
            &[
                ("csrf", &ft),
                ("token", &reset),
                ("new_password", "a-brand-new-passphrase-7"),
                ("new_password_again", "a-brand-new-passphrase-7"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/sign-in?flash=password_reset");
    assert!(text(&b.get(done.location()).await.body).contains("Your password is set"));
    sign_in(&app, &boss.email, "a-brand-new-passphrase-7").await;
    // The link works once.
    let reused = b
        .get(&format!("/password-reset/confirm?token={reset}"))
        .await;
    let ft = reused.input("csrf");
    let twice = b
        .post(
            "/password-reset/confirm",
            &[
                ("csrf", &ft),
                ("token", &reset),
                ("new_password", "yet-another-passphrase-9"),
                ("new_password_again", "yet-another-passphrase-9"),
            ],
        )
        .await;
    assert_eq!(twice.status, 422);
    assert!(
        twice.body.contains("The reset link is not valid"),
        "{}",
        twice.body
    );
}

#[tokio::test]
async fn an_invitation_registers_an_account_from_the_mailed_link_or_a_typed_code() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "reg@account.example", "Register Shop").await;
    let c = boss.caller(&app);
    let (status, body) = json(
        c.post(
            "/v1/invitations",
            &json!({"email": "joiner@account.example", "role": "analyst"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let token = mailed_token(&app, "joiner@account.example", INVITATION_MARKER).await;

    let mut b = Browser::new(&app);
    let page = b.get(&format!("/register?invitation={token}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_no_inline_code("/register", &page.body);
    assert!(page.body.contains("Your invitation is in this link"));
    let ft = page.input("csrf");
    // Field errors keep what was typed (never the password).
    let short = b
        .post(
            "/register",
            &[
                ("csrf", &ft),
                ("invitation", &token),
                ("from_link", "yes"),
                ("email", "joiner@account.example"),
                ("display_name", "Jo Iner"),
                ("password", "short"),
                ("password_again", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, 422, "{}", short.body);
    assert!(
        short.body.contains("id=\"password-error\""),
        "{}",
        short.body
    );
    assert!(short.body.contains("value=\"Jo Iner\""));
    assert!(short.body.contains("value=\"joiner@account.example\""));
    assert!(short.body.contains("name=\"from_link\" value=\"yes\""));
    let ft = short.input("csrf");
    let elsewhere = b
        .post(
            "/register",
            &[
                ("csrf", &ft),
                ("invitation", &token),
                ("from_link", "yes"),
                ("email", "someone.else@account.example"),
                ("display_name", "Jo"),
                ("password", "a-brand-new-passphrase-7"),
                ("password_again", "a-brand-new-passphrase-7"),
            ],
        )
        .await;
    assert_eq!(elsewhere.status, 422);
    assert!(
        elsewhere
            .body
            .contains("id=\"email-error\">This invitation was sent to another email address."),
        "{}",
        elsewhere.body
    );
    let ft = elsewhere.input("csrf");
    let done = b
        .post(
            "/register",
            &[
                ("csrf", &ft),
                ("invitation", &token),
                ("from_link", "yes"),
                ("email", "joiner@account.example"),
                ("display_name", "Jo Iner"),
                ("password", "a-brand-new-passphrase-7"),
                ("password_again", "a-brand-new-passphrase-7"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/sign-in?flash=registered");
    let mut joined = Browser::new(&app);
    let signed = joined
        .submit_password("joiner@account.example", "a-brand-new-passphrase-7")
        .await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let (_, members) = json(c.get("/v1/members").await).await;
    assert!(members.to_string().contains("joiner@account.example"));

    // A used or unknown invitation is named on its field, shown to correct.
    let page = Browser::new(&app).get("/register").await;
    assert!(page.body.contains("id=\"invitation\""));
    let mut typed = Browser::new(&app);
    let ft = typed.get("/register").await.input("csrf");
    let used = typed
        .post(
            "/register",
            &[
                ("csrf", &ft),
                ("invitation", &token),
                ("from_link", "yes"),
                ("email", "joiner@account.example"),
                ("display_name", "Jo"),
                ("password", "a-brand-new-passphrase-7"),
                ("password_again", "a-brand-new-passphrase-7"),
            ],
        )
        .await;
    assert_eq!(used.status, 422, "{}", used.body);
    assert!(
        used.body.contains("id=\"invitation-error\""),
        "{}",
        used.body
    );
    let (code, _) = invite_code(&c, "viewer").await;
    let ft = used.input("csrf");
    let by_code = typed
        .post(
            "/register",
            &[
                ("csrf", &ft),
                ("invitation", &code),
                ("email", "coder@account.example"),
                ("display_name", "Co Der"),
                ("password", "a-brand-new-passphrase-7"),
                ("password_again", "a-brand-new-passphrase-7"),
            ],
        )
        .await;
    assert_eq!(by_code.status, 303, "{}", by_code.body);
    // No double-submit token: nothing is created.
    let (code2, _) = invite_code(&c, "viewer").await;
    let forged = Browser::new(&app)
        .post(
            "/register",
            &[
                ("invitation", &code2),
                ("email", "forged@account.example"),
                ("display_name", "F"),
                ("password", "a-brand-new-passphrase-7"),
                ("password_again", "a-brand-new-passphrase-7"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    let (_, members) = json(c.get("/v1/members").await).await;
    assert!(!members.to_string().contains("forged@account.example"));
}
