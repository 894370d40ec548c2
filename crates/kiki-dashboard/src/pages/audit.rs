//! `/app/audit` (`audit.read`, like `GET /v1/audit`): the active
//! organisation's audit log, newest first, filtered by action (exact, or a
//! prefix ending in `*`), actor (a member or an API key), target and a range
//! of days (UTC), paged with the audit log's own cursor; each entry opens to
//! its detail (request, masked address, facts, hashes) without script. The
//! hash chain is verified on request (it reads the whole chain, so not on
//! every view) and the result shown. `/app/audit.csv` exports the matching
//! entries, at most [`CSV_MAX`] of them, with the same permission and the
//! same columns as `GET /v1/audit?format=csv`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kiki_core::{OrgId, Page, PageRequest};
use kiki_identity::Permission;
use kiki_server::AppState;
use kiki_shield::{AuditEntry, AuditFilter, ShieldError};
use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime};

use crate::error::PageError;
use crate::pages::settings::{Problems, frame, href, open, org_param, query, when};
use crate::session::Viewer;
use crate::views::{Choice, Layout, html};

/// Entries per page.
pub const ROWS: u32 = 50;
/// The most entries one CSV export holds (the API's bound too).
pub const CSV_MAX: usize = 100_000;

/// The page's address.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub struct AuditQuery {
    pub org: String,
    pub action: String,
    pub actor: String,
    pub target_kind: String,
    pub target_id: String,
    /// First day, `YYYY-MM-DD` (UTC), inclusive.
    pub from: String,
    /// Last day, `YYYY-MM-DD` (UTC), inclusive.
    pub to: String,
    pub cursor: String,
    /// `1`: verify the hash chain.
    pub verify: String,
}

impl AuditQuery {
    /// The filters as query pairs (no cursor, no verification).
    fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("action", &self.action),
            ("actor", &self.actor),
            ("target_kind", &self.target_kind),
            ("target_id", &self.target_id),
            ("from", &self.from),
            ("to", &self.to),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k, v.trim().to_owned()))
        .collect()
    }

    fn link(&self, path: &str, org: Option<OrgId>, extra: &[(&str, &str)]) -> String {
        let pairs = self.pairs();
        let mut all: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.extend_from_slice(extra);
        href(path, org, &all)
    }
}

fn day(field: &str, s: &str) -> Result<Option<Date>, (String, String)> {
    match s.trim() {
        "" => Ok(None),
        s => crate::range::parse_date(field, s)
            .map(Some)
            .map_err(|_| (field.to_owned(), "Enter a date as YYYY-MM-DD.".to_owned())),
    }
}

/// The audit log's filter from the page's address, or the problems with it.
pub fn filter_of(q: &AuditQuery) -> Result<AuditFilter, Problems> {
    let mut p = Problems::default();
    let from = day("from", &q.from).unwrap_or_else(|(f, m)| {
        p.fields.insert(f, m);
        None
    });
    let to = day("to", &q.to).unwrap_or_else(|(f, m)| {
        p.fields.insert(f, m);
        None
    });
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        p.fields.insert(
            "to".into(),
            "The last day must not be before the first.".into(),
        );
    }
    if !p.is_empty() {
        return Err(p);
    }
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(AuditFilter {
        actor_id: text(&q.actor),
        action: text(&q.action),
        target_kind: text(&q.target_kind),
        target_id: text(&q.target_id),
        from: from.map(|d| d.midnight().assume_utc()),
        // The last day counts whole: entries before the next midnight.
        to: to.map(|d| (d + Duration::days(1)).midnight().assume_utc()),
    })
}

fn shield_error(e: ShieldError) -> PageError {
    use kiki_core::DomainError as _;
    // A cursor this page did not issue, or another value the log refuses.
    if e.code() == kiki_core::ErrorCode::ValidationFailed {
        PageError::BadRequest(e.public_message())
    } else {
        PageError::Internal(e.to_string())
    }
}

/// One entry of the list.
#[derive(Debug, Clone)]
pub struct EntryRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub ip: String,
    pub user_agent: String,
    pub request_id: String,
    /// The entry's facts as indented JSON.
    pub details: String,
    pub hash: String,
    pub prev_hash: String,
}

