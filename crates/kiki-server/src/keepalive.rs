//! Keep-alive after an early answer. A handler (or the auth, rate-limit or
//! permission check in front of it) may answer before it reads the request
//! body; HTTP/1.1 then cannot reuse the connection, because the unread bytes
//! would be taken for the next request, so hyper closes it once the answer
//! is written. Without a `Connection: close` header a pooled client does not
//! know, and its next request on that connection fails. This layer tracks
//! whether the body reached its end and, when it did not, says
//! `Connection: close` on the answer (RFC 9112 §9.6), so the client opens a
//! new connection instead of losing a request.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Version, header};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

/// Adds `Connection: close` to the answer of an HTTP/1 request whose body was
/// not read to its end.
pub async fn close_if_body_unread(req: Request, next: Next) -> Response {
    let http1 = req.version() <= Version::HTTP_11;
    let has_body = !req.body().is_end_stream();
    if !(http1 && has_body) {
        return next.run(req).await;
    }
    let finished = Arc::new(AtomicBool::new(false));
    let flag = finished.clone();
    let req = req.map(move |inner| {
        Body::new(Tracked {
            inner,
            finished: flag,
        })
    });
    let mut resp = next.run(req).await;
    if !finished.load(Ordering::Acquire) {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// A request body that records when it has been read to its end.
struct Tracked {
    inner: Body,
    finished: Arc<AtomicBool>,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(None) => self.finished.store(true, Ordering::Release),
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => {
                self.finished.store(true, Ordering::Release)
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
