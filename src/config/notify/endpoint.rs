//! The keys of one kind of notification: taken from an entry, checked (URLs, tokens and token
//! files, chat ids), and made into its [`Endpoint`]. Values that are secrets are never quoted in
//! a problem.

use std::path::Path;

use super::{Endpoint, NotifyKind};
use crate::config::keys;
use crate::config::raw::{Field, Report, Section};
use crate::util::secret::{Secret, redact_endpoint, redact_url};

const TELEGRAM_API: &str = "https://api.telegram.org";
const BARK_SERVER: &str = "https://api.day.app";

/// An http(s) URL with a host, or why not. A `secret` URL (a webhook's, a topic's, or any read
/// from a file) is never quoted, not even in part: a typo in it is still a secret.
fn http_url(s: &str, secret: bool) -> Result<url::Url, String> {
    match url::Url::parse(s.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(u),
        Ok(u) if secret => Err(format!(
            "not an http or https URL with a host (scheme {:?})",
            u.scheme()
        )),
        Ok(u) => Err(format!(
            "{:?} must be an http or https URL with a host (scheme {:?})",
            redact_endpoint(s),
            u.scheme()
        )),
        Err(e) if secret => Err(format!("not a URL ({e})")),
        Err(e) => Err(format!("{:?} is not a URL ({e})", redact_url(s))),
    }
}

/// A value that goes into a URL path or a header: printable ASCII, no spaces.
fn one_word(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic())
}

/// The kind-specific keys of an entry, taken whether or not its kind uses them (so that
/// `finish` tells a key of another kind from an unknown one).
pub(super) struct KindFields<'a, 'i> {
    url: Option<Field<'a, 'i>>,
    url_file: Option<Field<'a, 'i>>,
    api_base: Option<Field<'a, 'i>>,
    bot_token: Option<Field<'a, 'i>>,
    bot_token_file: Option<Field<'a, 'i>>,
    chat_id: Option<Field<'a, 'i>>,
    token: Option<Field<'a, 'i>>,
    token_file: Option<Field<'a, 'i>>,
    device_key: Option<Field<'a, 'i>>,
}

impl<'a, 'i> KindFields<'a, 'i> {
    pub(super) fn take(sec: &mut Section<'a, 'i>) -> Self {
        Self {
            url: sec.take(keys::NOTIFY_URL.name),
            url_file: sec.take(keys::NOTIFY_URL_FILE.name),
            api_base: sec.take(keys::NOTIFY_API_BASE.name),
            bot_token: sec.take(keys::NOTIFY_BOT_TOKEN.name),
            bot_token_file: sec.take(keys::NOTIFY_BOT_TOKEN_FILE.name),
            chat_id: sec.take(keys::NOTIFY_CHAT_ID.name),
            token: sec.take(keys::NOTIFY_TOKEN.name),
            token_file: sec.take(keys::NOTIFY_TOKEN_FILE.name),
            device_key: sec.take(keys::NOTIFY_DEVICE_KEY.name),
        }
    }

    /// Refuses the keys `kind` does not take; true when there were none.
    pub(super) fn only_of(&self, kind: NotifyKind, rep: &mut Report<'_>) -> bool {
        let all = [
            (keys::NOTIFY_URL.name, &self.url),
            (keys::NOTIFY_URL_FILE.name, &self.url_file),
            (keys::NOTIFY_API_BASE.name, &self.api_base),
            (keys::NOTIFY_BOT_TOKEN.name, &self.bot_token),
            (keys::NOTIFY_BOT_TOKEN_FILE.name, &self.bot_token_file),
            (keys::NOTIFY_CHAT_ID.name, &self.chat_id),
            (keys::NOTIFY_TOKEN.name, &self.token),
            (keys::NOTIFY_TOKEN_FILE.name, &self.token_file),
            (keys::NOTIFY_DEVICE_KEY.name, &self.device_key),
        ];
        let mut ok = true;
        for (name, field) in all {
            if let Some(f) = field {
                if !kind.keys().contains(&name) {
                    ok = false;
                    f.fail(
                        rep,
                        format!(
                            "not a key of {kind} notifications ({kind} takes {})",
                            kind.keys().join(", ")
                        ),
                    );
                }
            }
        }
        ok
    }
}

