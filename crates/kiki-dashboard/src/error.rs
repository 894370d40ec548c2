//! Why a page cannot be shown, and the page that says so. The dashboard
//! answers people, not programs: a refusal is an HTML page with the right
//! status and a sentence (never the cause of an internal error, which is
//! logged), and "sign in first" is a redirect to the sign-in page.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::views::ErrorPage;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No session (or it ended): go to the sign-in page.
    #[error("Sign in to continue.")]
    SignIn,
    /// The caller's role lacks what the page or action needs.
    #[error("{0}")]
    Forbidden(String),
    /// A form without the session's CSRF token (or with another one).
    #[error(
        "This form has expired or did not come from this page. Go back, reload the page and try again."
    )]
    Csrf,
    /// The thing is not there for this caller (other tenants' included).
    #[error("{0} was not found.")]
    NotFound(&'static str),
    /// A query or form field that cannot be read; the sentence names it.
    #[error("{0}")]
    BadRequest(String),
    /// The thing is not in a state that allows this (a paused campaign
    /// paused again, an approval decided already).
    #[error("{0}")]
    Conflict(String),
    /// Anything else: logged with its cause, shown without it.
    #[error("internal: {0}")]
    Internal(String),
}

impl PageError {
    pub fn status(&self) -> StatusCode {
        match self {
            PageError::SignIn => StatusCode::SEE_OTHER,
            PageError::Forbidden(_) | PageError::Csrf => StatusCode::FORBIDDEN,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::Conflict(_) => StatusCode::CONFLICT,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            PageError::SignIn => "Sign in",
            PageError::Forbidden(_) | PageError::Csrf => "Not allowed",
            PageError::NotFound(_) => "Not found",
            PageError::BadRequest(_) => "Cannot show this page",
            PageError::Conflict(_) => "Not possible now",
            PageError::Internal(_) => "Something went wrong",
        }
    }

    fn message(&self) -> String {
        match self {
            PageError::Internal(_) => {
                "The page could not be built. The error has been logged; try again in a moment."
                    .to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl From<kiki_analytics_service::AnalyticsError> for PageError {
    fn from(e: kiki_analytics_service::AnalyticsError) -> PageError {
        use kiki_analytics_service::AnalyticsError as A;
        match e {
            A::Invalid(fields) => PageError::BadRequest(
                fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            A::Forbidden(m) => PageError::Forbidden(m),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<kiki_campaigns_service::CampaignsError> for PageError {
    fn from(e: kiki_campaigns_service::CampaignsError) -> PageError {
        use kiki_campaigns_service::CampaignsError as C;
        match e {
            C::Invalid(fields) => PageError::BadRequest(
                fields
                    .iter()
                    .map(|f| f.message.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            C::NotFound("approval") => PageError::NotFound("The approval"),
            C::NotFound("creative") => PageError::NotFound("The creative"),
            C::NotFound(_) => PageError::NotFound("The campaign"),
            C::IllegalMove(m) => PageError::Conflict(m.to_string()),
            C::Conflict(m) => PageError::Conflict(m),
            C::Refused(m) => PageError::Forbidden(m),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<kiki_twin_service::TwinServiceError> for PageError {
    fn from(e: kiki_twin_service::TwinServiceError) -> PageError {
        PageError::Internal(e.to_string())
    }
}

impl From<kiki_identity::IdentityError> for PageError {
    fn from(e: kiki_identity::IdentityError) -> PageError {
        use kiki_identity::IdentityError as I;
        match e {
            I::Unauthenticated(_) | I::MfaRequired => PageError::SignIn,
            I::MfaEnrolmentRequired => PageError::Forbidden(
                "This organisation requires two-factor authentication for owners and admins. \
                 Set it up for your account first."
                    .to_owned(),
            ),
            I::Forbidden(m) => PageError::Forbidden(m),
            I::NotFound(what) => PageError::NotFound(what),
            I::Invalid(fields) => PageError::BadRequest(
                fields
                    .iter()
                    .map(|f| f.message.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let PageError::SignIn = self {
            return crate::session::redirect("/sign-in");
        }
        if let PageError::Internal(cause) = &self {
            tracing::error!(error = %cause, "a dashboard page failed");
        }
        let page = ErrorPage {
            layout: crate::views::Layout::public(self.title()),
            heading: self.title(),
            message: self.message(),
        };
        let mut resp = crate::views::html(self.status(), page.render());
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_its_status() {
        // A `match` without a wildcard: a new variant must be listed here.
        for e in [
            PageError::SignIn,
            PageError::Forbidden("x".into()),
            PageError::Csrf,
            PageError::NotFound("x"),
            PageError::BadRequest("x".into()),
            PageError::Conflict("x".into()),
            PageError::Internal("x".into()),
        ] {
            let expected = match e {
                PageError::SignIn => 303,
                PageError::Forbidden(_) | PageError::Csrf => 403,
                PageError::NotFound(_) => 404,
                PageError::BadRequest(_) => 400,
                PageError::Conflict(_) => 409,
                PageError::Internal(_) => 500,
            };
            assert_eq!(e.status().as_u16(), expected, "{e:?}");
            assert_eq!(e.into_response().status().as_u16(), expected);
        }
    }

    #[test]
    fn an_internal_error_is_shown_without_its_cause() {
        let e = PageError::Internal("secret detail".into());
        assert!(!e.message().contains("secret"));
    }
}
