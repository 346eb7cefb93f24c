//! TEMP stub.
use tokio_util::sync::CancellationToken;
use crate::controller::metrics::Metrics;
pub async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> { Ok(tokio::net::TcpListener::bind(addr).await?) }
pub async fn serve(_l: tokio::net::TcpListener, _m: Option<Metrics>, _r: tokio::sync::watch::Receiver<bool>, _c: CancellationToken) -> anyhow::Result<()> { Ok(()) }
