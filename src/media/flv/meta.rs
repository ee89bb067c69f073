//! The `onMetaData` liverec writes at the start of every file: the source's stream properties
//! plus duration, size and a keyframe index, laid out with a fixed size so that it can be
//! rewritten in place when the file closes (and again by `repair` after a crash).

use super::amf0::{self, Value};

/// Marks files whose metadata has liverec's reserved layout.
pub(crate) const CREATOR: &str = "liverec";

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Metadata {
    pub(crate) duration: f64,
    pub(crate) filesize: f64,
    pub(crate) width: f64,
    pub(crate) height: f64,
    pub(crate) framerate: f64,
    pub(crate) videocodecid: f64,
    pub(crate) videodatarate: f64,
    pub(crate) audiocodecid: f64,
    pub(crate) audiosamplerate: f64,
    pub(crate) audiodatarate: f64,
    pub(crate) stereo: bool,
    pub(crate) has_video: bool,
    pub(crate) has_audio: bool,
    pub(crate) lasttimestamp: f64,
    pub(crate) lastkeyframetimestamp: f64,
    pub(crate) lastkeyframelocation: f64,
    /// (time in seconds, byte offset of the keyframe's tag).
    pub(crate) keyframes: Vec<(f64, f64)>,
    /// A file without video: the video properties are left out (players would announce a
    /// video stream for them). Fixed for a file, so its metadata keeps its size.
    pub(crate) audio_only: bool,
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key)
        .and_then(Value::as_number)
        .filter(|n| n.is_finite())
}

impl Metadata {
    /// Takes the stream properties (not durations or sizes) from a source `onMetaData` object.
    pub(crate) fn take_source(&mut self, src: &Value) {
        let pick = |key: &str, into: &mut f64| {
            if let Some(n) = num(src, key) {
                *into = n;
            }
        };
        pick("width", &mut self.width);
        pick("height", &mut self.height);
        pick("framerate", &mut self.framerate);
        pick("videocodecid", &mut self.videocodecid);
        pick("videodatarate", &mut self.videodatarate);
        pick("audiocodecid", &mut self.audiocodecid);
        pick("audiosamplerate", &mut self.audiosamplerate);
        pick("audiodatarate", &mut self.audiodatarate);
        if let Some(Value::Bool(b)) = src.get("stereo") {
            self.stereo = *b;
        }
    }

    /// The script tag body, always the same length for the same `capacity`: the keyframe
    /// arrays hold `n` entries and a `spacer` array the unused `capacity - n`, twice.
    pub(crate) fn encode(&self, capacity: usize) -> Vec<u8> {
        let n = self.keyframes.len().min(capacity);
        let kf = &self.keyframes[..n];
        let keyframes = Value::Object(vec![
            (
                "times".into(),
                Value::StrictArray(kf.iter().map(|k| Value::Number(k.0)).collect()),
            ),
            (
                "filepositions".into(),
                Value::StrictArray(kf.iter().map(|k| Value::Number(k.1)).collect()),
            ),
            (
                "spacer".into(),
                Value::StrictArray(vec![Value::Number(f64::NAN); 2 * (capacity - n)]),
            ),
        ]);
        let mut props = vec![
            ("duration".into(), Value::Number(self.duration)),
            ("filesize".into(), Value::Number(self.filesize)),
        ];
        if !self.audio_only {
            props.extend([
                ("width".into(), Value::Number(self.width)),
                ("height".into(), Value::Number(self.height)),
                ("framerate".into(), Value::Number(self.framerate)),
                ("videocodecid".into(), Value::Number(self.videocodecid)),
                ("videodatarate".into(), Value::Number(self.videodatarate)),
            ]);
        }
        props.extend([
            ("audiocodecid".into(), Value::Number(self.audiocodecid)),
            (
                "audiosamplerate".into(),
                Value::Number(self.audiosamplerate),
            ),
            ("audiodatarate".into(), Value::Number(self.audiodatarate)),
            ("stereo".into(), Value::Bool(self.stereo)),
            ("hasVideo".into(), Value::Bool(self.has_video)),
            ("hasAudio".into(), Value::Bool(self.has_audio)),
            ("hasKeyframes".into(), Value::Bool(n > 0)),
            ("canSeekToEnd".into(), Value::Bool(self.duration > 0.0)),
            ("lasttimestamp".into(), Value::Number(self.lasttimestamp)),
            (
                "lastkeyframetimestamp".into(),
                Value::Number(self.lastkeyframetimestamp),
            ),
            (
                "lastkeyframelocation".into(),
                Value::Number(self.lastkeyframelocation),
            ),
            ("metadatacreator".into(), Value::String(CREATOR.into())),
            ("keyframes".into(), keyframes),
        ]);
        let mut out = Vec::new();
        amf0::encode(&Value::String("onMetaData".into()), &mut out);
        amf0::encode(&Value::EcmaArray(props), &mut out);
        out
    }

    /// Reads metadata written by [`Metadata::encode`]; `None` for anyone else's. Returns the
    /// values and the reserved keyframe capacity.
    pub(crate) fn decode_ours(body: &[u8]) -> Option<(Metadata, usize)> {
        let values = amf0::decode(body).ok()?;
        let (name, obj) = (values.first()?, values.get(1)?);
        if name.as_str() != Some("onMetaData")
            || obj.get("metadatacreator")?.as_str() != Some(CREATOR)
        {
            return None;
        }
        let kf = obj.get("keyframes")?;
        let len = |k: &str| match kf.get(k) {
            Some(Value::StrictArray(a)) => Some(a.len()),
            _ => None,
        };
        let (times, spacer) = (len("times")?, len("spacer")?);
        let mut m = Metadata::default();
        m.take_source(obj);
        m.audio_only = obj.get("width").is_none();
        Some((m, times + spacer / 2))
    }
}

#[cfg(test)]
mod tests;
