//! The platform-neutral chat records that the decoders produce and the XML writer consumes.
//!
//! The fields are what BililiveRecorder's XML can carry (`<d>`, `<sc>`, `<gift>`, `<guard>`;
//! DANMAKU.md §C.1), so both platforms' decoders fill the same shapes.

/// Who sent a message. `uid == 0` means unknown: Bilibili masks users (uid 0, name cut to its
/// first character plus `*`) on connections authenticated without a login cookie
/// (DANMAKU.md §A.6).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    pub uid: u64,
    pub name: String,
}

impl User {
    /// Whether the platform hid who this is (see the type's doc).
    #[cfg(test)]
    pub fn is_masked(&self) -> bool {
        self.uid == 0
    }
}

/// A chat line (Bilibili `DANMU_MSG`, Douyin `WebcastChatMessage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Danmaku {
    pub user: User,
    pub text: String,
    /// 1 scroll, 4 bottom, 5 top (the `<d p>` type field).
    pub mode: u32,
    pub size: u32,
    /// Decimal RGB.
    pub color: u32,
    /// When the sender sent it, unix milliseconds; 0 when unknown.
    pub sent_ms: i64,
    /// The platform's message as compact JSON, kept only when asked for (`danmaku_raw`).
    pub raw: Option<String>,
}

/// A paid, pinned message (Bilibili `SUPER_CHAT_MESSAGE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuperChat {
    pub user: User,
    pub message: String,
    /// Whole CNY yuan, as Bilibili sends it and as BililiveRecorder writes it.
    pub price_yuan: u64,
    /// How long it stays pinned, seconds.
    pub duration_s: u64,
    pub raw: Option<String>,
}

/// A gift (Bilibili `SEND_GIFT` / `SEND_GIFT_V2`, Douyin `WebcastGiftMessage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gift {
    pub user: User,
    pub gift_id: u64,
    pub name: String,
    pub count: u64,
    /// What the gift cost in all, in 1/1000 CNY (Bilibili's gold coins, the unit
    /// DanmakuFactory filters on); 0 for free (silver) gifts; `None` when the platform does not
    /// say in that unit.
    pub value_milli_cny: Option<u64>,
    /// Bilibili's transaction id, the key that deduplicates `SEND_GIFT` against `SEND_GIFT_V2`.
    pub tid: Option<String>,
    pub raw: Option<String>,
}

/// A guard (captain) purchase (Bilibili `GUARD_BUY`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    pub user: User,
    /// 1 总督, 2 提督, 3 舰长.
    pub level: u8,
    /// Months bought.
    pub months: u64,
    pub raw: Option<String>,
}

/// One record for the chat file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    Danmaku(Danmaku),
    SuperChat(SuperChat),
    Gift(Gift),
    Guard(Guard),
}

/// Counts message names a decoder does not handle and remembers the first few distinct ones,
/// so each new name is logged once and a hostile stream of made-up names costs bounded memory.
#[derive(Debug, Default)]
pub struct UnknownNames {
    seen: Vec<String>,
    total: u64,
}

impl UnknownNames {
    /// Distinct names remembered; later new names are counted but not remembered.
    pub const REMEMBERED: usize = 64;

    /// Counts `name`; true when it is new and remembered (log it then).
    pub fn note(&mut self, name: &str) -> bool {
        self.total = self.total.saturating_add(1);
        if self.seen.iter().any(|s| s == name) || self.seen.len() >= Self::REMEMBERED {
            return false;
        }
        self.seen.push(name.to_owned());
        true
    }

    #[cfg(test)]
    pub fn total(&self) -> u64 {
        self.total
    }
}

/// Cuts a name taken from the wire to at most `max` bytes on a character boundary, so an
/// unknown-command name cannot make a log line or a label arbitrarily long.
pub(crate) fn short_name(name: &str, max: usize) -> String {
    let mut end = name.len().min(max);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

#[cfg(test)]
mod tests;
