//! API keys for machines (CI, integrations, exchanges): scoped to one
//! organisation and a set of permissions no wider than their creator's,
//! shown once as `kiki_<prefix>_<secret>`, stored as a SHA-256 hash, looked
//! up by prefix and compared in constant time. Last use is recorded at most
//! once a minute so a busy key does not write on every request.

use kiki_core::{OrgId, TenantScope};
use kiki_credentials::tokens;
use kiki_shield::AuditEvent;
use sea_query::{Expr, ExprTrait, Order, Query};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::domain::model::Permission;
use crate::domain::types::StampRequest as _;
use crate::domain::types::{ApiKeyInfo, AuthMethod, Caller, CreatedApiKey, Principal, RequestMeta};
use crate::service::auth::parse_permissions;
use crate::store::{ApiKeyRow, ApiKeys as K};
use crate::{Identity, IdentityError, Result};

const BAD_KEY: &str = "The API key is not valid.";

fn columns() -> [K; 11] {
    [
        K::Id,
        K::OrgId,
        K::Name,
        K::Prefix,
        K::KeyHash,
        K::Permissions,
        K::CreatedBy,
        K::CreatedAt,
        K::LastUsedAt,
        K::ExpiresAt,
        K::RevokedAt,
    ]
}

fn info(r: ApiKeyRow) -> ApiKeyInfo {
    ApiKeyInfo {
        id: r.id,
        org_id: OrgId(r.org_id),
        name: r.name,
        prefix: r.prefix,
        permissions: r.permissions.0,
        created_by: r.created_by,
        created_at: r.created_at,
        last_used_at: r.last_used_at,
        expires_at: r.expires_at,
        revoked_at: r.revoked_at,
    }
}

/// A request to create a key.
#[derive(Debug, Clone)]
pub struct NewApiKeyRequest {
    pub name: String,
    pub permissions: Vec<String>,
    pub expires_at: Option<OffsetDateTime>,
}

