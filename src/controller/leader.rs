//! TEMP stub.
use std::time::Duration;
use tokio_util::sync::CancellationToken;
pub enum LockKind { ConfigMaps, Endpoints }
pub struct LeaderConfig { pub namespace: String, pub name: String, pub identity: String, pub lease_duration: Duration, pub renew_deadline: Duration, pub retry_period: Duration, pub lock: Option<LockKind> }
pub fn default_identity() -> String { String::new() }
pub struct Leadership;
impl Leadership {
    pub async fn acquire(_c: kube::Client, _cfg: LeaderConfig, _cancel: CancellationToken) -> anyhow::Result<Option<Leadership>> { Ok(Some(Leadership)) }
    pub async fn lost(&self) { std::future::pending::<()>().await }
    pub async fn release(self) {}
}
