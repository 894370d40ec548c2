//! Replacing an organisation's segment values and members: every field
//! checked (names unique and 1–200 characters, LTV not negative and in the
//! bidder currency, each user in one listed segment), then one transaction
//! writes them with their audit entry, and `bidder.segments_changed` tells
//! every replica to reload.

use std::collections::HashSet;

use kiki_core::FieldError;

use crate::events::SegmentsChanged;
use crate::service::BidderService;
use crate::service::line_items::{ChangedBy, LineItemError};
use crate::store::{self, SegmentMember, SegmentValue};

/// Most segments one replacement may carry.
pub const MAX_SEGMENTS: usize = 10_000;
/// Most members one replacement may carry.
pub const MAX_MEMBERS: usize = 200_000;
/// Field errors reported at most (the rest are the same mistakes again).
const MAX_REPORTED: usize = 50;

impl BidderService {
    /// Replaces the organisation's segments and members; the bid path uses
    /// them after the next snapshot refresh (at once on this replica's event).
    pub async fn replace_segments(
        &self,
        by: ChangedBy<'_>,
        segments: &[SegmentValue],
        members: &[SegmentMember],
    ) -> Result<(), LineItemError> {
        let errs = self.segment_problems(segments, members);
        if !errs.is_empty() {
            return Err(LineItemError::Invalid(errs));
        }
        let org = by.scope.org_id();
        let now = self.clock.now();
        let mut tx = self.record.begin().await?;
        store::replace_segments(&mut tx, org, segments, members, now).await?;
        tx.audit(by.audit_of(
            "bidder.segments.replaced",
            "bidder_segments",
            serde_json::json!({ "segments": segments.len(), "members": members.len() }),
        ))
        .await?;
        tx.publish(
            Some(org),
            &SegmentsChanged {
                segments: segments.len(),
                source: None,
            },
        );
        tx.commit().await?;
        Ok(())
    }

    fn segment_problems(
        &self,
        segments: &[SegmentValue],
        members: &[SegmentMember],
    ) -> Vec<FieldError> {
        let mut errs = Vec::new();
        if segments.len() > MAX_SEGMENTS {
            errs.push(FieldError::new(
                "segments",
                format!("At most {MAX_SEGMENTS} segments."),
            ));
        }
        if members.len() > MAX_MEMBERS {
            errs.push(FieldError::new(
                "members",
                format!("At most {MAX_MEMBERS} members."),
            ));
        }
        let cur = self.cfg.engine.currency;
        let mut names = HashSet::new();
        for (i, s) in segments.iter().enumerate() {
            if s.segment.trim().is_empty() || s.segment.chars().count() > 200 {
                errs.push(FieldError::new(
                    format!("segments[{i}].segment"),
                    "A segment name of 1 to 200 characters.",
                ));
            }
            if !names.insert(s.segment.as_str()) {
                errs.push(FieldError::new(
                    format!("segments[{i}].segment"),
                    "Listed twice.",
                ));
            }
            if s.ltv.micros < 0 {
                errs.push(FieldError::new(
                    format!("segments[{i}].ltv"),
                    "Must not be negative.",
                ));
            }
            if s.ltv.currency != cur {
                errs.push(FieldError::new(
                    format!("segments[{i}].ltv.currency"),
                    format!("Must be the bidder currency {cur}."),
                ));
            }
        }
        let mut users = HashSet::new();
        for (i, m) in members.iter().enumerate() {
            if m.user.is_empty() || m.user.chars().count() > 256 {
                errs.push(FieldError::new(
                    format!("members[{i}].user"),
                    "A user key of 1 to 256 characters.",
                ));
            } else if !users.insert(m.user.as_str()) {
                errs.push(FieldError::new(
                    format!("members[{i}].user"),
                    "Listed twice: a user belongs to one segment.",
                ));
            }
            if !names.contains(m.segment.as_str()) {
                errs.push(FieldError::new(
                    format!("members[{i}].segment"),
                    "Not one of `segments`.",
                ));
            }
            if errs.len() > MAX_REPORTED {
                break;
            }
        }
        errs
    }
}