/// The chain check's result in words.
#[derive(Debug, Clone)]
pub struct ChainView {
    pub ok: bool,
    pub text: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub org: Option<String>,
    pub q: AuditQuery,
    pub actors: Vec<Choice>,
    pub problems: Problems,
    pub rows: Vec<EntryRow>,
    pub first_href: Option<String>,
    pub next_href: Option<String>,
    pub csv_href: String,
    pub verify_href: String,
    pub reset_href: String,
    pub chain: Option<ChainView>,
}

/// Names for the ids in the log: members and (when the viewer manages
/// them) API keys of the organisation.
async fn names(app: &AppState, viewer: &Viewer) -> Result<Vec<(String, String)>, PageError> {
    let scope = &viewer.principal.scope;
    let mut out: Vec<(String, String)> = app
        .identity
        .list_members(scope)
        .await?
        .into_iter()
        .map(|m| {
            let name = if m.display_name.trim().is_empty() {
                m.email
            } else {
                format!("{} ({})", m.display_name, m.email)
            };
            (m.user_id.0.to_string(), name)
        })
        .collect();
    if viewer.can(Permission::ApiKeyManage) {
        out.extend(
            app.identity
                .list_api_keys(scope)
                .await?
                .into_iter()
                .map(|k| (k.id.to_string(), format!("API key “{}”", k.name))),
        );
    }
    Ok(out)
}

fn row(e: &AuditEntry, names: &HashMap<&str, &str>, viewer: &Viewer) -> EntryRow {
    let me = viewer.principal.user_id().map(|u| u.0.to_string());
    let actor = match (e.actor_kind.as_str(), e.actor_id.as_deref()) {
        (_, Some(id)) if me.as_deref() == Some(id) => "You".to_owned(),
        (_, Some(id)) if names.contains_key(id) => names[id].to_owned(),
        ("system", Some(id)) => format!("KIKI ({id})"),
        ("anonymous", _) | (_, None) => "Someone not signed in".to_owned(),
        (kind, Some(id)) => format!("{kind} {id}"),
    };
    let target = match (e.target_kind.as_deref(), e.target_id.as_deref()) {
        (Some(k), Some(id)) => match names.get(id) {
            Some(n) => format!("{k} {n}"),
            None => format!("{k} {id}"),
        },
        (Some(k), None) => k.to_owned(),
        _ => "—".to_owned(),
    };
    EntryRow {
        seq: e.seq,
        at: when(e.occurred_at),
        actor,
        action: e.action.clone(),
        target,
        ip: e.ip.clone().unwrap_or_else(|| "—".into()),
        user_agent: e.user_agent.clone().unwrap_or_else(|| "—".into()),
        request_id: e.request_id.clone().unwrap_or_else(|| "—".into()),
        details: serde_json::to_string_pretty(&e.details).unwrap_or_default(),
        hash: e.hash.clone(),
        prev_hash: e.prev_hash.clone(),
    }
}

fn chain_view(r: &kiki_shield::ChainReport) -> ChainView {
    match &r.first_broken {
        None if r.ok => ChainView {
            ok: true,
            text: format!(
                "The chain is intact: {} entries checked, each linked to the one before by its hash.",
                r.entries_checked
            ),
        },
        Some(b) => ChainView {
            ok: false,
            text: format!(
                "The chain is broken at entry #{}: {} ({} entries checked.)",
                b.seq, b.message, r.entries_checked
            ),
        },
        None => ChainView {
            ok: false,
            text: format!(
                "The chain did not verify ({} entries checked).",
                r.entries_checked
            ),
        },
    }
}

