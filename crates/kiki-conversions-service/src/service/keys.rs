//! The organisation's conversion credentials and the two ways they
//! authenticate a report: the signing secret (`X-Kiki-Signature`, HMAC-SHA256
//! over the body, field-encrypted at rest, shown once, the rotated one still
//! verifying for `previous_secret_grace_hours`) and the public site key of
//! the browser snippet (its organisation's own click ids only, from its
//! allowed origins, rate limited).

use std::time::Duration;

use kiki_core::{OrgId, TenantScope};
use kiki_identity::{Principal, RequestMeta};
use kiki_shield::Actor;
use serde_json::json;
use time::OffsetDateTime;

use super::{ConversionsService, Reporter, audit_event};
use crate::domain::{
    ConversionSettings, NewSecret, PreviousSecret, SNIPPET_PATH, SecretInfo, SiteRequest, SiteView,
    Source, parse_signature, signature_matches,
};
use crate::error::{ConversionsError, Result};
use crate::store::{self, KEYS_TABLE, KeysRow, SecretWrite};

/// What a wrong signature gets, whatever was wrong (unknown key id, another
/// secret, another body): nothing tells a guesser which part was right.
const BAD_SIGNATURE: &str =
    "The X-Kiki-Signature header does not verify against this body with a current signing secret.";

fn actor_text(actor: &Actor) -> String {
    match actor.id() {
        Some(id) => format!("{}:{id}", actor.kind()),
        None => actor.kind().to_owned(),
    }
}

impl KeysRow {
    fn site(&self) -> Option<SiteView> {
        Some(SiteView {
            site_key: self.site_key.clone()?,
            allowed_origins: self.allowed_origins.0.clone(),
            created_at: self.site_key_created_at?,
        })
    }

    /// The previous secret's id while it still verifies at `now`.
    fn previous(&self, now: OffsetDateTime) -> Option<PreviousSecret> {
        let expires_at = self.previous_expires_at.filter(|t| *t > now)?;
        Some(PreviousSecret {
            key_id: self.previous_secret_id.clone()?,
            expires_at,
        })
    }
}

impl ConversionsService {
    fn aad(org: OrgId, column: &str) -> String {
        kiki_shield::aad(KEYS_TABLE, column, org.0)
    }

    /// The organisation's credentials without any secret, the window and
    /// where the snippet is.
    pub async fn settings(&self, scope: &TenantScope) -> Result<ConversionSettings> {
        let row = store::keys_of(&self.db, scope.org_id()).await?;
        let now = self.clock.now();
        Ok(ConversionSettings {
            signing_secret: row.as_ref().and_then(|r| {
                Some(SecretInfo {
                    key_id: r.secret_id.clone()?,
                    created_at: r.secret_created_at?,
                })
            }),
            previous_secret: row.as_ref().and_then(|r| r.previous(now)),
            site: row.as_ref().and_then(KeysRow::site),
            attribution_window_days: self.config.attribution_window_days,
            snippet_url: SNIPPET_PATH.to_owned(),
        })
    }

    /// Creates the signing secret, or replaces it: the new one is shown in
    /// this answer only and stored encrypted; the one it replaces keeps
    /// verifying for `previous_secret_grace_hours`.
    pub async fn rotate_secret(&self, p: &Principal, meta: &RequestMeta) -> Result<NewSecret> {
        let org = p.scope.org_id();
        let now = self.clock.now();
        let key_id = format!("ckey_{}", kiki_credentials::random_urlsafe(16));
        let secret = format!("csec_{}", kiki_credentials::random_urlsafe(43));
        let sealed = self
            .keyring
            .try_encrypt(secret.as_bytes(), &Self::aad(org, "secret"))?;
        let grace = time::Duration::hours(i64::from(self.config.previous_secret_grace_hours));
        let current = store::keys_of(&self.db, org).await?;
        // The replaced secret moves to the other column: re-sealed under
        // that column's associated data.
        let previous = match current {
            Some(KeysRow {
                secret_id: Some(id),
                secret: Some(stored),
                ..
            }) if grace > time::Duration::ZERO => {
                let plain = self
                    .keyring
                    .decrypt_str(&stored, &Self::aad(org, "secret"))?;
                let resealed = self
                    .keyring
                    .try_encrypt(plain.as_bytes(), &Self::aad(org, "previous_secret"))?;
                Some((id, resealed, now + grace))
            }
            _ => None,
        };
        let actor = p.actor();
        let by = actor_text(&actor);
        let mut tx = self.record.begin().await?;
        store::put_secret(
            &mut tx,
            org,
            &SecretWrite {
                secret_id: &key_id,
                secret: &sealed,
                previous: previous
                    .as_ref()
                    .map(|(id, s, until)| (id.as_str(), s.as_str(), *until)),
            },
            &by,
            now,
        )
        .await?;
        tx.audit(
            audit_event(org, actor, "conversions.secret.rotated", meta)
                .target("conversion_secret", &key_id)
                .details(json!({
                    "key_id": key_id,
                    "previous_key_id": previous.as_ref().map(|(id, _, _)| id),
                })),
        )
        .await?;
        tx.commit().await?;
        Ok(NewSecret {
            key_id,
            secret,
            created_at: now,
            previous_secret: previous
                .map(|(key_id, _, expires_at)| PreviousSecret { key_id, expires_at }),
        })
    }

