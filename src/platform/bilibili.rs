//! Bilibili live rooms (`live.bilibili.com/<id>`, `b23.tv/<code>`).

use async_trait::async_trait;

use super::{
    Locator, Platform, PlatformError, PlatformKind, RoomKey, RoomSpec, RoomStatus, RoomTarget,
    StreamSource,
};
use crate::config::PlatformConfig;

pub const DEFAULT_API_BASE: &str = "https://api.live.bilibili.com";

/// `live.bilibili.com/[h5/|blanc/]<N>` (the last all-digit path segment) and `b23.tv/<code>`.
pub fn recognize(url: &url::Url) -> Option<(PlatformKind, Locator)> {
    let host = url.host_str()?.to_ascii_lowercase();
    if host == "b23.tv" {
        let code = url.path().trim_matches('/');
        return (!code.is_empty() && !code.contains('/'))
            .then(|| (PlatformKind::Bilibili, Locator::Share(url.to_string())));
    }
    if host != "live.bilibili.com" && host != "m.live.bilibili.com" {
        return None;
    }
    let id = url
        .path_segments()?
        .rfind(|s| !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_digit()))?
        .trim_start_matches('0')
        .to_string();
    (!id.is_empty()).then_some((PlatformKind::Bilibili, Locator::MaybeShort(id)))
}

pub struct Bilibili {
    _client: reqwest::Client,
}

impl Bilibili {
    pub fn new(client: reqwest::Client, _cfg: &PlatformConfig) -> Self {
        Self { _client: client }
    }
}

#[async_trait]
impl Platform for Bilibili {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Bilibili
    }

    async fn resolve(&self, _target: &RoomTarget) -> Result<RoomKey, PlatformError> {
        Err(PlatformError::Unsupported(
            "bilibili support is not built yet".into(),
        ))
    }

    async fn status(&self, _room: &RoomSpec) -> Result<RoomStatus, PlatformError> {
        Err(PlatformError::Unsupported(
            "bilibili support is not built yet".into(),
        ))
    }

    async fn sources(&self, _room: &RoomSpec) -> Result<Vec<StreamSource>, PlatformError> {
        Err(PlatformError::Unsupported(
            "bilibili support is not built yet".into(),
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
            rec("https://live.bilibili.com/21452505"),
            Some(Locator::MaybeShort("21452505".into()))
        );
        assert_eq!(
            rec("https://live.bilibili.com/h5/76?x=1"),
            Some(Locator::MaybeShort("76".into()))
        );
        assert!(matches!(
            rec("https://b23.tv/AbC1234"),
            Some(Locator::Share(_))
        ));
        assert_eq!(rec("https://live.bilibili.com/"), None);
        assert_eq!(rec("https://space.bilibili.com/123"), None);
        assert_eq!(rec("https://b23.tv/"), None);
    }
}
