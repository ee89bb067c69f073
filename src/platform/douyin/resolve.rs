//! Share links and profile links, resolved to the room's `web_rid` (so that a streamer
//! configured twice, by room and by profile, is one room).
//!
//! - `v.douyin.com/<code>` is followed by hand, one redirect at a time: to
//!   `live.douyin.com/<web_rid>` (done), to the app's reflow page
//!   (`webcast.amemv.com/douyin/webcast/reflow/<room_id>?sec_user_id=<sec_uid>`: a live), or to
//!   a profile (`www.iesdouyin.com/share/user/<sec_uid>`, `www.douyin.com/user/<sec_uid>`).
//! - A live or a profile is asked of the signed reflow API (`data.room.owner.web_rid`; a profile
//!   with `room_id` 2, as biliup does), and failing that of the streamer's profile page (which
//!   names the live room's `web_rid` while the streamer is live).
//! - A profile whose streamer is not live names no room: that is "unknown, retry later",
//!   never "not found".

use super::request::ANY_ROOM;
use super::{Douyin, Locator, PROFILE, Trace, api, is_sec_uid, recognize};
use crate::config::redact_url;
use crate::platform::PlatformError;
use crate::platform::web::{self, Hop};

/// What a share link leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum ShareTarget {
    WebRid(String),
    /// A broadcast in the app's reflow page, and its streamer when the link says.
    Live {
        room_id: String,
        sec_uid: String,
    },
    /// A streamer's profile.
    Profile {
        sec_uid: String,
    },
}