    /// Sets the origins the snippet may report from, issuing the site key
    /// the first time (or a new one when asked; the old one stops at once).
    pub async fn put_site(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        req: &SiteRequest,
    ) -> Result<SiteView> {
        let origins = req.checked().map_err(ConversionsError::Invalid)?;
        let org = p.scope.org_id();
        let now = self.clock.now();
        let current = store::keys_of(&self.db, org).await?.and_then(|r| r.site());
        let (site_key, created_at, issued) = match current {
            Some(s) if !req.rotate_key => (s.site_key, s.created_at, false),
            _ => (
                format!("site_{}", kiki_credentials::random_urlsafe(24)),
                now,
                true,
            ),
        };
        let actor = p.actor();
        let by = actor_text(&actor);
        let mut tx = self.record.begin().await?;
        store::put_site(&mut tx, org, (&site_key, created_at), &origins, &by, now).await?;
        tx.audit(
            audit_event(org, actor, "conversions.site.updated", meta)
                .target("conversion_site", org.0)
                .details(json!({"allowed_origins": origins, "new_site_key": issued})),
        )
        .await?;
        tx.commit().await?;
        Ok(SiteView {
            site_key,
            allowed_origins: origins,
            created_at,
        })
    }

    /// The reporter of a postback signed with `X-Kiki-Signature: key=<key
    /// id>,t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the
    /// organisation whose current (or recently rotated) secret signs `body`,
    /// at a time within `signature_tolerance_secs` of the server's.
    pub async fn authenticate_signature(&self, header: &str, body: &[u8]) -> Result<Reporter> {
        let h = parse_signature(header).ok_or_else(|| {
            ConversionsError::Unauthenticated(
                "The X-Kiki-Signature header must read `key=<key id>,t=<unix seconds>,v1=<64 hex digits>`.".into(),
            )
        })?;
        let now = self.clock.now();
        let tolerance = i64::try_from(self.config.signature_tolerance_secs).unwrap_or(i64::MAX);
        if now.unix_timestamp().abs_diff(h.t) > tolerance.unsigned_abs() {
            return Err(ConversionsError::Unauthenticated(format!(
                "The X-Kiki-Signature time is more than {tolerance} s from the server's clock; sign each request as it is sent."
            )));
        }
        let bad = || ConversionsError::Unauthenticated(BAD_SIGNATURE.into());
        let row = store::keys_by_secret_id(&self.db, &h.key_id)
            .await?
            .ok_or_else(bad)?;
        let org = OrgId(row.org_id);
        let (stored, column) = if row.secret_id.as_deref() == Some(h.key_id.as_str()) {
            (row.secret.as_deref(), "secret")
        } else if row.previous_secret_id.as_deref() == Some(h.key_id.as_str())
            && row.previous(now).is_some()
        {
            (row.previous_secret.as_deref(), "previous_secret")
        } else {
            (None, "")
        };
        let stored = stored.ok_or_else(bad)?;
        let secret = self.keyring.decrypt_str(stored, &Self::aad(org, column))?;
        if !signature_matches(&secret, &h, body) {
            return Err(bad());
        }
        Ok(Reporter {
            org,
            actor: Actor::System("conversions.postback".into()),
            source: Source::Signature,
            by: format!("signature:{}", h.key_id),
        })
    }

    /// The reporter of a conversion from the browser snippet: the
    /// organisation of `site_key`, when `origin` (the browser's `Origin`
    /// header, if any) is one of its allowed origins and its rate allows
    /// one more. Also gives the origin to allow in the answer's CORS header.
    pub async fn authenticate_site(
        &self,
        site_key: &str,
        origin: Option<&str>,
    ) -> Result<(Reporter, Option<String>)> {
        let row = store::keys_by_site_key(&self.db, site_key)
            .await?
            .ok_or_else(|| {
                ConversionsError::field(
                    "site_key",
                    "Not a site key of any organisation; copy it from `GET /v1/conversions/settings`.",
                )
            })?;
        let allowed = match origin {
            None => None,
            Some(o) => {
                let normalised = crate::domain::origin_of(o);
                match normalised.filter(|n| row.allowed_origins.0.contains(n)) {
                    Some(n) => Some(n),
                    None => {
                        return Err(ConversionsError::Forbidden(
                            "This site key does not take conversions from this page's origin; add it to the site's allowed origins.".into(),
                        ));
                    }
                }
            }
        };
        let org = OrgId(row.org_id);
        self.take_rate(org).await?;
        Ok((
            Reporter {
                org,
                actor: Actor::System("conversions.site".into()),
                source: Source::Site,
                by: "site".into(),
            },
            allowed,
        ))
    }

    /// One request of the organisation's site-key bucket: shared by every
    /// replica in Redis when it is configured, in this process otherwise.
    async fn take_rate(&self, org: OrgId) -> Result<()> {
        let per_minute = u64::from(self.config.site_rate_per_minute.max(1));
        let interval = Duration::from_micros(60_000_000 / per_minute);
        let burst = self.config.site_burst.max(1);
        let key = format!("conversions.site:{}", org.0);
        let verdict = match self.cache.rate_check(&key, interval, burst).await {
            Some(v) => v,
            None => self.take_local_rate(org, interval, burst),
        };
        verdict.map_err(|wait| ConversionsError::RateLimited {
            retry_after: wait.as_secs().max(1),
        })
    }

    /// GCRA on this process's clock: one request per `interval`, `burst`
    /// at once.
    fn take_local_rate(
        &self,
        org: OrgId,
        interval: Duration,
        burst: u32,
    ) -> std::result::Result<(), Duration> {
        let now = self.clock.now();
        let step = time::Duration::try_from(interval).unwrap_or(time::Duration::SECOND);
        let tolerance = step * i32::try_from(burst - 1).unwrap_or(i32::MAX);
        let mut buckets = self.local_rate.lock();
        let tat = buckets.get(&org).copied().unwrap_or(now).max(now);
        let ahead = tat - now;
        if ahead > tolerance {
            let wait = ahead - tolerance;
            return Err(Duration::try_from(wait).unwrap_or(Duration::from_secs(1)));
        }
        buckets.insert(org, tat + step);
        Ok(())
    }
}
