//! Douyin live rooms (`live.douyin.com/<web_rid>`, `v.douyin.com/<code>`).

use async_trait::async_trait;

use super::{
    Locator, Platform, PlatformError, PlatformKind, RoomKey, RoomSpec, RoomStatus, RoomTarget,
    StreamSource,
};
use crate::config::PlatformConfig;

pub const DEFAULT_API_BASE: &str = "https://live.douyin.com";

/// Quality names, best first.
pub const QUALITIES: &[&str] = &["origin", "uhd", "hd", "sd", "ld", "md"];

fn is_web_rid(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `live.douyin.com/<web_rid>`, `live.douyin.com/?live_web_rid=<id>`,
/// `www.douyin.com/root/live/<web_rid>` and `v.douyin.com/<code>`.
pub fn recognize(url: &url::Url) -> Option<(PlatformKind, Locator)> {
    let host = url.host_str()?.to_ascii_lowercase();
    let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    match host.as_str() {
        "v.douyin.com" => (segments.len() == 1 && is_web_rid(segments[0]))
            .then(|| (PlatformKind::Douyin, Locator::Share(url.to_string()))),
        "live.douyin.com" => {
            let from_query = url
                .query_pairs()
                .find(|(k, _)| k == "live_web_rid" || k == "web_rid")
                .map(|(_, v)| v.into_owned());
            let id = match segments.as_slice() {
                [id] => Some(id.to_string()),
                [] => from_query,
                _ => None,
            }?;
            is_web_rid(&id).then_some((PlatformKind::Douyin, Locator::Id(id)))
        }
        "www.douyin.com" => match segments.as_slice() {
            ["root", "live", id] | ["follow", "live", id] if is_web_rid(id) => {
                Some((PlatformKind::Douyin, Locator::Id(id.to_string())))
            }
            _ => None,
        },
        _ => None,
    }
}

pub struct Douyin {
    _client: reqwest::Client,
}

impl Douyin {
    pub fn new(client: reqwest::Client, _cfg: &PlatformConfig) -> Self {
        Self { _client: client }
    }
}

#[async_trait]
impl Platform for Douyin {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Douyin
    }

    async fn resolve(&self, target: &RoomTarget) -> Result<RoomKey, PlatformError> {
        target.known_key().ok_or_else(|| {
            PlatformError::Unsupported("douyin share links are not built yet".into())
        })
    }

    async fn status(&self, _room: &RoomSpec) -> Result<RoomStatus, PlatformError> {
        Err(PlatformError::Unsupported(
            "douyin support is not built yet".into(),
        ))
    }

    async fn sources(&self, _room: &RoomSpec) -> Result<Vec<StreamSource>, PlatformError> {
        Err(PlatformError::Unsupported(
            "douyin support is not built yet".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(s: &str) -> Option<Locator> {
        recognize(&url::Url::parse(s).unwrap()).map(|(_, l)| l)
    }

    #[test]
    fn url_forms() {
        assert_eq!(
            rec("https://live.douyin.com/742345678901?a=b"),
            Some(Locator::Id("742345678901".into()))
        );
        assert_eq!(
            rec("https://live.douyin.com/?live_web_rid=123"),
            Some(Locator::Id("123".into()))
        );
        assert_eq!(
            rec("https://www.douyin.com/root/live/55"),
            Some(Locator::Id("55".into()))
        );
        assert!(matches!(
            rec("https://v.douyin.com/iRNBho6u/"),
            Some(Locator::Share(_))
        ));
        assert_eq!(rec("https://www.douyin.com/user/MS4wLjABAAAA"), None);
        assert_eq!(rec("https://live.douyin.com/a/b"), None);
    }
}
