//! The stream sources of a live: `getRoomPlayInfo` asked for the preferred quality (again when
//! it was not given), turned into sources in the order to try, and the legacy `playUrl` when the
//! signed endpoint refuses.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::api::{self, PlayInfo, Prefs, Signed};
use super::memory::Endpoint;
use super::wbi;
use super::{Bilibili, PLAY_PATH, PLAY_UNSIGNED, PLAY_URL_LEGACY};
use crate::event::QualityRef;
use crate::platform::{PlatformError, RoomSpec, StreamFormat, StreamSource};

impl Bilibili {
    pub(super) fn play_params(room: &RoomSpec, qn: u32) -> [(&'static str, String); 10] {
        [
            ("room_id", room.key.id.clone()),
            ("protocol", "0,1".to_string()),
            ("format", "0,1,2".to_string()),
            ("codec", "0,1".to_string()),
            ("qn", qn.to_string()),
            ("platform", "web".to_string()),
            ("ptype", "8".to_string()),
            ("dolby", "5".to_string()),
            ("panorama", "1".to_string()),
            ("web_location", "444.8".to_string()),
        ]
    }

    /// `getRoomPlayInfo` at `qn`: signed, else unsigned, with the label of the call that
    /// answered. `None` when the unsigned call wants a signature too (the legacy `playUrl` is
    /// left).
    pub(super) async fn play_info(
        &self,
        room: &RoomSpec,
        qn: u32,
    ) -> Result<Option<(PlayInfo, &'static str)>, PlatformError> {
        let params = Self::play_params(room, qn);
        let cookie = room.cookie.as_ref();
        if let Some(got) = self
            .signed_call(Endpoint::Play, &params, cookie, api::play_info_as)
            .await?
        {
            return Ok(Some(got));
        }
        let url = format!("{}{PLAY_PATH}?{}", self.hosts.api, wbi::unsigned(&params));
        match self
            .call(&url, cookie, PLAY_UNSIGNED, api::play_info_as, false)
            .await?
        {
            Signed::Data(info) => Ok(Some((info, PLAY_UNSIGNED))),
            Signed::Refused(r) => {
                tracing::debug!("bilibili: {PLAY_UNSIGNED} refused: {r}");
                Ok(None)
            }
        }
    }

    /// The play info at the preferred quality: the status check's answer (or a new one at the
    /// first preference), then once more if it shows that the wanted quality is available but
    /// was not given. Not when the first answer was already capped and the cookie is not
    /// logged in: Bilibili would cap the second one too.
    pub(super) async fn play_info_preferred(
        &self,
        room: &RoomSpec,
    ) -> Result<Option<PlayInfo>, PlatformError> {
        let first = api::first_qn(&room.quality);
        let info = match self.recent.take(&room.key.to_string(), Instant::now()) {
            Some(info) => info,
            None => match self.play_info(room, first).await? {
                Some((info, _)) => info,
                None => return Ok(None),
            },
        };
        if let Some(e) = info.refusal() {
            return Err(e);
        }
        let prefs = Prefs::of(room);
        let Some(wanted) = api::rerequest_qn(&info, &prefs).filter(|&q| q != first) else {
            return Ok(Some(info));
        };
        if api::served_below(&info, &prefs, first) && self.login_for(room).await == Some(false) {
            tracing::debug!(
                "bilibili: qn {first} was capped and the cookie is not logged in: asking for qn {wanted} cannot help"
            );
            return Ok(Some(info));
        }
        match self.play_info(room, wanted).await {
            Ok(Some((again, _))) if again.refusal().is_none() && !again.streams.is_empty() => {
                Ok(Some(again))
            }
            Ok(_) => Ok(Some(info)),
            Err(e) => {
                tracing::debug!(
                    "bilibili: asking again for qn {wanted} failed: {e}; keeping qn {first}"
                );
                Ok(Some(info))
            }
        }
    }

    /// One WARN when the room's stream falls below the wanted quality, one INFO when it is back.
    pub(super) async fn note_quality(&self, room: &RoomSpec, info: &PlayInfo) {
        let capped = api::capped(info, &Prefs::of(room));
        if !self.capped.set(&room.key.to_string(), capped.is_some()) {
            return;
        }
        let Some((wanted, offered)) = capped else {
            tracing::info!("bilibili: the stream is at the wanted quality again");
            return;
        };
        let hint = match self.login_for(room).await {
            Some(false) => "log in (cookie_file) for the source quality",
            Some(true) => "even logged in (the streamer or Bilibili limits it for now)",
            None => "the room's own cookie may not be logged in",
        };
        tracing::warn!(
            "bilibili: asked for qn {}, Bilibili offers {}: {hint}",
            info.qn_label(wanted),
            info.qn_label(offered)
        );
    }

    pub(super) fn to_sources(&self, info: &PlayInfo, prefs: &Prefs<'_>) -> Vec<StreamSource> {
        let headers = self.stream_headers();
        api::candidates(info, prefs)
            .into_iter()
            .map(|c| StreamSource {
                below: api::wanted_for(info, prefs, &c.codec)
                    .filter(|&want| c.qn < want)
                    .map(|want| QualityRef {
                        wanted: info.qn_label(want),
                        recorded: info.qn_label(c.qn),
                    }),
                url: c.url,
                format: c.format.stream_format(),
                quality: format!("{} {}", c.format.name(), c.quality),
                headers: headers.clone(),
            })
            .collect()
    }

    /// The legacy FLV-only endpoint, for when `getRoomPlayInfo` wants a signature even unsigned.
    pub(super) async fn legacy_sources(
        &self,
        room: &RoomSpec,
    ) -> Result<Vec<StreamSource>, PlatformError> {
        if !self.legacy_in_use.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "bilibili: getRoomPlayInfo refuses signed and unsigned calls; using the legacy playUrl \
                 (FLV only, no choice of quality or codec)"
            );
        }
        if !room.formats.iter().any(|f| f == "flv") {
            return Err(PlatformError::NoStream(
                "getRoomPlayInfo refuses the call, and the legacy fallback offers only flv, which is not in `formats`"
                    .into(),
            ));
        }
        let url = format!(
            "{}/room/v1/Room/playUrl?cid={}&qn={}&platform=web",
            self.hosts.api,
            wbi::encode(&room.key.id),
            api::first_qn(&room.quality)
        );
        let legacy = self
            .api
            .json(
                &url,
                self.api_headers(room.cookie.as_ref())?,
                PLAY_URL_LEGACY,
                |b| api::play_url_v1_as(b, PLAY_URL_LEGACY),
            )
            .await?;
        let headers = self.stream_headers();
        let sources: Vec<StreamSource> = legacy
            .urls
            .into_iter()
            .map(|url| StreamSource {
                url,
                format: StreamFormat::Flv,
                quality: format!("flv {}", legacy.current_qn),
                headers: headers.clone(),
                // The legacy endpoint names no choice of quality to judge it by.
                below: None,
            })
            .collect();
        if sources.is_empty() {
            return Err(PlatformError::NoStream("playUrl offers no URL".into()));
        }
        Ok(sources)
    }

    pub(super) fn legacy_over(&self) {
        if self.legacy_in_use.swap(false, Ordering::Relaxed) {
            tracing::info!(
                "bilibili: getRoomPlayInfo answers again; the legacy playUrl is no longer used"
            );
        }
    }
}
