//! The rows of `[cluster]`: which coordination backend, and for etcd where it is, who this
//! instance is, its share of the rooms and what it does when its lease is lost. Read by
//! `config/cluster.rs`.

use super::table::{secs, text};
use super::{Applies, Dur, Key, Scope, Show, Shown, Text, Unset};
use crate::util::units::format_duration;

pub(super) const CLUSTER: &[Scope] = &[Scope::Cluster];

/// Every cluster key is read once at start-up: membership and leases are the process's own.
const AT_START: Applies = Applies::Restart;

pub(crate) const CLUSTER_BACKEND: Key<Text> = Key {
    name: "backend",
    scopes: CLUSTER,
    kind: Text("local"),
    applies: AT_START,
    show: Show {
        daemon: Some(|c| text(c.cluster.backend.as_str())),
        ..Show::NONE
    },
    doc: "`local` (the room lock directory) or `etcd` (several machines, one archive)",
};

pub(crate) const CLUSTER_ENDPOINTS: Key<Unset> = Key {
    name: "endpoints",
    scopes: CLUSTER,
    kind: Unset("required with `etcd`"),
    applies: AT_START,
    show: Show {
        daemon: Some(|c| {
            if c.cluster.endpoints.is_empty() {
                Shown::Unset("none")
            } else {
                text(c.cluster.endpoints.join(","))
            }
        }),
        ..Show::NONE
    },
    doc: "etcd client URLs, tried in order (`http://host:2379`, no user info)",
};

pub(crate) const CLUSTER_NAME: Key<Text> = Key {
    name: "name",
    scopes: CLUSTER,
    kind: Text("liverec"),
    applies: AT_START,
    show: Show {
        daemon: Some(|c| text(c.cluster.name.as_str())),
        ..Show::NONE
    },
    doc: "the cluster's key prefix in etcd: `/liverec/<name>/`",
};

pub(crate) const CLUSTER_INSTANCE: Key<Unset> = Key {
    name: "instance",
    scopes: CLUSTER,
    kind: Unset("the host name"),
    applies: AT_START,
    show: Show {
        daemon: Some(|c| text(c.cluster.instance.as_str())),
        ..Show::NONE
    },
    doc: "this instance's name, unique in the cluster",
};

pub(crate) const CLUSTER_LEASE_TTL: Key<Dur> = Key {
    name: "lease_ttl",
    scopes: CLUSTER,
    kind: Dur {
        default: secs(15),
        min: secs(2),
        off: None,
    },
    applies: AT_START,
    show: Show {
        daemon: Some(|c| text(format_duration(c.cluster.lease_ttl))),
        ..Show::NONE
    },
    doc: "how long a dead instance keeps its rooms (renewed every third of it)",
};

pub(crate) const CLUSTER_WEIGHT: Key<Text> = Key {
    name: "weight",
    scopes: CLUSTER,
    kind: Text("1.0"),
    applies: AT_START,
    show: Show {
        daemon: Some(|c| text(format!("{:.1}", c.cluster.weight))),
        ..Show::NONE
    },
    doc: "this instance's share of the rooms, relative to the others' (0 takes none)",
};

pub(crate) const CLUSTER_ON_LEASE_LOSS: Key<Text> = Key {
    name: "on_lease_loss",
    scopes: CLUSTER,
    kind: Text("overlap"),
    applies: AT_START,
    show: Show {
        daemon: Some(|c| text(c.cluster.on_lease_loss.as_str())),
        ..Show::NONE
    },
    doc: "`overlap`: record on until the new owner writes; `stop`: stop at once",
};

pub(crate) const CLUSTER_HANDOVER_OVERLAP: Key<Dur> = Key {
    name: "handover_overlap",
    scopes: CLUSTER,
    kind: Dur {
        default: secs(60),
        min: secs(1),
        off: None,
    },
    applies: AT_START,
    show: Show {
        daemon: Some(|c| text(format_duration(c.cluster.handover_overlap))),
        ..Show::NONE
    },
    doc: "the longest overlap after a lost lease before a room is let go",
};

pub(crate) const CLUSTER_USER: Key<Unset> = Key {
    name: "user",
    scopes: CLUSTER,
    kind: Unset("none (etcd without auth)"),
    applies: AT_START,
    show: Show {
        daemon: Some(|c| c.cluster.user.clone().map_or(Shown::Unset("none"), text)),
        ..Show::NONE
    },
    doc: "etcd user name",
};

pub(crate) const CLUSTER_PASSWORD_FILE: Key<Unset> = Key {
    name: "password_file",
    scopes: CLUSTER,
    kind: Unset("none"),
    applies: AT_START,
    show: Show {
        daemon: Some(|c| match &c.cluster.password {
            Some(p) => Shown::Secret(p.clone()),
            None => Shown::Unset("none"),
        }),
        ..Show::NONE
    },
    doc: "file holding the etcd user's password (read at start-up, never logged)",
};
