//! What the campaigns service can fail with, and its public face
//! ([`DomainError`]) that the HTTP edge answers with.

use kiki_campaigns::IllegalMove;
use kiki_core::{DomainError, ErrorCode, FieldError, INTERNAL_MESSAGE};
use kiki_explain::ExplainError;
use kiki_shield::ShieldError;
use kiki_store::StoreError;
use kiki_twin_service::TwinServiceError;

#[derive(Debug, thiserror::Error)]
pub enum CampaignsError {
    /// Input failed validation; each entry names a JSON path.
    #[error("The input is invalid ({} fields).", .0.len())]
    Invalid(Vec<FieldError>),
    /// No such resource in the caller's organisation.
    #[error("The {0} was not found.")]
    NotFound(&'static str),
    /// A status move the campaign's status does not allow (409, listing the
    /// allowed actions).
    #[error(transparent)]
    IllegalMove(#[from] IllegalMove),
    /// The resource is not in a state that allows this.
    #[error("{0}")]
    Conflict(String),
    /// The caller holds the permission but a rule refuses them (four-eyes).
    #[error("{0}")]
    Refused(String),
    /// The launch gate's simulation failed.
    #[error(transparent)]
    Twin(#[from] TwinServiceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Shield(#[from] ShieldError),
    #[error(transparent)]
    Explain(#[from] ExplainError),
    /// A bug or a corrupt row; logged, never shown.
    #[error("{0}")]
    Internal(String),
}

impl CampaignsError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        CampaignsError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl DomainError for CampaignsError {
    fn code(&self) -> ErrorCode {
        match self {
            CampaignsError::Invalid(_) => ErrorCode::ValidationFailed,
            CampaignsError::NotFound(_) => ErrorCode::NotFound,
            CampaignsError::IllegalMove(_) | CampaignsError::Conflict(_) => ErrorCode::Conflict,
            CampaignsError::Refused(_) => ErrorCode::Forbidden,
            CampaignsError::Twin(e) => e.code(),
            CampaignsError::Store(e) => e.code(),
            CampaignsError::Shield(e) => e.code(),
            CampaignsError::Explain(e) => e.code(),
            CampaignsError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn public_message(&self) -> String {
        match self {
            CampaignsError::Invalid(fields) => kiki_core::fields_message(fields),
            CampaignsError::NotFound(_)
            | CampaignsError::IllegalMove(_)
            | CampaignsError::Conflict(_)
            | CampaignsError::Refused(_) => self.to_string(),
            CampaignsError::Twin(e) => e.public_message(),
            CampaignsError::Store(e) => e.public_message(),
            CampaignsError::Shield(e) => e.public_message(),
            CampaignsError::Explain(e) => e.public_message(),
            CampaignsError::Internal(_) => INTERNAL_MESSAGE.to_owned(),
        }
    }

    fn details(&self) -> serde_json::Value {
        match self {
            CampaignsError::Invalid(fields) => kiki_core::field_details(fields),
            CampaignsError::IllegalMove(m) => serde_json::json!({
                "status": m.from,
                "action": m.action,
                "allowed": m.allowed,
            }),
            CampaignsError::Twin(e) => e.details(),
            CampaignsError::Store(e) => e.details(),
            CampaignsError::Shield(e) => e.details(),
            CampaignsError::Explain(e) => e.details(),
            CampaignsError::NotFound(_)
            | CampaignsError::Conflict(_)
            | CampaignsError::Refused(_)
            | CampaignsError::Internal(_) => kiki_core::no_details(),
        }
    }

    fn is_internal(&self) -> bool {
        match self {
            CampaignsError::Twin(e) => e.is_internal(),
            CampaignsError::Store(e) => e.is_internal(),
            CampaignsError::Shield(e) => e.is_internal(),
            CampaignsError::Explain(e) => e.is_internal(),
            CampaignsError::Internal(_) => true,
            _ => false,
        }
    }
}

pub type Result<T, E = CampaignsError> = std::result::Result<T, E>;

impl From<kiki_explain::RecordError> for CampaignsError {
    fn from(e: kiki_explain::RecordError) -> Self {
        match e {
            kiki_explain::RecordError::Store(e) => CampaignsError::Store(e),
            kiki_explain::RecordError::Audit(e) => CampaignsError::Shield(e),
            kiki_explain::RecordError::Decision(e) => CampaignsError::Explain(e),
        }
    }
}

impl From<serde_json::Error> for CampaignsError {
    fn from(e: serde_json::Error) -> Self {
        CampaignsError::Internal(format!("json: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_campaigns::{Action, CampaignStatus};
    use kiki_core::error::public_face_problems;

    /// One value of every variant with the status the edge answers. The
    /// match has no wildcard, so a new variant does not compile until it is
    /// listed here.
    fn every_variant() -> Vec<(CampaignsError, u16)> {
        let mut all = Vec::new();
        let mut next = Some(CampaignsError::field(
            "daily_budget",
            "Must be more than zero.",
        ));
        while let Some(e) = next.take() {
            let (status, following) = match &e {
                CampaignsError::Invalid(_) => (422, Some(CampaignsError::NotFound("campaign"))),
                CampaignsError::NotFound(_) => (
                    404,
                    Some(CampaignsError::IllegalMove(
                        kiki_campaigns::next_status(CampaignStatus::Draft, Action::Launch)
                            .unwrap_err(),
                    )),
                ),
                CampaignsError::IllegalMove(_) => (
                    409,
                    Some(CampaignsError::Conflict(
                        "The approval was decided already.".into(),
                    )),
                ),
                CampaignsError::Conflict(_) => (
                    409,
                    Some(CampaignsError::Refused(
                        "Another person must approve what you asked for.".into(),
                    )),
                ),
                CampaignsError::Refused(_) => (
                    403,
                    Some(CampaignsError::Twin(TwinServiceError::field(
                        "plan.duration_days",
                        "Must be between 1 and 366.",
                    ))),
                ),
                CampaignsError::Twin(_) => (
                    422,
                    Some(CampaignsError::Store(StoreError::UniqueViolation {
                        constraint: Some("campaigns_pkey".into()),
                    })),
                ),
                CampaignsError::Store(_) => (
                    409,
                    Some(CampaignsError::Shield(ShieldError::Invalid(
                        "The audit filter is invalid.".into(),
                    ))),
                ),
                CampaignsError::Shield(_) => (
                    422,
                    Some(CampaignsError::Explain(ExplainError::Store(
                        StoreError::Corrupt("decisions.output is not JSON".into()),
                    ))),
                ),
                CampaignsError::Explain(_) => (
                    500,
                    Some(CampaignsError::Internal("encoding json: bad key".into())),
                ),
                CampaignsError::Internal(_) => (500, None),
            };
            all.push((e, status));
            next = following;
        }
        all
    }

    #[test]
    fn every_variant_has_its_status_a_sentence_and_no_internal_text() {
        let all = every_variant();
        assert_eq!(all.len(), 10);
        for (e, status) in &all {
            let problems = public_face_problems(e, *status);
            assert!(problems.is_empty(), "{e:?}: {problems:?}");
        }
    }

    #[test]
    fn an_illegal_move_lists_the_allowed_actions() {
        let e = CampaignsError::from(
            kiki_campaigns::next_status(CampaignStatus::Draft, Action::Launch).unwrap_err(),
        );
        assert_eq!(
            e.public_message(),
            "A campaign that is draft cannot launch; allowed: submit, archive, hold."
        );
        assert_eq!(
            e.details(),
            serde_json::json!({"status": "draft", "action": "launch", "allowed": ["submit", "archive", "hold"]})
        );
    }
}
