//! The keyframe gate: a connection's frames are dropped until its first keyframe, so that every
//! file starts where a player can start. It gives up when no keyframe is recognised (encrypted
//! payloads, an unknown codec) or when the stream announces video and sends only audio.

/// Video frames dropped while waiting for the first keyframe of a connection before giving up.
const MAX_WAIT_FOR_KEYFRAME: usize = 300;
/// Audio frames dropped while waiting for a keyframe before deciding there is no video at all.
const MAX_AUDIO_WITHOUT_VIDEO: usize = 250;

/// What becomes of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pass {
    Drop,
    Frame,
    /// A keyframe: the GOP before it is complete.
    Keyframe,
    /// An audio frame, and the stream turned out to have no video: record the audio alone.
    NoVideo,
}

#[derive(Debug)]
pub(super) struct KeyframeGate {
    waiting: bool,
    dropped_video: usize,
    dropped_audio: usize,
}

impl Default for KeyframeGate {
    fn default() -> Self {
        Self {
            waiting: true,
            dropped_video: 0,
            dropped_audio: 0,
        }
    }
}

impl KeyframeGate {
    /// A decodable video frame.
    pub(super) fn video(&mut self, keyframe: bool) -> Pass {
        if keyframe {
            self.waiting = false;
            return Pass::Keyframe;
        }
        if !self.waiting {
            return Pass::Frame;
        }
        self.dropped_video += 1;
        if self.dropped_video < MAX_WAIT_FOR_KEYFRAME {
            return Pass::Drop;
        }
        tracing::warn!(
            "no keyframe recognised in the first {} video frames; recording without keyframe alignment (files split at twice the limits)",
            self.dropped_video
        );
        self.waiting = false;
        Pass::Frame
    }

    /// A decodable audio frame. `video_expected`: the stream has (or announced) video that can
    /// be decoded, so audio waits for its first keyframe; `has_video`: it has or announced any.
    pub(super) fn audio(&mut self, video_expected: bool, has_video: bool) -> Pass {
        if self.waiting && video_expected {
            self.dropped_audio += 1;
            // Video frames arriving (without a keyframe yet) mean the video is real.
            if self.dropped_audio < MAX_AUDIO_WITHOUT_VIDEO || self.dropped_video > 0 {
                return Pass::Drop;
            }
            tracing::warn!("the stream announces video but sends only audio; recording the audio");
            self.waiting = false;
            return Pass::NoVideo;
        }
        if self.waiting && !has_video {
            self.waiting = false;
        }
        Pass::Frame
    }

    /// A spliced stream starts (a new FLV header mid-connection): wait for its first keyframe.
    pub(super) fn rearm(&mut self) {
        self.waiting = true;
    }

    /// The connection ended: the next one waits for its own first keyframe.
    pub(super) fn end_connection(&mut self) {
        if self.dropped_video + self.dropped_audio > 0 {
            tracing::debug!(
                "{} video and {} audio tags came before the first keyframe and were dropped",
                self.dropped_video,
                self.dropped_audio
            );
        }
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests;
