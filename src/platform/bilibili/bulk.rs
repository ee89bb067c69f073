//! The async side of Bilibili's batch requests: the two endpoints that answer many rooms at
//! once (`get_status_info_by_uids`, `getRoomBaseInfo`), gathered by a coalescer each, and how
//! their answers reach the rooms' status checks and resolutions. What an answer means is
//! [`super::batch`]'s business.
//!
//! A batch endpoint that refuses (`-352`) or fails stands down for [`RECHECK`]: meanwhile
//! every room is checked on its own (whose own refusals decide whether it is risk control),
//! then the batch is tried again. One WARN line when it stands down, one INFO line when it
//! answers again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::HeaderMap;

use super::api::{self, Signed};
use super::batch::{
    self, BASE_INFO_PATH, Found, Next, STATUS_PATH, Verdict, base_info_query, judge_base,
    judge_status, status_query,
};
use super::{BATCH_ROOMS, Bilibili};
use crate::platform::coalesce::{Batch, Coalescer};
use crate::platform::limiter::{Lane, current_lane, in_lane};
use crate::platform::web::{Api, JSON_CAP};
use crate::platform::{PlatformError, PlatformKind, RoomKey, RoomSpec, RoomStatus};

/// Rooms whose polls fall within this of each other are polled at the same instant (their
/// schedule's quantum), so that their status checks share requests.
pub(crate) const BATCH_QUANTUM: Duration = Duration::from_secs(2);
/// How long a batch gathers rooms after its first one: rooms of one quantum arrive within
/// milliseconds; a room polled out of turn waits this much at most.
const WINDOW: Duration = Duration::from_millis(100);
/// After a batch endpoint refused or failed, rooms are checked on their own this long.
pub(crate) const RECHECK: Duration = Duration::from_secs(60);

/// One batch endpoint.
pub(crate) struct Endpoint {
    api: Api,
    url: String,
    label: &'static str,
    /// The platform's API headers (its cookie, a device id), made once.
    headers: Result<HeaderMap, PlatformError>,
    /// Standing down until then, after a refusal or failure.
    fallback: Mutex<Option<Instant>>,
}

impl Endpoint {
    fn new(
        api: Api,
        base: &str,
        path: &str,
        label: &'static str,
        headers: Result<HeaderMap, PlatformError>,
    ) -> Self {
        Self {
            api,
            url: format!("{base}{path}"),
            label,
            headers,
            fallback: Mutex::new(None),
        }
    }

    fn fallback(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        // Plain data: a panic elsewhere cannot leave it in a harmful state.
        self.fallback.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rooms are checked on their own now.
    pub(crate) fn standing_down(&self) -> bool {
        self.fallback().is_some_and(|until| Instant::now() < until)
    }

    /// One GET with `query`. A refusal gives the limiter no verdict on the IP: the per-room
    /// calls that stand in will.
    async fn get<T>(
        &self,
        query: &str,
        parse: fn(&[u8], &str) -> Result<Signed<T>, PlatformError>,
    ) -> Result<Signed<T>, PlatformError> {
        let headers = self.headers.clone()?;
        let url = format!("{}?{query}", self.url);
        let (permit, got) = self.api.fetch(&url, headers, self.label, JSON_CAP).await?;
        match parse(&got.body, self.label) {
            Ok(Signed::Refused(r)) => {
                drop(permit);
                Ok(Signed::Refused(r))
            }
            other => Api::settle(permit, other),
        }
    }

    /// After an answer: `failed` says why the batch failed, if it did.
    fn note(&self, failed: Option<&str>) {
        let mut fallback = self.fallback();
        match failed {
            Some(why) => {
                let now = Instant::now();
                if fallback.is_none() {
                    tracing::warn!(
                        "bilibili: the batch request {} failed ({why}): rooms are checked one by one, and the batch is tried again every {}s",
                        self.label,
                        RECHECK.as_secs()
                    );
                }
                *fallback = Some(now + RECHECK);
            }
            None => {
                if fallback.take().is_some() {
                    tracing::info!(
                        "bilibili: the batch request {} answers again: rooms are checked in batches",
                        self.label
                    );
                }
            }
        }
    }
}

/// `get_status_info_by_uids`: the live/offline status of up to [`BATCH_ROOMS`] anchors.
pub(crate) struct StatusBatch(pub(crate) Endpoint);

#[async_trait]
impl Batch for StatusBatch {
    type Key = u64;
    type Answer = Verdict;

    async fn ask(&self, uids: Vec<u64>) -> Vec<Verdict> {
        let answer = self.0.get(&status_query(&uids), api::batch_status).await;
        let verdicts = judge_status(&uids, answer);
        match verdicts.first() {
            Some(Verdict::Fallback(why)) => self.0.note(Some(why)),
            Some(Verdict::Blocked(_)) | None => {}
            Some(_) => self.0.note(None),
        }
        verdicts
    }
}

/// `getRoomBaseInfo`: up to [`BATCH_ROOMS`] room ids resolved to their long ids and uids.
pub(crate) struct BaseBatch(pub(crate) Endpoint);

#[async_trait]
impl Batch for BaseBatch {
    type Key = String;
    type Answer = Found;

