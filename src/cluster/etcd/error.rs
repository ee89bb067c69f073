//! The etcd client's error: which call, at which endpoint, and what went wrong, worded for a log
//! line. Never carries a key's value, a password or a token.

use std::time::Duration;

use super::wire::{GRPC_DEADLINE_EXCEEDED, GRPC_NOT_FOUND, GRPC_UNAVAILABLE};

#[derive(Debug, thiserror::Error)]
pub enum EtcdError {
    #[error("etcd {op}: no endpoint reachable ({tried} tried; last, {endpoint}: {detail})")]
    Unreachable {
        op: &'static str,
        tried: usize,
        endpoint: String,
        detail: String,
    },
    #[error("etcd {op} at {endpoint}: no answer within {timeout:?}")]
    Timeout {
        op: &'static str,
        endpoint: String,
        timeout: Duration,
    },
    #[error("etcd {op} at {endpoint}: connection failed: {detail}")]
    Transport {
        op: &'static str,
        endpoint: String,
        detail: String,
    },
    /// An error answer from etcd: `code` is the gRPC status code, `message` etcd's own text.
    #[error("etcd {op} at {endpoint}: {message} (HTTP {status}, gRPC code {code})")]
    Server {
        op: &'static str,
        endpoint: String,
        status: u16,
        code: i32,
        message: String,
    },
    /// A non-2xx answer that is not etcd's (a proxy in between, a wrong port).
    #[error("etcd {op} at {endpoint}: HTTP {status} with a body that is not etcd's")]
    Http {
        op: &'static str,
        endpoint: String,
        status: u16,
    },
    /// The user or password is wrong, or the user lacks a role: a new token will not help.
    #[error("etcd {op} at {endpoint}: authentication failed: {message}")]
    Auth {
        op: &'static str,
        endpoint: String,
        message: String,
    },
    #[error("etcd {op} at {endpoint}: answer not understood: {detail}")]
    Decode {
        op: &'static str,
        endpoint: String,
        detail: String,
    },
    #[error("etcd {op} at {endpoint}: answer larger than {limit} bytes")]
    TooLarge {
        op: &'static str,
        endpoint: String,
        limit: usize,
    },
    #[error("etcd client: {0}")]
    Config(String),
}

impl EtcdError {
    /// etcd could not be reached or did not answer in time: the lease state machine's "etcd
    /// unreachable", as opposed to an answer that says no.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Timeout { .. } | Self::Transport { .. } => true,
            Self::Server { code, .. } => {
                *code == GRPC_UNAVAILABLE || *code == GRPC_DEADLINE_EXCEEDED
            }
            Self::Http { status, .. } => *status >= 500,
            Self::Auth { .. } | Self::Decode { .. } | Self::TooLarge { .. } | Self::Config(_) => {
                false
            }
        }
    }

    /// etcd answered that the lease does not exist (expired or revoked).
    pub fn is_lease_not_found(&self) -> bool {
        matches!(self, Self::Server { code, message, .. }
            if *code == GRPC_NOT_FOUND && message.contains("lease not found"))
    }
}
