//! Events out of the daemon: command hooks and webhooks.

pub mod placeholders;
pub mod window;
