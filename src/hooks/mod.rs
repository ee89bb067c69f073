//! Events out of the daemon: command hooks and webhooks.

pub mod command;
pub mod journal;
pub mod placeholders;
pub mod webhook;
pub mod window;
