//! Share links and profile links, resolved to the room's `web_rid` (so that a streamer
//! configured twice, by room and by profile, is one room).
//!
//! - `v.douyin.com/<code>` is followed by hand, one redirect at a time: to
//!   `live.douyin.com/<web_rid>` (done), to the app's reflow page
//!   (`webcast.amemv.com/douyin/webcast/reflow/<room_id>?sec_user_id=<sec_uid>`: a live), or to
//!   a profile (`www.iesdouyin.com/share/user/<sec_uid>`, `www.douyin.com/user/<sec_uid>`).
//! - A live or a profile is asked of the signed reflow API (`data.room.owner.web_rid`; a profile
//!   with `room_id` 2, as biliup does), and failing that of the streamer's profile page (which
//!   names the live room's `web_rid` while the streamer is live, and other streamers' lives it
//!   recommends: a room is taken only once web/enter names the streamer as its owner).
//! - A profile whose streamer is not live names no room: that is
//!   [`PlatformError::NotLiveYet`] (asked again at the poll interval), never "not found".

use super::request::ANY_ROOM;
use super::{Douyin, Locator, PROFILE, Trace, api, is_sec_uid, recognize};
use crate::platform::PlatformError;
use crate::platform::web::{self, Hop};
use crate::util::secret::redact_url;

/// What a share link leads to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ShareTarget {
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
pub(crate) fn classify(u: &url::Url) -> Hop<ShareTarget> {
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
        let target = self.api.follow_share(link, &self.hosts, classify).await?;
        match target {
            ShareTarget::WebRid(id) => Ok(id),
            ShareTarget::Live { room_id, sec_uid } => {
                self.web_rid_of(&room_id, &sec_uid, trace).await
            }
            ShareTarget::Profile { sec_uid } => self.web_rid_of(ANY_ROOM, &sec_uid, trace).await,
        }
    }

    /// The live room of broadcast `room_id` (or, with [`ANY_ROOM`], the streamer's current
    /// live): the reflow API first, the streamer's profile page second. A room is taken only
    /// when it is the streamer's: a profile page also shows other streamers' lives.
    async fn web_rid_of(
        &self,
        room_id: &str,
        sec_uid: &str,
        trace: &mut Trace,
    ) -> Result<String, PlatformError> {
        let cookie = self.cookie.clone();
        // An answer said the streamer has no live room now (rather than: nothing answered).
        let mut not_live = false;
        match self.reflow(room_id, sec_uid, cookie.as_ref(), trace).await {
            Ok(room) => match room.web_rid.clone() {
                Some(id) if owned_by(&room, sec_uid) => return Ok(id),
                Some(_) => trace.note(super::REFLOW, "names another streamer's room; not taken"),
                None => {
                    trace.note(super::REFLOW, "names no live room");
                    not_live = true;
                }
            },
            // A paused platform is no place for a second request; a cancelled account is a
            // fact.
            Err(e @ (PlatformError::Blocked(_) | PlatformError::NotFound(_))) => return Err(e),
            Err(e) => {
                tracing::debug!("douyin: {}: {e}", super::REFLOW);
            }
        }
        if !sec_uid.is_empty() {
            match self.web_rid_from_profile(sec_uid, trace).await {
                Ok(Profile::Room(id)) => return Ok(id),
                Ok(Profile::NoRoom) => not_live = true,
                Ok(Profile::Unknown) => {}
                Err(e @ PlatformError::Blocked(_)) => return Err(e),
                Err(e) => tracing::debug!("douyin: {PROFILE}: {e}"),
            }
        }
        let live = if room_id == ANY_ROOM {
            String::new()
        } else {
            format!(" (live {room_id})")
        };
        if not_live {
            return Err(PlatformError::NotLiveYet(format!(
                "the streamer has no live room now{live}: the link names one only while they \
                 are live"
            )));
        }
        Err(PlatformError::Malformed(format!(
            "neither the reflow API nor the streamer's profile page answered with a live \
             room{live}; the link is tried again later"
        )))
    }

    /// The profile page (`www.douyin.com/user/<sec_uid>`), which names the live room's
    /// `web_rid` while the streamer is live, next to other streamers' rooms it recommends:
    /// each named room is taken only once web/enter says it is this streamer's.
    async fn web_rid_from_profile(
        &self,
        sec_uid: &str,
        trace: &mut Trace,
    ) -> Result<Profile, PlatformError> {
        let url = self
            .hosts
            .page(super::PROFILE_HOST, &format!("/user/{}", web::q(sec_uid)));
        let cookie = self.cookie.clone();
        let (permit, got) = self.page_get(&url, cookie.as_ref(), PROFILE, trace).await?;
        if api::is_captcha(&got.body) {
            return Err(permit.blocked(&format!("{PROFILE}: a captcha page (验证码)"), None));
        }
        // Given before the rooms are checked: a permit is never held while asking for another.
        permit.ok();
        let Some(rooms) = api::profile_rooms(&got.body) else {
            trace.note(PROFILE, "no page state (a challenge page?)");
            return Ok(Profile::Unknown);
        };
        if rooms.is_empty() {
            trace.note(PROFILE, "names no live room");
            return Ok(Profile::NoRoom);
        }
        let mut unknown = false;
        for id in rooms {
            match self.room(&id, cookie.as_ref(), false, trace).await {
                Ok(room) if room.sec_uid.as_deref() == Some(sec_uid) => {
                    trace.note(
                        PROFILE,
                        "names the streamer's live room (web/enter: their room)",
                    );
                    return Ok(Profile::Room(id));
                }
                Ok(room) if room.sec_uid.is_none() => {
                    trace.note(
                        PROFILE,
                        "names a room web/enter names no owner of; not taken",
                    );
                    unknown = true;
                }
                Ok(_) => trace.note(PROFILE, "names another streamer's room; not taken"),
                Err(e @ PlatformError::Blocked(_)) => return Err(e),
                Err(e) => {
                    tracing::debug!("douyin: a room the profile page names: {e}");
                    unknown = true;
                }
            }
        }
        Ok(if unknown {
            Profile::Unknown
        } else {
            Profile::NoRoom
        })
    }
}

/// What a streamer's profile page says about their live room.
enum Profile {
    Room(String),
    /// The page answered and names no room of theirs: they are not live.
    NoRoom,
    /// Nothing to go by (a challenge page, rooms whose owner could not be learnt).
    Unknown,
}

/// The room an answer asked by `sec_uid` names is the streamer's: it names no other owner.
fn owned_by(room: &api::DyRoom, sec_uid: &str) -> bool {
    sec_uid.is_empty() || room.sec_uid.as_deref().is_none_or(|o| o == sec_uid)
}

#[cfg(test)]
mod tests;
