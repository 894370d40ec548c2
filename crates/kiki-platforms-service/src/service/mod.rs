//! The ad-platforms use cases. Every public method takes the caller's
//! `Principal` (changes) or a `TenantScope` (reads, jobs, other contexts)
//! and touches only that organisation's rows; every change commits with its
//! audit entry through the recorder.
//!
//! - `mod.rs`: the service, connections (sandbox at once; live through
//!   OAuth 2.0 with PKCE), and reaching a platform with a connection's
//!   account (refreshing a token before it expires, marking a connection
//!   broken when the platform revoked it).
//! - `clock.rs`: the sandbox market's clock (real or accelerated time).
//! - `sandbox.rs`: the sandbox market behind the port.
//! - `deploy.rs`: an ad set and its ads on its platform, for the campaigns
//!   context.
//! - `sync.rs`: the performance sync into daily metrics, the twin's
//!   history and (sandbox) the LTV transactions.
//! - `breakdowns.rs`: the country and device breakdowns the sync stores,
//!   and their read.

pub mod breakdowns;
pub mod clock;
pub mod deploy;
pub mod sandbox;
pub mod sync;

use std::collections::BTreeMap;
use std::sync::Arc;

use kiki_core::{Clock, Currency, OrgId, TenantScope};
use kiki_explain::Recorder;
use kiki_identity::{Principal, RequestMeta};
use kiki_platforms::{AccountRef, AdPlatform, Market, OAuthProvider, PlatformError, TokenSet};
use kiki_server::Platform as Handles;
use kiki_shield::{Actor, AuditEvent, Keyring};
use kiki_store::Db;
use kiki_twin::{Industry, Platform};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::config::PlatformsConfig;
use crate::domain::{
    CompleteRequest, ConnectRequest, ConnectStarted, ConnectionMode, ConnectionStatus,
    ConnectionView, has_live_connector,
};
use crate::error::{PlatformsError, Result};
use crate::events::ConnectionChanged;
use crate::store::{self, connections::ConnectionRow};

pub use clock::SandboxClock;
pub use sandbox::SandboxPlatform;

const TABLE: &str = "platform_connections";
/// A token this close to its expiry is refreshed before a call.
const REFRESH_MARGIN: Duration = Duration::minutes(5);

/// A real platform API and its OAuth flow, registered by the module when
/// the server has credentials for it.
#[derive(Clone)]
pub struct LiveConnector {
    pub api: Arc<dyn AdPlatform>,
    pub oauth: Arc<dyn OAuthProvider>,
}

impl std::fmt::Debug for LiveConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveConnector")
            .field("platform", &self.api.platform())
            .finish()
    }
}

/// A platform reached with an organisation's connection.
pub(crate) struct Reached {
    pub api: Arc<dyn AdPlatform>,
    pub account: AccountRef,
    pub conn: ConnectionRow,
    pub sandbox: Option<SandboxPlatform>,
}

/// The ad-platforms service.
#[derive(Debug)]
pub struct PlatformsService {
    pub(crate) db: Db,
    clock: Arc<dyn Clock>,
    /// The sandbox market's clock: `clock` in real time, or accelerated.
    market_clock: Arc<SandboxClock>,
    record: Recorder,
    keyring: Keyring,
    pub(crate) config: PlatformsConfig,
    market: Market,
    live: BTreeMap<&'static str, LiveConnector>,
    pub(crate) twin: Option<Arc<kiki_twin_service::TwinService>>,
    pub(crate) ltv: Option<Arc<kiki_ltv_service::LtvService>>,
}

pub(crate) fn audit_event(
    org: OrgId,
    actor: Actor,
    action: &str,
    meta: Option<&RequestMeta>,
) -> AuditEvent {
    let e = AuditEvent::new(Some(org), actor, action);
    match meta {
        Some(m) => e.context(m.ip, m.user_agent.clone(), m.request_id.clone()),
        None => e,
    }
}

