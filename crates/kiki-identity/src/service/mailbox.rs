//! The in-app outbox as people see it. Mail to a person (a password reset,
//! an invitation) is visible only to that person, signed in with the address
//! it was sent to; a platform superadmin sees every mail, in development
//! only. An organisation's owners and admins never see their members' mail.
//! Stored bodies carry secrets masked either way (see `kiki_notify`).

use kiki_core::{Page, PageRequest};
use kiki_notify::OutboxMail;

use crate::domain::types::Principal;
use crate::{Identity, IdentityError, Result};

impl Identity {
    /// Mail sent to the signed-in user's address, newest first. API keys
    /// have no mailbox (403).
    pub async fn my_mail(
        &self,
        principal: &Principal,
        page: &PageRequest,
    ) -> Result<Page<OutboxMail>> {
        let user = principal.user_id().ok_or_else(|| {
            IdentityError::Forbidden(
                "Mail is addressed to people; sign in as a user to read yours.".into(),
            )
        })?;
        let row = self
            .user_row(user)
            .await?
            .ok_or(IdentityError::NotFound("The user"))?;
        Ok(self.0.mail.list_for_recipient(&row.email, page).await?)
    }

    /// Every stored mail, newest first: for a platform superadmin when the
    /// server runs in development (`development` false refuses everyone).
    pub async fn all_mail(
        &self,
        principal: &Principal,
        development: bool,
        page: &PageRequest,
    ) -> Result<Page<OutboxMail>> {
        if !development {
            return Err(IdentityError::Forbidden(
                "Everyone's mail is shown only in development; in production each person reads their own.".into(),
            ));
        }
        if !principal.superadmin || principal.user_id().is_none() {
            return Err(IdentityError::Forbidden(
                "Only a platform operator reads everyone's mail.".into(),
            ));
        }
        Ok(self.0.mail.list_all(page).await?)
    }
}