/// `GET /app/audit`.
pub async fn page(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let q: AuditQuery = query(raw.as_deref())?;
    let org = org_param(&q.org)?;
    let viewer = open(&app, &headers, org, Some(Permission::AuditRead)).await?;
    let scope = &viewer.principal.scope;
    let known = names(&app, &viewer).await?;
    let lookup: HashMap<&str, &str> = known
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (status, problems, rows, next_href) = match filter_of(&q) {
        Ok(filter) => {
            let req = PageRequest {
                limit: Some(ROWS),
                cursor: Some(q.cursor.trim().to_owned()).filter(|c| !c.is_empty()),
            };
            let Page { items, next_cursor } = app
                .audit
                .list(scope, &filter, &req)
                .await
                .map_err(shield_error)?;
            let next = next_cursor.map(|c| q.link("/app/audit", org, &[("cursor", &c)]));
            (
                StatusCode::OK,
                Problems::default(),
                items
                    .iter()
                    .map(|e| row(e, &lookup, &viewer))
                    .collect::<Vec<_>>(),
                next,
            )
        }
        Err(p) => (StatusCode::BAD_REQUEST, p, Vec::new(), None),
    };
    let chain = if q.verify == "1" {
        let report = app.audit.verify_for(scope).await.map_err(shield_error)?;
        Some(chain_view(&report))
    } else {
        None
    };
    let mut actors = vec![Choice {
        value: String::new(),
        label: "Anyone".into(),
        selected: q.actor.trim().is_empty(),
    }];
    if !q.actor.trim().is_empty() && !lookup.contains_key(q.actor.trim()) {
        actors.push(Choice {
            value: q.actor.trim().to_owned(),
            label: q.actor.trim().to_owned(),
            selected: true,
        });
    }
    actors.extend(known.iter().map(|(id, name)| Choice {
        value: id.clone(),
        label: name.clone(),
        selected: q.actor.trim() == id,
    }));
    let mut layout = Layout::public("Audit log");
    layout.chrome = Some(frame(&app, &viewer, "audit", org));
    let page = AuditPage {
        layout,
        org: org.map(|o| o.0.to_string()),
        first_href: (!q.cursor.trim().is_empty()).then(|| q.link("/app/audit", org, &[])),
        next_href,
        csv_href: q.link("/app/audit.csv", org, &[]),
        verify_href: q.link("/app/audit", org, &[("verify", "1")]),
        reset_href: href("/app/audit", org, &[]),
        q,
        actors,
        problems,
        rows,
        chain,
    };
    Ok(html(status, page.render()))
}

/// `GET /app/audit.csv`: the matching entries as CSV (at most [`CSV_MAX`]).
pub async fn csv(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let q: AuditQuery = query(raw.as_deref())?;
    let org = org_param(&q.org)?;
    let viewer = open(&app, &headers, org, Some(Permission::AuditRead)).await?;
    let filter = filter_of(&q).map_err(|p| {
        PageError::BadRequest(
            p.fields
                .iter()
                .map(|(f, m)| format!("`{f}`: {m}"))
                .collect::<Vec<_>>()
                .join(" "),
        )
    })?;
    let mut entries: Vec<AuditEntry> = Vec::new();
    let mut cursor = None;
    loop {
        let req = PageRequest {
            limit: Some(kiki_core::page::MAX_LIMIT),
            cursor,
        };
        let Page { items, next_cursor } = app
            .audit
            .list(&viewer.principal.scope, &filter, &req)
            .await
            .map_err(shield_error)?;
        entries.extend(items);
        match next_cursor {
            Some(c) if entries.len() < CSV_MAX => cursor = Some(c),
            _ => break,
        }
    }
    entries.truncate(CSV_MAX);
    let mut buf = Vec::new();
    kiki_shield::write_csv(&mut buf, &entries).map_err(shield_error)?;
    let stamp = when_file(app.clock.now());
    let mut resp = buf.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"audit-{stamp}.csv\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

fn when_file(t: OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year][month][day]-[hour][minute]");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn q(from: &str, to: &str) -> AuditQuery {
        AuditQuery {
            from: from.into(),
            to: to.into(),
            ..AuditQuery::default()
        }
    }

    #[test]
    fn a_range_of_days_covers_the_last_day_whole() {
        let f = filter_of(&q("2026-03-01", "2026-03-02")).unwrap();
        assert_eq!(f.from, Some(datetime!(2026-03-01 00:00 UTC)));
        assert_eq!(f.to, Some(datetime!(2026-03-03 00:00 UTC)));
        let none = filter_of(&AuditQuery {
            action: " auth.* ".into(),
            ..AuditQuery::default()
        })
        .unwrap();
        assert_eq!(none.action.as_deref(), Some("auth.*"));
        assert_eq!(none.from, None);
    }

    #[test]
    fn unreadable_or_reversed_days_are_named() {
        let p = filter_of(&q("yesterday", "")).unwrap_err();
        assert!(p.has("from"));
        let p = filter_of(&q("2026-03-02", "2026-03-01")).unwrap_err();
        assert!(p.has("to") && !p.has("from"));
    }

    #[test]
    fn links_keep_the_filters_but_not_the_page() {
        let mut query = q("2026-03-01", "");
        query.action = "member.*".into();
        query.cursor = "abc".into();
        assert_eq!(
            query.link("/app/audit.csv", None, &[]),
            "/app/audit.csv?action=member.*&from=2026-03-01"
        );
    }
}
