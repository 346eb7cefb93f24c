//! The controller-manager's small HTTP server: `/healthz`, `/readyz` and `/metrics`.
//!
//! Go serves `/healthz` on `--healthz-addr` (with pprof beside it) and `/metrics` on
//! `--metrics-addr`. Here one handler serves all three routes; run it once per address
//! (with `metrics: None` where `/metrics` should not be served), or once for both when the
//! addresses are equal. No pprof.

use std::convert::Infallible;
use std::net::SocketAddr;

use anyhow::{Context as _, Result};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::metrics::Metrics;

/// What Prometheus expects for the OpenMetrics text that [`Metrics::encode`] writes.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Bind `addr` for the server, before serving, so a taken port fails startup with an error
/// that names the address and the flag (`flag` is e.g. `--healthz-addr`).
pub async fn bind(addr: SocketAddr, flag: &str) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("failed to listen on {addr} (from {flag})"))
}

/// Bind `addr` and serve until `cancel` fires. See [`serve_on`].
pub async fn serve(
    addr: SocketAddr,
    metrics: Option<Metrics>,
    ready: watch::Receiver<bool>,
    cancel: CancellationToken,
) -> Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("failed to listen on {addr}"))?;
    serve_on(listener, metrics, ready, cancel).await
}

/// Serve on a bound listener until `cancel` fires; open connections are then closed
/// gracefully (an answer in progress is finished).
///
/// - `/healthz`: 200 `ok`, always: the process is alive.
/// - `/readyz`: 200 `ok` while `*ready` is true, else 503 `not ready`.
/// - `/metrics`: `metrics` encoded as OpenMetrics text; 404 when `metrics` is `None`.
/// - anything else: 404.
pub async fn serve_on(
    listener: TcpListener,
    metrics: Option<Metrics>,
    ready: watch::Receiver<bool>,
    cancel: CancellationToken,
) -> Result<()> {
    let local = listener.local_addr().ok();
    tracing::debug!(addr = ?local, "serving /healthz, /readyz and /metrics");
    loop {
        let (stream, peer) = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // E.g. EMFILE: keep serving; the next accept may succeed.
                    tracing::warn!(%error, addr = ?local, "failed to accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let metrics = metrics.clone();
        let ready = ready.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let response = route(&req, metrics.as_ref(), &ready);
                async move { Ok::<_, Infallible>(response) }
            });
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                _ = cancel.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(error) = result {
                tracing::debug!(%error, %peer, "HTTP connection ended with an error");
            }
        });
    }
}

fn route(
    req: &Request<Incoming>,
    metrics: Option<&Metrics>,
    ready: &watch::Receiver<bool>,
) -> Response<String> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    match (req.uri().path(), metrics) {
        ("/healthz", _) => text(StatusCode::OK, "ok"),
        ("/readyz", _) if *ready.borrow() => text(StatusCode::OK, "ok"),
        ("/readyz", _) => text(StatusCode::SERVICE_UNAVAILABLE, "not ready"),
        ("/metrics", Some(metrics)) => {
            let mut response = Response::new(metrics.encode());
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static(OPENMETRICS_CONTENT_TYPE),
            );
            response
        }
        _ => text(StatusCode::NOT_FOUND, "404 page not found\n"),
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<String> {
    let mut response = Response::new(body.to_string());
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    struct Server {
        addr: SocketAddr,
        ready: watch::Sender<bool>,
        cancel: CancellationToken,
        task: tokio::task::JoinHandle<Result<()>>,
    }

    async fn start(metrics: Option<Metrics>) -> Server {
        let listener = bind("127.0.0.1:0".parse().unwrap(), "--healthz-addr")
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (ready, ready_rx) = watch::channel(false);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(serve_on(listener, metrics, ready_rx, cancel.clone()));
        Server {
            addr,
            ready,
            cancel,
            task,
        }
    }

    /// (status code, headers, body) of `GET path` sent as a raw HTTP/1.0 request.
    async fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, head.to_ascii_lowercase(), body.to_string())
    }

    #[tokio::test]
    async fn routes() {
        let metrics = Metrics::new();
        metrics.workqueue_add("federatedconfigmap");
        let server = start(Some(metrics)).await;

        let (status, _, body) = get(server.addr, "/healthz").await;
        assert_eq!((status, body.as_str()), (200, "ok"));

        let (status, _, body) = get(server.addr, "/readyz").await;
        assert_eq!((status, body.as_str()), (503, "not ready"));
        server.ready.send(true).unwrap();
        let (status, _, body) = get(server.addr, "/readyz").await;
        assert_eq!((status, body.as_str()), (200, "ok"));

        let (status, head, body) = get(server.addr, "/metrics").await;
        assert_eq!(status, 200);
        assert!(
            head.contains(&format!("content-type: {OPENMETRICS_CONTENT_TYPE}")),
            "{head}"
        );
        assert!(
            body.contains("workqueue_adds_total{name=\"federatedconfigmap\"} 1"),
            "{body}"
        );
        assert!(body.ends_with("# EOF\n"), "{body}");

        for path in ["/", "/debug/pprof/", "/healthz/extra"] {
            assert_eq!(get(server.addr, path).await.0, 404, "{path}");
        }

        server.cancel.cancel();
        server.task.await.unwrap().unwrap();
        assert!(tokio::net::TcpStream::connect(server.addr).await.is_err());
    }

    #[tokio::test]
    async fn no_metrics_is_404() {
        let server = start(None).await;
        assert_eq!(get(server.addr, "/metrics").await.0, 404);
        assert_eq!(get(server.addr, "/healthz").await.0, 200);
        server.cancel.cancel();
        server.task.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_taken_port_names_the_address_and_flag() {
        let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = taken.local_addr().unwrap();
        let error = bind(addr, "--metrics-addr").await.unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.starts_with(&format!("failed to listen on {addr} (from --metrics-addr)")),
            "{message}"
        );
    }
}
