//! etcd's user/password authentication: the credentials, and the token every call carries
//! (fetched once and shared, fetched again when etcd says it is no longer valid).

use std::fmt;

use super::wire::{self, WireError};
use super::{EtcdClient, EtcdError};

/// An etcd user and password. `Debug` never shows the password.
#[derive(Clone)]
pub struct Credentials {
    user: String,
    password: String,
}

impl Credentials {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            user: user.into(),
            password: password.into(),
        }
    }

    pub fn user(&self) -> &str {
        &self.user
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"[redacted]")
            .finish()
    }
}

impl EtcdClient {
    /// The current token, fetching one first if there is none. `None` without credentials.
    pub(super) async fn token(&self) -> Result<Option<String>, EtcdError> {
        let Some(auth) = &self.inner.auth else {
            return Ok(None);
        };
        let mut token = auth.token.lock().await;
        if let Some(t) = token.as_ref() {
            return Ok(Some(t.clone()));
        }
        let fresh = self.authenticate(&auth.credentials).await?;
        *token = Some(fresh.clone());
        Ok(Some(fresh))
    }

    /// Drops `used` unless another call already replaced it.
    pub(super) async fn forget_token(&self, used: &str) {
        if let Some(auth) = &self.inner.auth {
            let mut token = auth.token.lock().await;
            if token.as_deref() == Some(used) {
                *token = None;
            }
        }
    }

    async fn authenticate(&self, credentials: &Credentials) -> Result<String, EtcdError> {
        const OP: &str = "authenticate";
        let request = wire::authenticate_request(&credentials.user, &credentials.password);
        let body = serde_json::to_vec(&request)
            .map_err(|e| EtcdError::Config(format!("{OP}: cannot encode request: {e}")))?;
        let (endpoint, status, answer) =
            self.send(OP, "/v3/auth/authenticate", &body, None).await?;
        if (200..300).contains(&status) {
            return wire::decode_token(&answer).map_err(|e| match e {
                WireError::Malformed(detail) => EtcdError::Decode {
                    op: OP,
                    endpoint: self.endpoint_name(endpoint),
                    detail,
                },
                WireError::Server(e) => self.server_error(OP, endpoint, status, e),
            });
        }
        match wire::decode_error(&answer) {
            // Credentials configured but etcd runs without auth: go on without a token rather
            // than refuse to work. If auth is enabled later, etcd's "user name is empty" sends
            // us back here.
            Some(e) if e.message.contains("authentication is not enabled") => {
                tracing::warn!(endpoint = %self.endpoint_name(endpoint), "etcd user configured but etcd has auth disabled; continuing without authentication");
                Ok(String::new())
            }
            // Wrong user or password, or a user without any role.
            Some(e) if e.message.contains("authentication failed") => Err(EtcdError::Auth {
                op: OP,
                endpoint: self.endpoint_name(endpoint),
                message: e.message,
            }),
            Some(e) => Err(self.server_error(OP, endpoint, status, e)),
            None => Err(EtcdError::Http {
                op: OP,
                endpoint: self.endpoint_name(endpoint),
                status,
            }),
        }
    }
}
