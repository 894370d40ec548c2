//! The notifications job. `notifications.evaluate`: raises and resolves
//! what one event calls for in one organisation (queued by the listener);
//! safe to run twice (a repeat updates the open notification).

use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_store::{JobContext, JobError, JobHandler};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::NotificationsError;
use crate::service::NotificationsService;

pub const EVALUATE_KIND: &str = "notifications.evaluate";

/// The event to evaluate: its kind and payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvaluatePayload {
    pub kind: String,
    pub payload: Value,
}

/// The handler of [`EVALUATE_KIND`].
pub struct EvaluateJob(pub Arc<NotificationsService>);

impl JobHandler for EvaluateJob {
    fn kind(&self) -> &'static str {
        EVALUATE_KIND
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let Some(scope) = ctx.scope() else {
                return Err(JobError::permanent(
                    "An evaluation job needs an organisation.",
                ));
            };
            let p: EvaluatePayload = ctx.payload_as()?;
            let outcome =
                self.0
                    .evaluate(&scope, &p.kind, &p.payload)
                    .await
                    .map_err(|e| match e {
                        NotificationsError::Corrupt(_) => JobError::permanent(e.to_string()),
                        other => JobError::failed(other.to_string()),
                    })?;
            Ok(serde_json::to_value(outcome).unwrap_or(Value::Null))
        })
    }
}
