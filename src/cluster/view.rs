//! What this instance knows of the cluster, kept current from one watch of the prefix: the
//! live members with their weights, each recorded room's owner, the platforms' pauses. Pure;
//! the rooms read it synchronously ("may I poll this idle room?").

use std::collections::BTreeMap;

use super::etcd::{EventKind, KeyValue};
use super::keys::{KeyOf, Layout, MemberValue, OwnerValue, decode};
use super::rendezvous;
use super::throttle::{self, Throttle};

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Member {
    pub(crate) weight: f64,
    pub(crate) accepting: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owner {
    pub(crate) instance: String,
    /// The owner key's create revision.
    pub(crate) fence: i64,
    pub(crate) lease: i64,
    pub(crate) writing: bool,
}

/// Who is to poll an idle room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Turn {
    /// This instance (its hash owner, or nobody else can).
    Mine,
    /// Another instance records it.
    RecordedBy(String),
    /// Another instance polls it.
    PolledBy(String),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct View {
    pub(crate) members: BTreeMap<String, Member>,
    pub(crate) owners: BTreeMap<String, Owner>,
    pub(crate) throttles: BTreeMap<String, Throttle>,
}

/// A change to a recorded room's owner key, for the lease state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OwnerChange {
    Set { room: String, owner: Owner },
    Gone { room: String },
}

impl View {
    /// Replaces everything with a full listing of the prefix.
    pub(crate) fn reset(&mut self, layout: &Layout, kvs: &[KeyValue]) {
        *self = View::default();
        for kv in kvs {
            self.apply(layout, EventKind::Put, kv);
        }
    }

    /// Applies one change; returns it when it is about an owner key.
    pub(crate) fn apply(
        &mut self,
        layout: &Layout,
        kind: EventKind,
        kv: &KeyValue,
    ) -> Option<OwnerChange> {
        let put = kind == EventKind::Put;
        match layout.classify(&kv.key)? {
            KeyOf::Member(name) => {
                let value = put.then(|| decode::<MemberValue>(&kv.value)).flatten();
                match value {
                    Some(v) => {
                        self.members.insert(
                            name.to_string(),
                            Member {
                                weight: v.weight,
                                accepting: v.accepting,
                            },
                        );
                    }
                    None => {
                        self.members.remove(name);
                    }
                }
                None
            }
            KeyOf::Owner(room) => {
                let value = put.then(|| decode::<OwnerValue>(&kv.value)).flatten();
                match value {
                    Some(v) => {
                        let owner = Owner {
                            instance: v.instance,
                            fence: kv.create_revision,
                            lease: kv.lease,
                            writing: v.writing,
                        };
                        self.owners.insert(room.to_string(), owner.clone());
                        Some(OwnerChange::Set {
                            room: room.to_string(),
                            owner,
                        })
                    }
                    None => {
                        self.owners.remove(room);
                        Some(OwnerChange::Gone {
                            room: room.to_string(),
                        })
                    }
                }
            }
            KeyOf::Throttle(platform) => {
                match put.then(|| throttle::decode(&kv.value).ok()).flatten() {
                    Some(t) => {
                        self.throttles.insert(platform.to_string(), t);
                    }
                    None => {
                        self.throttles.remove(platform);
                    }
                }
                None
            }
            KeyOf::Session(_) => None,
        }
    }

    /// The live member that polls `room` while nobody records it: the rendezvous winner among
    /// those accepting rooms.
    pub(crate) fn hash_owner(&self, room: &str) -> Option<&str> {
        rendezvous::owner(
            room,
            self.members
                .iter()
                .filter(|(_, m)| m.accepting)
                .map(|(name, m)| (name.as_str(), m.weight)),
        )
    }

    /// `me`'s part of a request budget the members share by weight; 1 while `me` is not
    /// listed (before registering) or alone.
    pub(crate) fn share(&self, me: &str) -> f64 {
        let weight = |m: &Member| {
            if m.weight.is_finite() && m.weight > 0.0 {
                m.weight
            } else {
                0.0
            }
        };
        let Some(mine) = self.members.get(me).map(weight) else {
            return 1.0;
        };
        let total: f64 = self.members.values().map(weight).sum();
        if total <= 0.0 || mine <= 0.0 {
            return 1.0;
        }
        (mine / total).min(1.0)
    }

    /// Whether `me` polls idle `room`: not while another instance records it, and only if the
    /// hash gives it to `me`. With no member accepting rooms at all (all draining), nobody
    /// polls.
    pub(crate) fn turn(&self, room: &str, me: &str) -> Turn {
        if let Some(owner) = self.owners.get(room) {
            return if owner.instance == me {
                Turn::Mine
            } else {
                Turn::RecordedBy(owner.instance.clone())
            };
        }
        match self.hash_owner(room) {
            Some(winner) if winner == me => Turn::Mine,
            Some(winner) => Turn::PolledBy(winner.to_string()),
            None => Turn::PolledBy("nobody (no instance takes rooms)".into()),
        }
    }
}

#[cfg(test)]
mod tests;
