//! Keep-alive after an early answer. A handler (or the auth, rate-limit or
//! permission check in front of it) may answer before it reads the request
//! body; HTTP/1.1 then cannot reuse the connection, because the unread bytes
//! would be taken for the next request, so hyper closes it once the answer
//! is written. Without a `Connection: close` header a pooled client does not
//! know, and its next request on that connection fails. This module tracks
//! whether the body reached its end and, when it did not, says
//! `Connection: close` on the answer (RFC 9112 §9.6), so the client opens a
//! new connection instead of losing a request.
//!
//! The edge stack applies it as a layer ([`close_if_body_unread`]); a server
//! outside the router (the bidder's exchange listener) uses the same pair,
//! [`watch_body`] before its handler and [`BodyWatch::finish`] after it.

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
    if !body_pending(&req) {
        return next.run(req).await;
    }
    let (req, watch) = watch_body(req);
    let mut resp = next.run(req.map(Body::new)).await;
    watch.finish(&mut resp);
    resp
}

/// True for an HTTP/1 request with a body still to read: the only kind whose
/// unread bytes can spoil the connection.
pub fn body_pending<B: HttpBody>(req: &axum::http::Request<B>) -> bool {
    req.version() <= Version::HTTP_11 && !req.body().is_end_stream()
}

/// Wraps the request's body so that reading it to its end is recorded; the
/// [`BodyWatch`] then marks the answer. A request without a pending body
/// (see [`body_pending`]) is passed through and its watch does nothing.
pub fn watch_body<B: HttpBody>(
    req: axum::http::Request<B>,
) -> (axum::http::Request<Tracked<B>>, BodyWatch) {
    let flag = body_pending(&req).then(|| Arc::new(AtomicBool::new(false)));
    let watch = BodyWatch(flag.clone());
    (
        req.map(move |inner| Tracked {
            inner,
            finished: flag,
        }),
        watch,
    )
}

/// Whether a watched request body was read to its end.
#[derive(Debug)]
pub struct BodyWatch(Option<Arc<AtomicBool>>);

impl BodyWatch {
    /// Says `Connection: close` on `resp` when the body was not read to its end.
    pub fn finish<B>(self, resp: &mut axum::http::Response<B>) {
        if let Some(flag) = self.0
            && !flag.load(Ordering::Acquire)
        {
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
}

/// A request body that records when it has been read to its end.
#[derive(Debug)]
pub struct Tracked<B> {
    inner: B,
    finished: Option<Arc<AtomicBool>>,
}

impl<B> HttpBody for Tracked<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Some(flag) = &self.finished {
            match &polled {
                Poll::Ready(None) => flag.store(true, Ordering::Release),
                Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => {
                    flag.store(true, Ordering::Release)
                }
                _ => {}
            }
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
