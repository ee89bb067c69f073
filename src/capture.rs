//! Pulling a live stream into a session's writer: one attempt asks the platform for fresh
//! stream URLs and pulls the first source that delivers ([`attempt`]), over HTTP-FLV ([`flv`])
//! or HLS ([`hls`]), remembering for the session which hosts failed ([`failover`]). Every pull
//! ends with a [`end::PullEnd`] the room judges. What happens to the bytes is the writer's job.

pub(crate) mod attempt;
pub(crate) mod end;
pub(crate) mod failover;
pub(crate) mod flv;
pub(crate) mod hls;

pub(crate) use attempt::{SessionSide, attempt};
