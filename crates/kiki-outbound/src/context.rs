//! The request context that follows a request into the outbound calls it makes:
//! the edge stores the request id and the inbound `traceparent` in a task-local,
//! and the outbound client copies them onto every call (preferring the current
//! OpenTelemetry span's context when an exporter is active).

use std::future::Future;

use opentelemetry::trace::TraceContextExt;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// What the edge knows about the request being served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    pub request_id: String,
    /// The W3C trace context received with the request, if any.
    pub traceparent: Option<String>,
}

tokio::task_local! {
    static CONTEXT: RequestContext;
}

/// Runs `f` with `ctx` as the current request context.
pub async fn with_context<F: Future>(ctx: RequestContext, f: F) -> F::Output {
    CONTEXT.scope(ctx, f).await
}

/// The context of the request being served, if this task serves one.
pub fn current_context() -> Option<RequestContext> {
    CONTEXT.try_with(Clone::clone).ok()
}

/// The request id of the request being served, if any.
pub fn current_request_id() -> Option<String> {
    CONTEXT.try_with(|c| c.request_id.clone()).ok()
}

/// A `traceparent` for an outbound call: the current span's context when an
/// OpenTelemetry layer is recording, else the inbound header passed through.
pub fn outbound_traceparent() -> Option<String> {
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    if sc.is_valid() {
        return Some(format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        ));
    }
    CONTEXT.try_with(|c| c.traceparent.clone()).ok().flatten()
}

pub(crate) struct PropagateContext;

#[async_trait::async_trait]
impl Middleware for PropagateContext {
    async fn handle(
        &self,
        mut req: Request,
        ext: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let headers = req.headers_mut();
        if let Some(id) = current_request_id()
            && let Ok(v) = http::HeaderValue::from_str(&id)
        {
            headers.insert("x-request-id", v);
        }
        if let Some(tp) = outbound_traceparent()
            && let Ok(v) = http::HeaderValue::from_str(&tp)
        {
            headers.insert("traceparent", v);
        }
        next.run(req, ext).await
    }
}