/// Where one hop of a share link leads.
pub fn classify(u: &url::Url) -> Hop<ShareTarget> {
    let host = u.host_str().unwrap_or_default().to_ascii_lowercase();
    if host == "v.douyin.com" {
        return Hop::Follow;
    }
    if let Some((_, Locator::Id(id))) = recognize(u) {
        return Hop::Done(ShareTarget::WebRid(id));
    }
    let segs: Vec<&str> = u
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let query = |key: &str| {
        u.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(i) = segs.iter().position(|s| *s == "reflow") {
        let room_id = segs.get(i + 1).copied().unwrap_or_default().to_string();
        let sec_uid = query("sec_user_id")
            .filter(|s| is_sec_uid(s))
            .unwrap_or_default();
        if !room_id.is_empty() && room_id.len() <= 32 && room_id.bytes().all(|b| b.is_ascii_digit())
        {
            return Hop::Done(ShareTarget::Live { room_id, sec_uid });
        }
    }
    if let Some(i) = segs.iter().position(|s| *s == "user") {
        let sec_uid = segs
            .get(i + 1)
            .map(|s| s.to_string())
            .filter(|s| is_sec_uid(s))
            .or_else(|| query("sec_uid").filter(|s| is_sec_uid(s)));
        if let Some(sec_uid) = sec_uid {
            return Hop::Done(ShareTarget::Profile { sec_uid });
        }
    }
    Hop::Reject(format!(
        "the share link leads to {}, which is neither a live room nor a streamer's profile",
        redact_url(u.as_str())
    ))
}

impl Douyin {
    /// The `web_rid` a share link or a profile link leads to.
    pub(super) async fn resolve_link(
        &self,
        link: &str,
        trace: &mut Trace,
    ) -> Result<String, PlatformError> {
        let target = self
            .api
            .follow_share(link, self.hosts.via.as_deref(), classify)
            .await?;
        match target {
            ShareTarget::WebRid(id) => Ok(id),
            ShareTarget::Live { room_id, sec_uid } => {
                self.web_rid_of(&room_id, &sec_uid, trace).await
            }
            ShareTarget::Profile { sec_uid } => self.web_rid_of(ANY_ROOM, &sec_uid, trace).await,
        }
    }

    /// The live room of broadcast `room_id` (or, with [`ANY_ROOM`], the streamer's current
    /// live): the reflow API first, the streamer's profile page second.
    async fn web_rid_of(
        &self,
        room_id: &str,
        sec_uid: &str,
        trace: &mut Trace,
    ) -> Result<String, PlatformError> {
        let cookie = self.cookie.clone();
        match self.reflow(room_id, sec_uid, cookie.as_ref(), trace).await {
            Ok(room) => match room.web_rid {
                Some(id) => return Ok(id),
                None => trace.note(super::REFLOW, "names no live room"),
            },
            // A paused platform is no place for a second request; a cancelled account is a
            // fact.
            Err(e @ (PlatformError::Blocked(_) | PlatformError::NotFound(_))) => return Err(e),
            Err(e) => {
                tracing::debug!("douyin: {}: {e}", super::REFLOW);
            }
        }
        if !sec_uid.is_empty() {
            if let Some(id) = self.web_rid_from_profile(sec_uid, trace).await? {
                return Ok(id);
            }
        }
        Err(PlatformError::Malformed(format!(
            "neither the reflow API nor the streamer's profile page names a live room now (the \
             streamer is not live, or Douyin did not answer{}); the link is tried again later",
            if room_id == ANY_ROOM {
                String::new()
            } else {
                format!("; live {room_id}")
            }
        )))
    }

    /// The profile page (`www.douyin.com/user/<sec_uid>`), which names the live room's
    /// `web_rid` while the streamer is live.
    async fn web_rid_from_profile(
        &self,
        sec_uid: &str,
        trace: &mut Trace,
    ) -> Result<Option<String>, PlatformError> {
        let url = self
            .hosts
            .page(super::PROFILE_HOST, &format!("/user/{}", web::q(sec_uid)));
        let cookie = self.cookie.clone();
        let (permit, got) = self.page_get(&url, cookie.as_ref(), PROFILE, trace).await?;
        if api::is_captcha(&got.body) {
            return Err(permit.blocked(&format!("{PROFILE}: a captcha page (验证码)"), None));
        }
        permit.ok();
        let id = api::profile_web_rid(&got.body);
        trace.note(
            PROFILE,
            match &id {
                Some(_) => "names the live room",
                None => "names no live room",
            },
        );
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(s: &str) -> Result<ShareTarget, String> {
        match classify(&url::Url::parse(s).unwrap()) {
            Hop::Done(t) => Ok(t),
            Hop::Follow => Err("follow".into()),
            Hop::Reject(why) => Err(why),
        }
    }

    #[test]
    fn where_share_links_lead() {
        assert_eq!(hop("https://v.douyin.com/iRNBho6u/"), Err("follow".into()));
        assert_eq!(
            hop("https://live.douyin.com/a.b-c?x=1"),
            Ok(ShareTarget::WebRid("a.b-c".into()))
        );
        assert_eq!(
            hop(
                "https://webcast.amemv.com/douyin/webcast/reflow/7300000000000000099?u_code=x&sec_user_id=MS4wLjABAAAAtest"
            ),
            Ok(ShareTarget::Live {
                room_id: "7300000000000000099".into(),
                sec_uid: "MS4wLjABAAAAtest".into()
            })
        );
        assert_eq!(
            hop("https://webcast.amemv.com/douyin/webcast/reflow/73?sec_user_id=bad%20uid"),
            Ok(ShareTarget::Live {
                room_id: "73".into(),
                sec_uid: String::new()
            })
        );
        assert_eq!(
            hop(
                "https://www.iesdouyin.com/share/user/MS4wLjABAAAAtest?sec_uid=MS4wLjABAAAAtest&u_code=1"
            ),
            Ok(ShareTarget::Profile {
                sec_uid: "MS4wLjABAAAAtest".into()
            })
        );
        assert_eq!(
            hop("https://www.iesdouyin.com/share/user/?sec_uid=MS4wLjABAAAAq"),
            Ok(ShareTarget::Profile {
                sec_uid: "MS4wLjABAAAAq".into()
            })
        );
        assert_eq!(
            hop("https://www.douyin.com/user/MS4wLjABAAAAtest?from_tab_name=main"),
            Ok(ShareTarget::Profile {
                sec_uid: "MS4wLjABAAAAtest".into()
            })
        );
        let e = hop("https://www.douyin.com/video/7300000000000000000?a=secret").unwrap_err();
        assert!(e.contains("neither a live room"), "{e}");
        assert!(!e.contains("secret"), "queries are not shown: {e}");
        assert!(hop("https://www.douyin.com/user/").is_err());
    }
}
