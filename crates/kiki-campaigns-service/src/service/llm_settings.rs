//! An organisation's own language model: the planner and the creative writer
//! ask it instead of the server's (`[campaigns.llm]`). The key is stored
//! field-encrypted (registered for key rotation) and never shown again; the
//! address must be a public host unless the deployment allows private
//! addresses (`campaigns.allow_private_pages`, refused in production), so an
//! organisation cannot point the server at its own network.

use std::net::IpAddr;

use kiki_core::FieldError;
use secrecy::SecretString;

use super::*;
use crate::store::llm::LlmRow;

const TABLE: &str = "campaign_llm_settings";

impl CampaignsService {
    /// The model the organisation's requests use: its own, else the server's.
    pub(crate) async fn llm_for(
        &self,
        scope: &TenantScope,
    ) -> Result<Option<Arc<kiki_llm::LlmClient>>> {
        let org = scope.org_id();
        let Some(row) = store::llm::get(&self.db, org).await? else {
            return Ok(self.server_llm());
        };
        let mut c = kiki_llm::LlmConfig::new(row.base_url.clone(), row.model.clone());
        c.api_key = match &row.api_key {
            Some(stored) => Some(SecretString::from(
                self.keyring
                    .decrypt_str(stored, &kiki_shield::aad(TABLE, "api_key", org.0))
                    .map_err(|e| CampaignsError::Internal(format!("model key of {org:?}: {e}")))?,
            )),
            None => None,
        };
        c.json_mode = row.json_mode;
        c.image_model = row.image_model.clone();
        if let Some(server) = &self.config.llm {
            c.timeout = std::time::Duration::from_secs(server.timeout_secs);
        }
        let client = kiki_llm::LlmClient::new(self.outbound.clone(), c)
            .map_err(|e| CampaignsError::field("base_url", e.to_string()))?;
        Ok(Some(Arc::new(client)))
    }

    /// `GET /v1/campaign-settings/llm`.
    pub async fn llm_settings(&self, scope: &TenantScope) -> Result<LlmSettingsView> {
        if let Some(row) = store::llm::get(&self.db, scope.org_id()).await? {
            return Ok(LlmSettingsView {
                source: "organisation".into(),
                base_url: Some(row.base_url),
                model: Some(row.model),
                api_key_set: row.api_key.is_some(),
                json_mode: row.json_mode,
                image_model: row.image_model,
                updated_by: Some(row.updated_by),
                updated_at: Some(row.updated_at),
            });
        }
        Ok(match &self.config.llm {
            Some(s) => LlmSettingsView {
                source: "server".into(),
                base_url: Some(s.base_url.clone()),
                model: Some(s.model.clone()),
                api_key_set: s.api_key.is_some(),
                json_mode: s.json_mode,
                image_model: s.image_model.clone(),
                updated_by: None,
                updated_at: None,
            },
            None => LlmSettingsView {
                source: "none".into(),
                base_url: None,
                model: None,
                api_key_set: false,
                json_mode: true,
                image_model: None,
                updated_by: None,
                updated_at: None,
            },
        })
    }

