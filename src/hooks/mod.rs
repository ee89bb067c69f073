//! Events out of the daemon: command hooks and webhooks.

pub mod journal;
pub mod placeholders;
pub mod window;