/// A secret from `value` or the file `file` names (relative to the config's folder), trimmed.
/// `what` names it in messages; never the value.
fn secret_from(
    value: Option<&Field<'_, '_>>,
    file: Option<&Field<'_, '_>>,
    what: &str,
    base: &Path,
    rep: &mut Report<'_>,
) -> Option<(Secret, String)> {
    match (value, file) {
        (Some(_), Some(f)) => {
            f.fail(rep, format!("set either {what} or {what}_file, not both"));
            None
        }
        (Some(v), None) => {
            let s = v.str(rep)?.trim().to_string();
            if s.is_empty() {
                v.fail(rep, "must not be empty");
                return None;
            }
            Some((Secret::new(s), v.path.clone()))
        }
        (None, Some(f)) => {
            let name = f.str(rep)?;
            let p = base.join(name);
            match std::fs::read_to_string(&p) {
                Ok(text) if text.trim().is_empty() => {
                    f.fail(rep, format!("{} is empty", p.display()));
                    None
                }
                Ok(text) => Some((Secret::new(text.trim()), f.path.clone())),
                Err(e) => {
                    f.fail(rep, format!("cannot read {}: {e}", p.display()));
                    None
                }
            }
        }
        (None, None) => None,
    }
}

/// A secret that must be one word (it goes into a URL or a header).
fn word_secret(
    value: Option<&Field<'_, '_>>,
    file: Option<&Field<'_, '_>>,
    what: &str,
    base: &Path,
    rep: &mut Report<'_>,
) -> Option<Secret> {
    let (secret, key) = secret_from(value, file, what, base, rep)?;
    if one_word(secret.expose()) {
        return Some(secret);
    }
    rep.error(
        &key,
        &value.or(file).map(Field::span).unwrap_or(0..0),
        format!("the {what} must be one word of printable ASCII (no spaces, line breaks or other characters)"),
    );
    None
}

/// A URL written in `value` (or, when allowed, in the file `file` names). `secret`: the URL
/// itself is a credential.
fn url_from(
    value: Option<&Field<'_, '_>>,
    file: Option<&Field<'_, '_>>,
    secret: bool,
    base: &Path,
    rep: &mut Report<'_>,
) -> Option<(String, Origin)> {
    let (text, key) = secret_from(value, file, "url", base, rep)?;
    let span = value.or(file).map(Field::span).unwrap_or(0..0);
    match http_url(text.expose(), secret || value.is_none()) {
        Ok(_) => Some((text.expose().trim().to_string(), Origin { key, span })),
        Err(e) => {
            rep.error(&key, &span, e);
            None
        }
    }
}

/// Where a value came from, for a later message about it.
struct Origin {
    key: String,
    span: std::ops::Range<usize>,
}