    async fn ask(&self, ids: Vec<String>) -> Vec<Found> {
        let answer = self
            .0
            .get(&base_info_query(&ids), api::room_base_info_as)
            .await;
        let found = judge_base(&ids, answer);
        match found.first() {
            Some(Found::Fallback(why)) => self.0.note(Some(why)),
            Some(Found::Blocked(_)) | None => {}
            Some(_) => self.0.note(None),
        }
        found
    }
}

/// The coalescers of one Bilibili client.
pub(crate) struct Batches {
    pub(crate) status: Coalescer<StatusBatch>,
    pub(crate) base: Coalescer<BaseBatch>,
    pub(crate) memory: batch::Memory,
}

impl Batches {
    pub(crate) fn new(api: &Api, base: &str, headers: Result<HeaderMap, PlatformError>) -> Self {
        let endpoint = |path, label| Endpoint::new(api.clone(), base, path, label, headers.clone());
        Self {
            status: Coalescer::new(
                StatusBatch(endpoint(STATUS_PATH, "get_status_info_by_uids")),
                WINDOW,
                BATCH_ROOMS,
            ),
            base: Coalescer::new(
                BaseBatch(endpoint(BASE_INFO_PATH, "getRoomBaseInfo")),
                WINDOW,
                BATCH_ROOMS,
            ),
            memory: batch::Memory::default(),
        }
    }
}

impl Bilibili {
    /// A room's status: from the batch when its uid is known and it is an idle poll, else
    /// (a live room's own check, a uid not known yet, a batch standing down) on its own.
    pub(super) async fn status_batched(
        &self,
        room: &RoomSpec,
    ) -> Result<RoomStatus, PlatformError> {
        let id = &room.key.id;
        // The room's own check is boxed: a thousand polls waiting for their batch hold a
        // small future each, not that of a whole signed call.
        let uid = match self.batches.memory.uid(id) {
            Some(uid)
                if current_lane() == Lane::Idle
                    && !self.batches.status.batch().0.standing_down() =>
            {
                uid
            }
            _ => return Box::pin(self.status_alone(room)).await,
        };
        // Resolved a moment ago (its slot passed meanwhile): that answer is its first check.
        if let Some(status) = self.batches.memory.take_resolved(id, Instant::now()) {
            return Ok(status);
        }
        let verdict = self
            .api
            .limiter
            .queued(self.batches.status.ask(uid))
            .await
            .unwrap_or_else(|| Verdict::Fallback("the batch request was lost".into()));
        if matches!(&verdict, Verdict::Found(e) if e.room_id.to_string() != *id) {
            self.batches.memory.forget_uid(id);
        }
        let key = room.key.to_string();
        let seen = self.batches.memory.seen(&key);
        match batch::decide(id, verdict, seen.as_ref(), Instant::now()) {
            Next::Status(status) => {
                if !status.live {
                    self.batches.memory.offline(&key);
                }
                Ok(status)
            }
            Next::Fail(e) => Err(e),
            Next::AskRoom { live_time } => {
                // A room the batch found live is about to be recorded: its own check goes
                // before idle polls.
                let lane = if live_time.is_some() {
                    Lane::Live
                } else {
                    Lane::Idle
                };
                let status = Box::pin(in_lane(lane, self.status_alone(room))).await?;
                if let Some(t) = live_time {
                    self.batches
                        .memory
                        .checked(&key, t, &status, Instant::now());
                }
                Ok(status)
            }
        }
    }

    /// A room's status from its own calls (getInfoByRoom, its stand-in, the play info).
    pub(super) async fn status_alone(&self, room: &RoomSpec) -> Result<RoomStatus, PlatformError> {
        Ok(self.status_via(room).await?.0)
    }

    /// Resolves a room id (short or long) in a batch with other rooms; `room_init` answers
    /// what the batch cannot (an id it does not know, a batch that failed).
    pub(super) async fn resolve_batched(&self, id: &str) -> Result<RoomKey, PlatformError> {
        if !self.batches.base.batch().0.standing_down() {
            match self
                .api
                .limiter
                .queued(self.batches.base.ask(id.to_string()))
                .await
            {
                Some(Found::Room {
                    room_id,
                    uid,
                    status,
                }) => {
                    let long = room_id.to_string();
                    self.batches.memory.learn_uid(&long, uid);
                    self.batches.memory.resolved(&long, status, Instant::now());
                    if long != id {
                        tracing::info!("bilibili: room {id} is a short id for room {long}");
                    }
                    return Ok(RoomKey::new(PlatformKind::Bilibili, long));
                }
                Some(Found::Blocked(e)) => return Err(e),
                Some(Found::Missing | Found::Fallback(_)) | None => {}
            }
        }
        Box::pin(self.resolve_id(id)).await
    }
}
