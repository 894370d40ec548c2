//! First run: an administrator from the command line (`kiki admin create`) or
//! from `KIKI__BOOTSTRAP__ADMIN_EMAIL`/`_PASSWORD` when no user exists, and in
//! development a demo agency with two client organisations and a demo user so
//! a new install can be tried at once. Production never creates the demo.

use kiki_core::{OrgId, UserId};
use kiki_credentials::password::check_policy;
use kiki_shield::{Actor, AuditEvent};
use sea_query::{Expr, ExprTrait, Query};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::config::BootstrapConfig;
use crate::domain::model::{OrgKind, Role};
use crate::service::orgs::{normalize_email, validate_name};
use crate::store::{CountRow, Users as U};
use crate::{Identity, IdentityError, Result};

/// The demo sign-in (development only; documented in the README).
pub const DEMO_EMAIL: &str = "demo@kiki.local";
/// The demo password (development only).
pub const DEMO_PASSWORD: &str = "kiki-demo-password";

/// What bootstrap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrapped {
    /// Users already existed.
    Nothing,
    Admin {
        user: UserId,
        org: OrgId,
    },
    Demo {
        user: UserId,
        agency: OrgId,
        clients: Vec<OrgId>,
    },
}

impl Identity {
    pub async fn user_count(&self) -> Result<i64> {
        let stmt = Query::select()
            .expr_as(Expr::col(U::Id).count(), "n")
            .from(U::Table)
            .to_owned();
        let row: CountRow = self.db().fetch_one(&stmt).await?;
        Ok(row.n)
    }

    /// Creates a platform superadmin who owns a new agency organisation.
    pub async fn create_admin(
        &self,
        email: &str,
        password: &str,
        org_name: &str,
    ) -> Result<(UserId, OrgId)> {
        let email = normalize_email("email", email)?;
        let org_name = validate_name("org", org_name)?;
        check_policy(password, &email)
            .map_err(|v| IdentityError::invalid("password", format!("The password {v}.")))?;
        let hash = self.0.hashes.hash(password).await?;
        let mut tx = self.0.record.begin().await?;
        let user = self
            .insert_user(&mut tx, &email, None, &email, hash, true)
            .await?;
        let org = OrgId::new();
        self.insert_org(&mut tx, org, None, OrgKind::Agency, &org_name)
            .await?;
        self.insert_membership(&mut tx, org, user, Role::Owner)
            .await?;
        tx.audit(
            AuditEvent::new(
                Some(org),
                Actor::System("bootstrap".into()),
                "user.admin_created",
            )
            .target("user", user.0)
            .details(json!({ "email": email, "org": org_name, "superadmin": true })),
        )
        .await?;
        tx.commit().await?;
        Ok((user, org))
    }

    /// Creates the demo agency, its two clients and the demo user.
    pub async fn create_demo(&self) -> Result<Bootstrapped> {
        let hash = self.0.hashes.hash(DEMO_PASSWORD).await?;
        let mut tx = self.0.record.begin().await?;
        let user = self
            .insert_user(&mut tx, DEMO_EMAIL, Some("demo"), "Demo User", hash, false)
            .await?;
        let agency = OrgId::new();
        self.insert_org(&mut tx, agency, None, OrgKind::Agency, "Demo Agency")
            .await?;
        self.insert_membership(&mut tx, agency, user, Role::Owner)
            .await?;
        let mut clients = Vec::new();
        for name in ["Demo Shop", "Demo Outdoor Co"] {
            let c = OrgId::new();
            self.insert_org(&mut tx, c, Some(agency), OrgKind::Client, name)
                .await?;
            clients.push(c);
        }
        tx.audit(
            AuditEvent::new(
                Some(agency),
                Actor::System("bootstrap".into()),
                "org.demo_created",
            )
            .target("organisation", agency.0)
            .details(json!({ "user": DEMO_EMAIL, "clients": clients.len() })),
        )
        .await?;
        tx.commit().await?;
        Ok(Bootstrapped::Demo {
            user,
            agency,
            clients,
        })
    }

    /// Start-up bootstrap: only when the database has no user at all.
    pub async fn bootstrap(&self, cfg: &BootstrapConfig, production: bool) -> Result<Bootstrapped> {
        if self.user_count().await? > 0 {
            return Ok(Bootstrapped::Nothing);
        }
        if let (Some(email), Some(password)) = (&cfg.admin_email, &cfg.admin_password) {
            let org = cfg
                .admin_org
                .clone()
                .unwrap_or_else(|| "Default organisation".into());
            let (user, org) = self
                .create_admin(email, password.expose_secret(), &org)
                .await?;
            tracing::info!(user = %user.0, org = %org.0, "created the bootstrap administrator");
            return Ok(Bootstrapped::Admin { user, org });
        }
        if !production && cfg.demo.unwrap_or(true) {
            let done = self.create_demo().await?;
            tracing::info!(
                email = DEMO_EMAIL,
                "created the demo agency and user (development only; see README)"
            );
            return Ok(done);
        }
        Ok(Bootstrapped::Nothing)
    }
}
