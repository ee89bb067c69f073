//! Joining the cluster at start-up: the `local` backend needs nothing; `etcd` grants the
//! lease and registers this instance before any room starts, so the first polls already
//! follow the cluster's spread.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::DaemonError;
use crate::cluster::etcd::Credentials;
use crate::cluster::{Coordinator, OnLeaseLoss, Settings};
use crate::config::{Backend, ClusterConfig};
use crate::event::EventTx;
use crate::platform::{Platform, PlatformKind};

pub(super) async fn join(
    cfg: &ClusterConfig,
    events: &EventTx,
    slots: Option<Arc<Semaphore>>,
    platforms: Vec<(PlatformKind, Arc<dyn Platform>)>,
    stop: &CancellationToken,
) -> Result<(Coordinator, Option<JoinHandle<()>>), DaemonError> {
    if cfg.backend == Backend::Local {
        return Ok((Coordinator::local(), None));
    }
    let (coordinator, task) = crate::cluster::start(
        settings(cfg),
        events.clone(),
        slots,
        platforms,
        stop.clone(),
    )
    .await
    .map_err(|e| DaemonError::Cluster(format!("cannot join the cluster: {e}")))?;
    Ok((coordinator, Some(task)))
}

/// `[cluster]` as the coordinator takes it (also `liverec cluster status`).
pub(crate) fn settings(cfg: &ClusterConfig) -> Settings {
    Settings {
        endpoints: cfg.endpoints.clone(),
        name: cfg.name.clone(),
        instance: cfg.instance.clone(),
        lease_ttl: cfg.lease_ttl,
        weight: cfg.weight,
        on_lease_loss: match cfg.on_lease_loss {
            crate::config::OnLeaseLoss::Overlap => OnLeaseLoss::Overlap,
            crate::config::OnLeaseLoss::Stop => OnLeaseLoss::Stop,
        },
        handover_overlap: cfg.handover_overlap,
        credentials: match (&cfg.user, &cfg.password) {
            (Some(user), Some(password)) => Some(Credentials::new(user, password.expose())),
            _ => None,
        },
    }
}