pub(crate) fn actor_text(actor: &Actor) -> String {
    match actor.id() {
        Some(id) => format!("{}:{id}", actor.kind()),
        None => actor.kind().to_owned(),
    }
}

pub(crate) fn platform_of(s: &str) -> Result<Platform> {
    Platform::parse(s)
        .ok_or_else(|| PlatformsError::Internal(format!("stored platform `{s}` is unknown")))
}

impl PlatformsService {
    pub fn new(
        platform: &Handles,
        config: PlatformsConfig,
        twin: Option<Arc<kiki_twin_service::TwinService>>,
        ltv: Option<Arc<kiki_ltv_service::LtvService>>,
    ) -> PlatformsService {
        let market_clock = Arc::new(match config.sandbox_seconds_per_day {
            Some(n) => SandboxClock::accelerated(platform.clock.clone(), n),
            None => SandboxClock::real_time(platform.clock.clone()),
        });
        PlatformsService {
            db: platform.db.clone(),
            clock: platform.clock.clone(),
            market_clock,
            record: platform.recorder(),
            keyring: platform.keyring.clone(),
            market: Market {
                seed: config.sandbox_seed,
            },
            config,
            live: BTreeMap::new(),
            twin,
            ltv,
        }
    }

    /// Registers a real connector for its platform.
    pub fn with_live(mut self, connector: LiveConnector) -> PlatformsService {
        self.live
            .insert(connector.api.platform().as_str(), connector);
        self
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Records that the accelerated market is running (its sweep ran now).
    pub(crate) async fn note_market_swept(&self) -> Result<()> {
        if self.market_clock.seconds_per_day().is_some() {
            store::clock::touch(&self.db, self.now()).await?;
        }
        Ok(())
    }

    /// The sandbox market's clock (real or accelerated time).
    pub fn market_clock(&self) -> &Arc<SandboxClock> {
        &self.market_clock
    }

    /// Reads the installation's market anchor, once (see `clock.rs`); until
    /// it can be read the process's own start stands in, with a warning.
    pub async fn anchor_market(&self) {
        if let Err(e) = self.market_clock.anchor(&self.db).await {
            tracing::warn!(error = %e, "the sandbox market's stored clock is not readable yet; using this process's start");
        }
    }

    fn encrypt(&self, id: Uuid, column: &str, value: &str) -> Result<String> {
        self.keyring
            .try_encrypt(value.as_bytes(), &kiki_shield::aad(TABLE, column, id))
            .map_err(|e| PlatformsError::Internal(format!("encrypting a platform token: {e}")))
    }

    fn decrypt(&self, id: Uuid, column: &str, value: &str) -> Result<String> {
        self.keyring
            .decrypt_str(value, &kiki_shield::aad(TABLE, column, id))
            .map_err(|e| PlatformsError::Internal(format!("a platform token of {id}: {e}")))
    }

    fn view(&self, r: ConnectionRow) -> Result<ConnectionView> {
        let status = ConnectionStatus::parse(&r.status).ok_or_else(|| {
            PlatformsError::Internal(format!("stored connection status `{}`", r.status))
        })?;
        let platform = platform_of(&r.platform)?;
        let mode = ConnectionMode::parse(&r.mode).ok_or_else(|| {
            PlatformsError::Internal(format!("stored connection mode `{}`", r.mode))
        })?;
        let action = match status {
            ConnectionStatus::Connected => None,
            ConnectionStatus::Broken => Some(format!(
                "{} no longer accepts KIKI's access: connect again (POST /v1/platforms/connections).",
                platform.display_name()
            )),
            ConnectionStatus::Disconnected => Some(
                "Disconnected: nothing runs on this platform until it is connected again.".into(),
            ),
        };
        let market_now = (mode == ConnectionMode::Sandbox).then(|| self.market_clock.now());
        Ok(ConnectionView {
            id: r.id,
            platform,
            mode,
            status,
            account_id: r.account_id,
            account_name: r.account_name,
            currency: r.currency,
            time_zone: r.time_zone,
            token_expires_at: r.token_expires_at,
            last_error: r.last_error,
            last_checked_at: r.last_checked_at,
            last_synced_day: r.last_synced_day,
            market_date: market_now.map(|t| store::day_text(t.date())),
            market_time: market_now,
            market_seconds_per_day: market_now.and(self.market_clock.seconds_per_day()),
            action,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }

    /// `GET /v1/platforms/connections`.
    pub async fn connections(&self, scope: &TenantScope) -> Result<Vec<ConnectionView>> {
        self.anchor_market().await;
        store::connections::list(&self.db, scope.org_id())
            .await?
            .into_iter()
            .map(|r| self.view(r))
            .collect()
    }

    /// One connection by platform.
    pub async fn connection(
        &self,
        scope: &TenantScope,
        platform: Platform,
    ) -> Result<ConnectionView> {
        self.anchor_market().await;
        let row = store::connections::get(&self.db, scope.org_id(), platform.as_str())
            .await?
            .ok_or(PlatformsError::NotFound("The connection"))?;
        self.view(row)
    }

    /// `POST /v1/platforms/connections`: a sandbox connection is made at
    /// once; a live one starts the OAuth flow.
    pub async fn connect(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        req: &ConnectRequest,
    ) -> Result<ConnectStarted> {
        let problems = req.problems();
        if !problems.is_empty() {
            return Err(PlatformsError::Invalid(problems));
        }
        match req.mode {
            ConnectionMode::Sandbox => {
                let industry = req.industry.unwrap_or_default();
                let currency = req.currency.unwrap_or(Currency::USD);
                let view = self
                    .connect_sandbox(
                        &p.scope,
                        p.actor(),
                        Some(meta),
                        req.platform,
                        industry,
                        currency,
                    )
                    .await?;
                Ok(ConnectStarted {
                    connection: Some(view),
                    authorize_url: None,
                    expires_at: None,
                })
            }
            ConnectionMode::Live => self.start_oauth(p, meta, req).await,
        }
    }

    /// Connects the sandbox market for a platform (also used by the demo).
    pub async fn connect_sandbox(
        &self,
        scope: &TenantScope,
        actor: Actor,
        meta: Option<&RequestMeta>,
        platform: Platform,
        industry: Industry,
        currency: Currency,
    ) -> Result<ConnectionView> {
        let org = scope.org_id();
        let now = self.now();
        let account_id = sandbox::account_id(industry);
        let sb = self.sandbox(org, platform, currency.as_str());
        let account = AccountRef {
            account_id: account_id.clone(),
            login_customer_id: None,
            access_token: String::new(),
        };
        let info = sb
            .verify(&account)
            .await
            .map_err(|source| PlatformsError::Platform {
                platform: platform.as_str(),
                source,
            })?;
        let existing = store::connections::get(&self.db, org, platform.as_str()).await?;
        let mut tx = self.record.begin().await?;
        if existing
            .as_ref()
            .is_some_and(|e| e.account_id != info.account_id || e.mode != "sandbox")
        {
            // Another account: KIKI's objects there are not in this one.
            store::objects::forget(tx.tx(), org, platform.as_str()).await?;
        }
        let row = ConnectionRow {
            id: existing.as_ref().map_or_else(Uuid::now_v7, |e| e.id),
            org_id: org.0,
            platform: platform.as_str().into(),
            mode: ConnectionMode::Sandbox.as_str().into(),
            status: ConnectionStatus::Connected.as_str().into(),
            account_id: info.account_id,
            account_name: info.name,
            currency: info.currency,
            time_zone: info.time_zone,
            login_customer_id: None,
            access_token: None,
            refresh_token: None,
            token_expires_at: None,
            scope: None,
            last_error: None,
            last_checked_at: Some(now),
            last_synced_day: None,
            version: 1,
            created_by: actor_text(&actor),
            created_at: now,
            updated_at: now,
        };
        let id = store::connections::upsert(tx.tx(), &row).await?;
        tx.audit(
            audit_event(org, actor, "platforms.connection.connected", meta).details(json!({
                "platform": platform.as_str(), "mode": "sandbox", "account_id": row.account_id,
            })),
        )
        .await?;
        tx.publish(
            Some(org),
            &ConnectionChanged {
                connection_id: id,
                platform: platform.as_str().into(),
                status: "connected".into(),
                mode: "sandbox".into(),
            },
        );
        tx.commit().await?;
        self.connection(scope, platform).await
    }

    fn live(&self, platform: Platform) -> Result<&LiveConnector> {
        self.live.get(platform.as_str()).ok_or_else(|| {
            PlatformsError::NotConfigured(if has_live_connector(platform) {
                format!(
                    "This server has no {} API credentials (section `platforms.{}` of the configuration): connect the sandbox instead, or ask the operator to add them.",
                    platform.display_name(),
                    platform.as_str()
                )
            } else {
                format!(
                    "KIKI has no connector for {}'s API yet: its campaigns run on the sandbox market.",
                    platform.display_name()
                )
            })
        })
    }

    async fn start_oauth(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        req: &ConnectRequest,
    ) -> Result<ConnectStarted> {
        let live = self.live(req.platform)?;
        let org = p.scope.org_id();
        let now = self.now();
        let state = kiki_credentials::tokens::opaque_token();
        let verifier = kiki_credentials::tokens::opaque_token();
        let redirect_uri = req
            .redirect_uri
            .clone()
            .unwrap_or_else(|| self.config.redirect_uri());
        let challenge = kiki_platforms::pkce_challenge(&verifier);
        let url = live.oauth.authorize_url(&state, &challenge, &redirect_uri);
        let state_hash = kiki_credentials::tokens::token_hash(&state);
        let expires_at = now + Duration::seconds(self.config.oauth_state_ttl_secs as i64);
        let row = store::connections::StateRow {
            code_verifier: self
                .keyring
                .try_encrypt(
                    verifier.as_bytes(),
                    &kiki_shield::aad("platform_oauth_states", "code_verifier", org.0),
                )
                .map_err(|e| PlatformsError::Internal(format!("encrypting a verifier: {e}")))?,
            state_hash,
            org_id: org.0,
            platform: req.platform.as_str().into(),
            redirect_uri,
            account_id: req.account_id.clone().unwrap_or_default(),
            login_customer_id: req.login_customer_id.clone(),
            created_by: actor_text(&p.actor()),
            created_at: now,
            expires_at,
        };
        let mut tx = self.record.begin().await?;
        store::connections::purge_states(tx.tx(), org, now).await?;
        store::connections::insert_state(tx.tx(), &row).await?;
        tx.audit(
            audit_event(org, p.actor(), "platforms.connection.started", Some(meta)).details(
                json!({ "platform": req.platform.as_str(), "account_id": row.account_id }),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(ConnectStarted {
            connection: None,
            authorize_url: Some(url),
            expires_at: Some(expires_at),
        })
    }

    /// `POST /v1/platforms/oauth/complete`: exchanges the code, verifies the
    /// account and stores the tokens encrypted.
    pub async fn complete_oauth(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        req: &CompleteRequest,
    ) -> Result<ConnectionView> {
        let org = p.scope.org_id();
        let now = self.now();
        let mut tx = self.record.begin().await?;
        let state = store::connections::take_state(
            tx.tx(),
            org,
            &kiki_credentials::tokens::token_hash(&req.state),
        )
        .await?;
        tx.commit().await?;
        let state = match state {
            Some(s) if s.expires_at > now => s,
            Some(_) => {
                return Err(PlatformsError::Conflict(
                    "The connection took too long: start it again.".into(),
                ));
            }
            // Unknown or already used: no connection is being made with it.
            None => return Err(PlatformsError::NotFound("The connection being made")),
        };
        let platform = platform_of(&state.platform)?;
        let live = self.live(platform)?.clone();
        let verifier = self
            .keyring
            .decrypt_str(
                &state.code_verifier,
                &kiki_shield::aad("platform_oauth_states", "code_verifier", org.0),
            )
            .map_err(|e| PlatformsError::Internal(format!("a stored verifier: {e}")))?;
        let wrap = |source| PlatformsError::Platform {
            platform: platform.as_str(),
            source,
        };
        let tokens = live
            .oauth
            .exchange_code(&req.code, &verifier, &state.redirect_uri, now)
            .await
            .map_err(wrap)?;
        let account = AccountRef {
            account_id: state.account_id.clone(),
            login_customer_id: state.login_customer_id.clone(),
            access_token: tokens.access_token.clone(),
        };
        let info = live.api.verify(&account).await.map_err(wrap)?;
        let existing = store::connections::get(&self.db, org, platform.as_str()).await?;
        let id = existing.as_ref().map_or_else(Uuid::now_v7, |e| e.id);
        let row = ConnectionRow {
            id,
            org_id: org.0,
            platform: platform.as_str().into(),
            mode: ConnectionMode::Live.as_str().into(),
            status: ConnectionStatus::Connected.as_str().into(),
            account_id: info.account_id,
            account_name: info.name,
            currency: info.currency,
            time_zone: info.time_zone,
            login_customer_id: state.login_customer_id,
            access_token: Some(self.encrypt(id, "access_token", &tokens.access_token)?),
            refresh_token: match &tokens.refresh_token {
                Some(t) => Some(self.encrypt(id, "refresh_token", t)?),
                None => None,
            },
            token_expires_at: tokens.expires_at,
            scope: tokens.scope.clone(),
            last_error: None,
            last_checked_at: Some(now),
            last_synced_day: None,
            version: 1,
            created_by: actor_text(&p.actor()),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.record.begin().await?;
        if existing
            .as_ref()
            .is_some_and(|e| e.account_id != row.account_id || e.mode != "live")
        {
            store::objects::forget(tx.tx(), org, platform.as_str()).await?;
        }
        store::connections::upsert(tx.tx(), &row).await?;
        tx.audit(
            audit_event(org, p.actor(), "platforms.connection.connected", Some(meta)).details(
                json!({ "platform": platform.as_str(), "mode": "live", "account_id": row.account_id }),
            ),
        )
        .await?;
        tx.publish(
            Some(org),
            &ConnectionChanged {
                connection_id: id,
                platform: platform.as_str().into(),
                status: "connected".into(),
                mode: "live".into(),
            },
        );
        tx.commit().await?;
        self.connection(&p.scope, platform).await
    }

    /// `DELETE /v1/platforms/connections/{platform}`: revokes the grant at
    /// the platform (best effort) and forgets the tokens.
    pub async fn disconnect(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        platform: Platform,
    ) -> Result<ConnectionView> {
        let org = p.scope.org_id();
        let row = store::connections::get(&self.db, org, platform.as_str())
            .await?
            .ok_or(PlatformsError::NotFound("The connection"))?;
        let mut revoke_error = None;
        if row.mode == "live"
            && let (Some(access), Ok(live)) = (&row.access_token, self.live(platform))
        {
            let tokens = TokenSet {
                access_token: self.decrypt(row.id, "access_token", access)?,
                refresh_token: match &row.refresh_token {
                    Some(t) => Some(self.decrypt(row.id, "refresh_token", t)?),
                    None => None,
                },
                expires_at: row.token_expires_at,
                scope: row.scope.clone(),
            };
            if let Err(e) = live.oauth.revoke(&tokens).await {
                revoke_error = Some(e.to_string());
            }
        }
        let mut tx = self.record.begin().await?;
        store::connections::disconnect(tx.tx(), org, row.id, self.now()).await?;
        tx.audit(
            audit_event(
                org,
                p.actor(),
                "platforms.connection.disconnected",
                Some(meta),
            )
            .details(json!({ "platform": platform.as_str(), "revoke_error": revoke_error })),
        )
        .await?;
        tx.publish(
            Some(org),
            &ConnectionChanged {
                connection_id: row.id,
                platform: platform.as_str().into(),
                status: "disconnected".into(),
                mode: row.mode.clone(),
            },
        );
        tx.commit().await?;
        self.connection(&p.scope, platform).await
    }

    pub(crate) fn sandbox(
        &self,
        org: OrgId,
        platform: Platform,
        currency: &str,
    ) -> SandboxPlatform {
        SandboxPlatform::new(
            self.db.clone(),
            self.market_clock.clone(),
            org,
            platform,
            self.market,
            currency.to_owned(),
        )
    }

    /// The platform and account an organisation's connection reaches, with
    /// a fresh token; `None` when it has no working connection there.
    pub(crate) async fn reach(&self, org: OrgId, platform: Platform) -> Result<Option<Reached>> {
        self.anchor_market().await;
        let Some(conn) = store::connections::get(&self.db, org, platform.as_str()).await? else {
            return Ok(None);
        };
        if conn.status != "connected" {
            return Ok(None);
        }
        if conn.mode == "sandbox" {
            let sb = self.sandbox(org, platform, &conn.currency);
            return Ok(Some(Reached {
                api: Arc::new(sb.clone()),
                account: AccountRef {
                    account_id: conn.account_id.clone(),
                    login_customer_id: None,
                    access_token: String::new(),
                },
                conn,
                sandbox: Some(sb),
            }));
        }
        let live = self.live(platform)?.clone();
        let mut access = match &conn.access_token {
            Some(a) => self.decrypt(conn.id, "access_token", a)?,
            None => return Ok(None),
        };
        let now = self.now();
        if conn
            .token_expires_at
            .is_some_and(|at| at - REFRESH_MARGIN <= now)
        {
            access = self.refresh(org, &conn, &live).await?;
        }
        Ok(Some(Reached {
            api: live.api.clone(),
            account: AccountRef {
                account_id: conn.account_id.clone(),
                login_customer_id: conn.login_customer_id.clone(),
                access_token: access,
            },
            conn,
            sandbox: None,
        }))
    }

    /// Refreshes a connection's access token; a revoked grant marks the
    /// connection broken.
    async fn refresh(
        &self,
        org: OrgId,
        conn: &ConnectionRow,
        live: &LiveConnector,
    ) -> Result<String> {
        let now = self.now();
        let tokens = TokenSet {
            access_token: match &conn.access_token {
                Some(a) => self.decrypt(conn.id, "access_token", a)?,
                None => String::new(),
            },
            refresh_token: match &conn.refresh_token {
                Some(t) => Some(self.decrypt(conn.id, "refresh_token", t)?),
                None => None,
            },
            expires_at: conn.token_expires_at,
            scope: conn.scope.clone(),
        };
        match live.oauth.refresh(&tokens, now).await {
            Ok(fresh) => {
                let access = self.encrypt(conn.id, "access_token", &fresh.access_token)?;
                let refresh = match fresh
                    .refresh_token
                    .as_ref()
                    .or(tokens.refresh_token.as_ref())
                {
                    Some(t) => Some(self.encrypt(conn.id, "refresh_token", t)?),
                    None => None,
                };
                store::connections::set_tokens(
                    &self.db,
                    org,
                    conn.id,
                    &access,
                    refresh.as_deref(),
                    fresh.expires_at,
                    now,
                )
                .await?;
                Ok(fresh.access_token)
            }
            Err(e) => {
                self.note_failure(org, conn, &e).await?;
                Err(PlatformsError::Platform {
                    platform: live.api.platform().as_str(),
                    source: e,
                })
            }
        }
    }

    /// Records a failed call on the connection: revoked access breaks it;
    /// anything else is kept as its last error.
    pub(crate) async fn note_failure(
        &self,
        org: OrgId,
        conn: &ConnectionRow,
        e: &PlatformError,
    ) -> Result<()> {
        let status = match e {
            PlatformError::Revoked { .. } => "broken",
            _ => conn.status.as_str(),
        };
        store::connections::set_health(
            &self.db,
            org,
            conn.id,
            status,
            Some(&e.to_string()),
            self.now(),
        )
        .await?;
        Ok(())
    }
}
