//! Several instances, one archive (`[cluster] backend = "etcd"`): room ownership on etcd
//! leases. With the default `local` backend none of this runs and the room lock directory is
//! the only coordination.
//!
//! - `etcd`: a small async client for etcd's JSON gRPC gateway (KV, leases, transactions, a
//!   reconnecting prefix watch, endpoint failover, user/password auth).
//! - `rendezvous`: weighted rendezvous hashing, which live instance polls which idle room.
//! - `lease_fsm`: the pure lease/ownership state machine (what happens to the rooms this
//!   instance records when its lease is in doubt or lost).
//! - `throttle`: the shared per-platform risk-control pause.
//! - `keys`: the key layout under `/liverec/<name>/` and the values stored there.
//! - `view`: what the rooms read synchronously (live members, owners, the hash owner of a room).
//! - `report`: `liverec cluster status`, read from etcd directly.
//! - `coordinator`: the handle the daemon and the rooms hold, and the task behind it that owns
//!   the lease, the watches and the claims.
//!
//! The rooms talk to it through [`Coordinator`]: "may I poll this idle room?", "claim this live
//! room", "my session progressed / ended"; it answers a claim with a mailbox of orders (a new
//! fence, hand the room over) that the room's supervisor reads like its other inputs.

mod coordinator;
pub mod etcd;
mod keys;
pub(crate) mod lease_fsm;
pub(crate) mod rendezvous;
pub(crate) mod report;
pub mod throttle;
mod view;

pub(crate) use coordinator::{Claim, Coordinator, Order, Settings, start};
pub(crate) use lease_fsm::OnLeaseLoss;
pub(crate) use view::Turn;