    /// Checks the model's address: http(s) with a host that resolves to
    /// public addresses only (unless private addresses are allowed).
    async fn checked_base_url(&self, raw: &str) -> Result<String> {
        let bad = |m: String| CampaignsError::field("base_url", m);
        if !base_url_shape_ok(raw) {
            return Err(bad(
                "An http or https address with a host name such as https://api.openai.com/v1 (no credentials in it).".into(),
            ));
        }
        let url = reqwest::Url::parse(kiki_core::trim_schema(raw))
            .map_err(|_| bad("Not a web address.".into()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("An http or https address.".into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("Put the key in `api_key`, not in the address.".into()));
        }
        let host = url
            .host_str()
            .ok_or_else(|| bad("The address has no host.".into()))?
            .to_owned();
        if !self.config.allow_private_pages {
            let port = url.port_or_known_default().unwrap_or(443);
            let addrs: Vec<IpAddr> = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
                .await
                .map_err(|_| bad(format!("The host {host} could not be resolved.")))?
                .map(|a| a.ip())
                .collect();
            if addrs.is_empty() || addrs.iter().any(|ip| super::plan::is_internal(*ip)) {
                return Err(bad(format!(
                    "{host} is on a private or local network; an organisation's model must be on a public host."
                )));
            }
        }
        Ok(url.as_str().trim_end_matches('/').to_owned())
    }

    /// `PUT /v1/campaign-settings/llm`.
    pub async fn put_llm_settings(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        req: LlmSettingsRequest,
    ) -> Result<LlmSettingsView> {
        let org = p.scope.org_id();
        let mut errors = Vec::new();
        let text = |errors: &mut Vec<FieldError>, field: &str, v: &str, max: usize| {
            if kiki_core::trim_schema(v).is_empty() || v.chars().count() > max {
                errors.push(FieldError::new(
                    field,
                    format!("1 to {max} characters, not only spaces."),
                ));
            }
        };
        text(&mut errors, "model", &req.model, 200);
        if let Some(m) = &req.image_model {
            text(&mut errors, "image_model", m, 200);
        }
        if let Some(k) = &req.api_key
            && (k.is_empty()
                || k.chars().count() > 500
                || k.chars().any(kiki_core::is_schema_space))
        {
            errors.push(FieldError::new(
                "api_key",
                "1 to 500 characters without spaces.",
            ));
        }
        if req.base_url.chars().count() > 2_048 {
            errors.push(FieldError::new("base_url", "At most 2048 characters."));
        }
        if !errors.is_empty() {
            return Err(CampaignsError::Invalid(errors));
        }
        let base_url = self.checked_base_url(&req.base_url).await?;
        let previous = store::llm::get(&self.db, org).await?;
        let api_key = match &req.api_key {
            Some(k) => Some(
                self.keyring
                    .try_encrypt(k.as_bytes(), &kiki_shield::aad(TABLE, "api_key", org.0))
                    .map_err(|e| {
                        CampaignsError::Internal(format!("encrypting a model key: {e}"))
                    })?,
            ),
            None => previous.as_ref().and_then(|r| r.api_key.clone()),
        };
        let actor = p.actor();
        let row = LlmRow {
            base_url,
            model: kiki_core::trim_schema(&req.model).to_owned(),
            api_key,
            json_mode: req.json_mode,
            image_model: req
                .image_model
                .map(|m| kiki_core::trim_schema(&m).to_owned()),
            updated_by: actor_text(&actor),
            updated_at: self.now(),
        };
        let mut tx = self.record.begin().await?;
        store::llm::put(&mut tx, org, &row).await?;
        tx.audit(
            audit_event(org, actor, "campaigns.llm_settings.set", Some(meta))
                .target("campaign_llm_settings", org.0)
                .details(json!({
                    "base_url": row.base_url,
                    "model": row.model,
                    "api_key_changed": req.api_key.is_some(),
                    "json_mode": row.json_mode,
                    "image_model": row.image_model,
                })),
        )
        .await?;
        tx.commit().await?;
        self.llm_settings(&p.scope).await
    }

    /// `DELETE /v1/campaign-settings/llm`: back to the server's model (or the
    /// rules). 404 when the organisation had none of its own.
    pub async fn delete_llm_settings(&self, p: &Principal, meta: &RequestMeta) -> Result<()> {
        let org = p.scope.org_id();
        let mut tx = self.record.begin().await?;
        if !store::llm::delete(&mut tx, org).await? {
            return Err(CampaignsError::NotFound("organisation model"));
        }
        tx.audit(
            audit_event(org, p.actor(), "campaigns.llm_settings.removed", Some(meta))
                .target("campaign_llm_settings", org.0),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The shape the API document states for `base_url`: `http(s)://`, a host of
/// dotted labels or `localhost`, an optional port up to 65535, an
/// optional path starting with `/` and without spaces.
fn base_url_shape_ok(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else {
        return false;
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if path.chars().any(kiki_core::is_schema_space) {
        return false;
    }
    let (host, port) = match authority.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if let Some(p) = port
        && (!(1..=5).contains(&p.len())
            || !p.bytes().all(|b| b.is_ascii_digit())
            || p.parse::<u16>().is_err())
    {
        return false;
    }
    let label =
        |l: &str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    host == "localhost" || (host.contains('.') && host.split('.').all(label))
}

#[cfg(test)]
mod tests {
    use super::base_url_shape_ok;

    #[test]
    fn the_address_shape_is_the_documented_one() {
        for ok in [
            "https://api.openai.com/v1",
            "http://localhost:11434/v1",
            "http://10.0.0.5/v1",
            "https://models.example",
        ] {
            assert!(base_url_shape_ok(ok), "{ok}");
        }
        for bad in [
            "ftp://models.example",
            "https://user:pw@api.example/v1",
            "http://\u{e5}\u{da}",
            "https://.example",
            "https://api.example:65536",
            "https://api.example/a b",
        ] {
            assert!(!base_url_shape_ok(bad), "{bad}");
        }
    }
}
