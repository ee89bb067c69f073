//! A string that never reaches a log line: cookies, tokens, webhook secrets.

use std::fmt;

/// Holds a secret value. `Debug` and `Display` print `[redacted]`; the only way to the value is
/// [`Secret::expose`], which makes every use site easy to audit with grep.
#[derive(Clone, PartialEq, Eq, Default)]
pub(crate) struct Secret(String);

impl Secret {
    pub(crate) fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Cuts the query string and any user info off a URL for logging: signed CDN URLs carry tokens
/// (`expires=…&sign=…`, `auth_key=…`) in the query, and those are credentials.
pub(crate) fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let had_query = u.query().is_some();
            u.set_query(None);
            u.set_fragment(None);
            let _ = u.set_username("");
            let _ = u.set_password(None);
            let mut s = u.to_string();
            if had_query {
                s.push_str("?…");
            }
            s
        }
        Err(_) => match url.split_once('?') {
            Some((head, _)) => format!("{head}?…"),
            None => url.to_string(),
        },
    }
}

/// A webhook URL as logs show it: scheme, host and port only. Services such as Discord and
/// Slack put the token in the path, so the path is a secret too.
pub(crate) fn redact_endpoint(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            let mut s = format!("{}://{}", u.scheme(), u.host_str().unwrap_or("?"));
            if let Some(port) = u.port() {
                s.push_str(&format!(":{port}"));
            }
            if u.path() != "/" || u.query().is_some() {
                s.push_str("/…");
            }
            s
        }
        Err(_) => "(not a URL)".to_string(),
    }
}

#[cfg(test)]
mod tests;