pub(super) fn missing(
    rep: &mut Report<'_>,
    path: &str,
    key: &str,
    span: &std::ops::Range<usize>,
    why: &str,
) {
    rep.error(&format!("{path}.{key}"), span, format!("missing; {why}"));
}
pub(super) fn read(
    kind: NotifyKind,
    f: &KindFields<'_, '_>,
    path: &str,
    span: &std::ops::Range<usize>,
    base: &Path,
    rep: &mut Report<'_>,
) -> Option<Endpoint> {
    match kind {
        NotifyKind::Telegram => {
            let api_base = match &f.api_base {
                None => Some(TELEGRAM_API.to_string()),
                Some(a) => url_from(Some(a), None, false, base, rep)
                    .map(|(u, _)| u.trim_end_matches('/').to_string()),
            };
            let token = word_secret(
                f.bot_token.as_ref(),
                f.bot_token_file.as_ref(),
                "bot_token",
                base,
                rep,
            );
            let bot_token = match (token, &f.bot_token, &f.bot_token_file) {
                (Some(t), ..) if t.expose().contains(['/', '?', '#', '%']) => {
                    let at = f.bot_token.as_ref().or(f.bot_token_file.as_ref());
                    if let Some(at) = at {
                        at.fail(rep, "does not look like a bot token (digits, a colon, then letters, digits, - and _, as @BotFather gives it)");
                    }
                    None
                }
                (Some(t), ..) => Some(t),
                (None, None, None) => {
                    missing(
                        rep,
                        path,
                        "bot_token",
                        span,
                        "set bot_token or bot_token_file (the token @BotFather gave)",
                    );
                    None
                }
                (None, ..) => None,
            };
            let chat_id = match &f.chat_id {
                None => {
                    missing(rep, path, "chat_id", span, "the chat, group or @channel to write to");
                    None
                }
                Some(c) => c.words(rep).and_then(|w| match w.as_slice() {
                    [one] if one_word(one) => Some(one.clone()),
                    _ => {
                        c.fail(rep, "must be one chat id such as \"123456\", \"-100123456\" or \"@channel\"");
                        None
                    }
                }),
            };
            Some(Endpoint::Telegram {
                api_base: api_base?,
                bot_token: bot_token?,
                chat_id: chat_id?,
            })
        }
        NotifyKind::Ntfy => {
            let url = match &f.url {
                None => {
                    missing(
                        rep,
                        path,
                        "url",
                        span,
                        "the topic URL, such as \"https://ntfy.sh/my-topic\"",
                    );
                    None
                }
                Some(u) => url_from(Some(u), None, true, base, rep).and_then(|(u, at)| {
                    let topic = url::Url::parse(&u).map(|x| x.path().trim_matches('/').to_string());
                    if topic.map(|t| t.is_empty()).unwrap_or(true) {
                        rep.error(
                            &at.key,
                            &at.span,
                            format!(
                                "{:?} names no topic (write \"https://ntfy.sh/<topic>\")",
                                redact_endpoint(&u)
                            ),
                        );
                        return None;
                    }
                    Some(u)
                }),
            };
            let token = word_secret(f.token.as_ref(), f.token_file.as_ref(), "token", base, rep);
            let bad_token = token.is_none() && (f.token.is_some() || f.token_file.is_some());
            if bad_token {
                return None;
            }
            Some(Endpoint::Ntfy {
                url: Secret::new(url?),
                token,
            })
        }
        NotifyKind::Gotify => {
            let url = match &f.url {
                None => {
                    missing(
                        rep,
                        path,
                        "url",
                        span,
                        "the Gotify server, such as \"https://gotify.example.com\"",
                    );
                    None
                }
                Some(u) => url_from(Some(u), None, false, base, rep).map(|(u, _)| u),
            };
            let token = word_secret(f.token.as_ref(), f.token_file.as_ref(), "token", base, rep);
            if f.token.is_none() && f.token_file.is_none() {
                missing(
                    rep,
                    path,
                    "token",
                    span,
                    "set token or token_file (an application token of the server)",
                );
            }
            Some(Endpoint::Gotify {
                url: url?.trim_end_matches('/').to_string(),
                token: token?,
            })
        }
        NotifyKind::Bark => {
            let url = match &f.url {
                None => Some(BARK_SERVER.to_string()),
                Some(u) => url_from(Some(u), None, false, base, rep).map(|(u, _)| u),
            };
            let device_key = match &f.device_key {
                None => {
                    missing(rep, path, "device_key", span, "the key the Bark app shows");
                    None
                }
                Some(d) => word_secret(Some(d), None, "device_key", base, rep),
            };
            Some(Endpoint::Bark {
                url: url?.trim_end_matches('/').to_string(),
                device_key: device_key?,
            })
        }
        NotifyKind::Discord | NotifyKind::Slack => {
            if f.url.is_none() && f.url_file.is_none() {
                missing(
                    rep,
                    path,
                    "url",
                    span,
                    "set url or url_file (the channel's incoming-webhook URL)",
                );
                return None;
            }
            let (url, _) = url_from(f.url.as_ref(), f.url_file.as_ref(), true, base, rep)?;
            let url = Secret::new(url);
            Some(if kind == NotifyKind::Discord {
                Endpoint::Discord { url }
            } else {
                Endpoint::Slack { url }
            })
        }
    }
}
