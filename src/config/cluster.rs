//! `[cluster]`: how this instance shares rooms with others. `local` (the default) is the room
//! lock directory alone; `etcd` needs endpoints and reads the password file here, at load, so
//! a missing file is a `check` error and the password itself only ever lives in a [`Secret`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::keys;
use super::raw::{Field, Report};
use crate::util::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Local,
    Etcd,
}

impl Backend {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Backend::Local => "local",
            Backend::Etcd => "etcd",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnLeaseLoss {
    Overlap,
    Stop,
}

impl OnLeaseLoss {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OnLeaseLoss::Overlap => "overlap",
            OnLeaseLoss::Stop => "stop",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClusterConfig {
    pub(crate) backend: Backend,
    pub(crate) endpoints: Vec<String>,
    pub(crate) name: String,
    pub(crate) instance: String,
    pub(crate) lease_ttl: Duration,
    pub(crate) weight: f64,
    pub(crate) on_lease_loss: OnLeaseLoss,
    pub(crate) handover_overlap: Duration,
    pub(crate) user: Option<String>,
    pub(crate) password: Option<Secret>,
}

impl ClusterConfig {
    pub(crate) fn local() -> Self {
        Self {
            backend: Backend::Local,
            endpoints: Vec::new(),
            name: keys::CLUSTER_NAME.kind.0.to_string(),
            instance: host_name(),
            lease_ttl: keys::CLUSTER_LEASE_TTL.kind.default,
            weight: 1.0,
            on_lease_loss: OnLeaseLoss::Overlap,
            handover_overlap: keys::CLUSTER_HANDOVER_OVERLAP.kind.default,
            user: None,
            password: None,
        }
    }
}

fn host_name() -> String {
    hostname::get()
        .map(|h| h.to_string_lossy().into_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "liverec".into())
}

/// A name that is one path segment of an etcd key.
fn key_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s != "."
        && s != ".."
}

pub(crate) fn read_cluster(
    field: Option<Field<'_, '_>>,
    rep: &mut Report<'_>,
    base: &Path,
) -> ClusterConfig {
    let mut cfg = ClusterConfig::local();
    let Some(mut sec) = field.and_then(|f| f.section(rep)) else {
        return cfg;
    };
    if let Some(f) = sec.take(keys::CLUSTER_BACKEND.name) {
        match f.str(rep) {
            Some("local") => cfg.backend = Backend::Local,
            Some("etcd") => cfg.backend = Backend::Etcd,
            Some(other) => f.fail(
                rep,
                format!("{other:?} is not a backend (\"local\" or \"etcd\")"),
            ),
            None => {}
        }
    }
    let endpoints = sec.take(keys::CLUSTER_ENDPOINTS.name);
    if let Some(list) = endpoints.as_ref().and_then(|f| f.strings(rep)) {
        for e in &list {
            if let Err(why) = crate::cluster::etcd::normalize_endpoint(e) {
                if let Some(f) = endpoints.as_ref() {
                    f.fail(
                        rep,
                        format!("endpoint {}: {why}", crate::util::secret::redact_url(e)),
                    );
                }
            }
        }
        cfg.endpoints = list;
    }
    for (key, slot) in [
        (keys::CLUSTER_NAME.name, &mut cfg.name),
        (keys::CLUSTER_INSTANCE.name, &mut cfg.instance),
    ] {
        let Some(f) = sec.take(key) else { continue };
        match f.string(rep) {
            Some(s) if key_segment(&s) => *slot = s,
            Some(s) => f.fail(
                rep,
                format!("{s:?} must be letters, digits, '-', '_' or '.' (it is part of etcd keys)"),
            ),
            None => {}
        }
    }
    cfg.lease_ttl = keys::CLUSTER_LEASE_TTL.get(&mut sec, rep);
    if let Some(f) = sec.take(keys::CLUSTER_WEIGHT.name) {
        match f.number(rep) {
            Some(w) if w.is_finite() && (0.0..=1000.0).contains(&w) => cfg.weight = w,
            Some(_) => f.fail(rep, "must be a number from 0 to 1000"),
            None => {}
        }
    }
    if let Some(f) = sec.take(keys::CLUSTER_ON_LEASE_LOSS.name) {
        match f.str(rep) {
            Some("overlap") => cfg.on_lease_loss = OnLeaseLoss::Overlap,
            Some("stop") => cfg.on_lease_loss = OnLeaseLoss::Stop,
            Some(other) => f.fail(
                rep,
                format!("{other:?} is neither \"overlap\" nor \"stop\""),
            ),
            None => {}
        }
    }
    cfg.handover_overlap = keys::CLUSTER_HANDOVER_OVERLAP.get(&mut sec, rep);
    cfg.user = sec
        .take(keys::CLUSTER_USER.name)
        .and_then(|f| f.string(rep))
        .filter(|s| !s.is_empty());
    let password_file = sec.take(keys::CLUSTER_PASSWORD_FILE.name);
    if let Some(f) = password_file.as_ref() {
        if let Some(p) = f.string(rep).filter(|s| !s.is_empty()) {
            match read_password(&base.join(p)) {
                Ok(secret) => cfg.password = Some(secret),
                Err(why) => f.fail(rep, why),
            }
        }
    }
    if cfg.backend == Backend::Etcd && cfg.endpoints.is_empty() {
        rep.error(
            "cluster.endpoints",
            &sec.span.clone(),
            "required with backend = \"etcd\"",
        );
    }
    if cfg.user.is_some() != password_file.is_some() {
        rep.error(
            "cluster.user",
            &sec.span.clone(),
            "user and password_file go together",
        );
    }
    sec.finish(rep);
    cfg
}

/// The password file's first line. The error names the file, never its contents.
fn read_password(path: &PathBuf) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let line = text.lines().next().unwrap_or_default().trim();
    if line.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(Secret::new(line.to_string()))
}
