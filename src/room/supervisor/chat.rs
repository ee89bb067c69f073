//! The room's chat task, from the supervisor's side: started and reconfigured with the room,
//! told about sessions, segments and lost streams, and heard from when it pushes something
//! about the live. Nothing here waits on chat for long: a segment's chat file is awaited for
//! [`crate::chat::CLOSE_WAIT`] at most, and every command is handed over without waiting.

use std::time::Instant;

use super::Supervisor;
use crate::chat::{self, ChatCmd, ChatSettings, ChatSignal};
use crate::config::RoomConfig;
use crate::room::state::Do;
use crate::writer::handle::Control;

pub(super) fn settings(cfg: &RoomConfig) -> ChatSettings {
    let c = &cfg.settings.chat;
    ChatSettings {
        // A room that records no video has no segment for a chat file to sit beside.
        record: c.danmaku && cfg.record,
        live_push: c.live_push && cfg.enabled,
        gifts: c.danmaku_gifts,
        raw: c.danmaku_raw,
    }
}

impl Supervisor {
    /// Starts, reconfigures or stops the chat task to match the room's settings. A task no
    /// longer wanted during a session is only reconfigured, and stopped when the session ends
    /// (its open chat file is kept to the segment's end: `danmaku` applies from the next one).
    pub(super) async fn sync_chat(&mut self) {
        let s = settings(&self.cfg);
        let wanted = s.wanted(self.key.platform) && self.cfg.enabled;
        match (self.chat.is_some(), wanted) {
            (true, false) if self.session.is_some() => {
                self.to_chat(ChatCmd::Settings(s, Box::new(self.spec())));
            }
            (false, true) => {
                let handle = chat::spawn(self.deps.platform.clone(), self.spec(), s);
                handle.send(ChatCmd::Broadcast(self.last_hint.clone()));
                handle.send(ChatCmd::Session(self.session.is_some()));
                self.chat = Some(handle);
            }
            (true, false) => {
                if let Some(c) = self.chat.take() {
                    c.stop().await;
                }
            }
            (true, true) => self.to_chat(ChatCmd::Settings(s, Box::new(self.spec()))),
            (false, false) => {}
        }
    }

    /// The session ended: a chat task kept for its last segment stops now if unwanted.
    pub(super) async fn chat_after_session(&mut self) {
        let s = settings(&self.cfg);
        if self.chat.is_some() && !(s.wanted(self.key.platform) && self.cfg.enabled) {
            self.sync_chat().await;
        }
    }

    pub(super) fn to_chat(&self, cmd: ChatCmd) {
        if let Some(c) = &self.chat {
            c.send(cmd);
        }
    }

    pub(super) fn on_chat_signal(&mut self, sig: ChatSignal) -> Vec<Do> {
        let now = Instant::now();
        match sig {
            ChatSignal::Live => {
                tracing::info!("chat pushed LIVE: checking now");
                self.machine.on_live_pushed(now)
            }
            ChatSignal::CheckNow(reason) => {
                tracing::info!("{reason}: checking now");
                self.machine.on_check_now(now)
            }
            ChatSignal::Notice(text) => {
                tracing::warn!("{text}");
                Vec::new()
            }
            ChatSignal::Title(title) => {
                if !title.is_empty() && title != self.snap.title {
                    tracing::info!("chat pushed a new title: {title:?}");
                    self.snap.title = title;
                    if let Some(writer) = self.session.as_ref().and_then(|s| s.writer.as_ref()) {
                        writer.control(Control::Meta(self.room_ref()));
                    }
                    // A live skipped for its title may pass with the new one.
                    if self.machine.is_skipped()
                        && !self.machine.limit_reached()
                        && self.title_refusal().is_none()
                    {
                        return self.machine.on_check_now(now);
                    }
                }
                Vec::new()
            }
            ChatSignal::State => Vec::new(),
        }
    }
}