impl Identity {
    /// Creates a key in the caller's active organisation.
    pub async fn create_api_key(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        req: NewApiKeyRequest,
    ) -> Result<CreatedApiKey> {
        let mut errors = Vec::new();
        let name = req.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(kiki_core::FieldError::new(
                "name",
                "The name must be 1 to 100 characters.",
            ));
        }
        if req.permissions.is_empty() {
            errors.push(kiki_core::FieldError::new(
                "permissions",
                "List at least one permission.",
            ));
        }
        let perms = match parse_permissions("permissions", &req.permissions) {
            Ok(p) => p,
            Err(IdentityError::Invalid(f)) => {
                errors.extend(f);
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        let now = self.now();
        if let Some(exp) = req.expires_at
            && exp <= now
        {
            errors.push(kiki_core::FieldError::new(
                "expires_at",
                "The expiry must be in the future.",
            ));
        }
        if !errors.is_empty() {
            return Err(IdentityError::Invalid(errors));
        }
        if let Some(p) = perms.iter().find(|p| !principal.has(**p)) {
            return Err(IdentityError::Forbidden(format!(
                "You cannot give a key the permission `{}`, which you do not hold.",
                p.as_str()
            )));
        }
        let key = tokens::new_api_key();
        let id = Uuid::now_v7();
        let names: Vec<String> = perms.iter().map(|p| p.as_str().to_owned()).collect();
        let created_by = principal.user_id().map(|u| u.0);
        let org = principal.org_id();
        let stmt = Query::insert()
            .into_table(K::Table)
            .columns([
                K::Id,
                K::OrgId,
                K::Name,
                K::Prefix,
                K::KeyHash,
                K::Permissions,
                K::CreatedBy,
                K::CreatedAt,
                K::ExpiresAt,
            ])
            .values_panic([
                id.into(),
                org.0.into(),
                name.clone().into(),
                key.prefix.clone().into(),
                key.hash.clone().into(),
                json!(names).into(),
                created_by.into(),
                now.into(),
                req.expires_at
                    .map(kiki_store::schema::truncate_to_micros)
                    .into(),
            ])
            .to_owned();
        let mut tx = self.0.record.begin().await?;
        tx.execute(&stmt).await?;
        tx.audit(
            AuditEvent::new(Some(org), principal.actor(), "apikey.created")
                .target("api_key", id)
                .details(json!({ "name": name, "prefix": key.prefix, "permissions": names }))
                .stamp(meta),
        )
        .await?;
        tx.commit().await?;
        let info = self
            .api_key(&principal.scope, id)
            .await?
            .ok_or(IdentityError::NotFound("The API key"))?;
        Ok(CreatedApiKey {
            token: key.token,
            key: info,
        })
    }

    pub async fn api_key(&self, scope: &TenantScope, id: Uuid) -> Result<Option<ApiKeyInfo>> {
        let stmt = Query::select()
            .columns(columns())
            .from(K::Table)
            .and_where(Expr::col(K::Id).eq(id))
            .and_where(Expr::col(K::OrgId).eq(scope.org_id().0))
            .to_owned();
        let row: Option<ApiKeyRow> = self.db().fetch_optional(&stmt).await?;
        Ok(row.map(info))
    }

    /// Keys of the active organisation, newest first (revoked ones included, marked).
    pub async fn list_api_keys(&self, scope: &TenantScope) -> Result<Vec<ApiKeyInfo>> {
        let stmt = Query::select()
            .columns(columns())
            .from(K::Table)
            .and_where(Expr::col(K::OrgId).eq(scope.org_id().0))
            .order_by(K::Id, Order::Desc)
            .to_owned();
        let rows: Vec<ApiKeyRow> = self.db().fetch_all(&stmt).await?;
        Ok(rows.into_iter().map(info).collect())
    }

    pub async fn revoke_api_key(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        id: Uuid,
    ) -> Result<ApiKeyInfo> {
        let now = self.now();
        let org = principal.org_id();
        let mut tx = self.0.record.begin().await?;
        let stmt = Query::update()
            .table(K::Table)
            .values([(K::RevokedAt, now.into())])
            .and_where(Expr::col(K::Id).eq(id))
            .and_where(Expr::col(K::OrgId).eq(org.0))
            .and_where(Expr::col(K::RevokedAt).is_null())
            .to_owned();
        let n = tx.execute(&stmt).await?;
        if n == 0 {
            tx.rollback().await?;
            return match self.api_key(&principal.scope, id).await? {
                Some(k) => Ok(k),
                None => Err(IdentityError::NotFound("The API key")),
            };
        }
        tx.audit(
            AuditEvent::new(Some(org), principal.actor(), "apikey.revoked")
                .target("api_key", id)
                .stamp(meta),
        )
        .await?;
        tx.commit().await?;
        self.api_key(&principal.scope, id)
            .await?
            .ok_or(IdentityError::NotFound("The API key"))
    }

    /// Resolves an API key presented as a bearer token.
    pub(crate) async fn authenticate_api_key(
        &self,
        token: &str,
        requested_org: Option<OrgId>,
    ) -> Result<Principal> {
        let prefix =
            tokens::api_key_prefix(token).ok_or(IdentityError::Unauthenticated(BAD_KEY))?;
        let stmt = Query::select()
            .columns(columns())
            .from(K::Table)
            .and_where(Expr::col(K::Prefix).eq(prefix))
            .to_owned();
        let row: ApiKeyRow = self
            .db()
            .fetch_optional(&stmt)
            .await?
            .ok_or(IdentityError::Unauthenticated(BAD_KEY))?;
        let now = self.now();
        let presented = tokens::token_hash(token);
        if !tokens::constant_time_eq(presented.as_bytes(), row.key_hash.as_bytes())
            || row.revoked_at.is_some()
            || row.expires_at.is_some_and(|e| e <= now)
        {
            return Err(IdentityError::Unauthenticated(BAD_KEY));
        }
        let org = OrgId(row.org_id);
        if requested_org.is_some_and(|r| r != org) {
            return Err(IdentityError::NotFound("The organisation"));
        }
        if self
            .org_row(org)
            .await?
            .is_none_or(|o| o.archived_at.is_some())
        {
            return Err(IdentityError::Unauthenticated(BAD_KEY));
        }
        if row
            .last_used_at
            .is_none_or(|t| now - t > Duration::minutes(1))
        {
            let touch = Query::update()
                .table(K::Table)
                .values([(K::LastUsedAt, now.into())])
                .and_where(Expr::col(K::Id).eq(row.id))
                .to_owned();
            self.db().execute(&touch).await?;
        }
        let permissions: Vec<Permission> = row
            .permissions
            .0
            .iter()
            .filter_map(|p| Permission::parse(p))
            .collect();
        Ok(Principal {
            caller: Caller::ApiKey {
                key_id: row.id,
                created_by: row.created_by,
            },
            method: AuthMethod::ApiKey,
            scope: TenantScope::single(org),
            role: None,
            permissions,
            superadmin: false,
            amr: vec!["key".into()],
            mfa_outstanding: false,
            csrf_hash: None,
        })
    }
}
