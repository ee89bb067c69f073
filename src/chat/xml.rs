//! The chat file: BililiveRecorder's XML format, one element per line, as text for the caller
//! to write next to a video segment.
//!
//! Format from DANMAKU.md §C.1/§C.4 (BililiveRecorder `BasicDanmakuWriter.cs`); what the readers
//! need from §C.3:
//!
//! - DanmakuFactory (`src/XmlFile.c`) is a scanner, not a parser: a tag runs from `<` to the next
//!   `>`, so `>` is escaped inside attributes too; attribute values other than `p` and `raw` end
//!   at the next space; `user` is not unescaped; element text is read up to the next `<` and
//!   unescaped (`&amp; &lt; &gt; &apos; &quot; &#34;` only, so newlines are not written as
//!   `&#10;`). It multiplies `<sc price>` by 1000 only when `<BililiveRecorder` occurs in the
//!   first 1,024 bytes, which the header guarantees.
//! - Strict parsers (Python's ElementTree in danmaku_tools) need a well-formed, closed document;
//!   BililiveRecorder's toolbox reads `BililiveRecorderRecordInfo/@start_time` as the wall-clock
//!   instant of offset 0, with a UTC offset.
//! - One element per line, never a newline inside one, so a file torn by a crash is repaired
//!   exactly by cutting after its last newline ([`plan_repair`]).

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, SecondsFormat};

use super::event::{ChatEvent, Danmaku, Gift, Guard, SuperChat};

/// What the header says about the recording.
#[derive(Debug, Clone)]
pub struct RecordInfo<'a> {
    pub room_id: u64,
    /// 0 when the room has no short id.
    pub short_id: u64,
    /// The streamer's name.
    pub name: &'a str,
    pub title: &'a str,
    pub area_parent: &'a str,
    pub area_child: &'a str,
    /// The wall-clock instant of offset 0 (the segment's start).
    pub start_time: DateTime<FixedOffset>,
    pub recorder_version: &'a str,
    pub platform: &'a str,
    /// liverec's room key, e.g. `bilibili:21452505`.
    pub room: &'a str,
    pub session: &'a str,
    /// The segment's number within the session.
    pub index: u32,
}

/// Which records go into the file (BililiveRecorder's defaults: super chats and guards on,
/// gifts and raw JSON off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlOptions {
    pub super_chats: bool,
    pub gifts: bool,
    pub guards: bool,
    /// Write the platform's JSON as a `raw` attribute (`danmaku_raw`).
    pub raw: bool,
}

impl Default for XmlOptions {
    fn default() -> Self {
        XmlOptions {
            super_chats: true,
            gifts: false,
            guards: true,
            raw: false,
        }
    }
}

/// The line that closes a file.
pub const FOOTER: &str = "</i>\n";

/// Formats chat files; holds only the options, so one per room is enough.
#[derive(Debug, Clone, Copy, Default)]
pub struct XmlWriter {
    options: XmlOptions,
}

impl XmlWriter {
    pub fn new(options: XmlOptions) -> Self {
        XmlWriter { options }
    }

    /// The file's first lines, ending with a newline.
    pub fn header(info: &RecordInfo<'_>) -> String {
        // The fixed part keeps `<BililiveRecorderRecordInfo` about 250 bytes in, far inside
        // DanmakuFactory's 1,024-byte window whatever the names and title are.
        let mut out = String::from(concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<i>\n",
            "  <chatserver>chat.bilibili.com</chatserver>\n",
            "  <chatid>0</chatid>\n",
            "  <mission>0</mission>\n",
            "  <maxlimit>1000</maxlimit>\n",
            "  <state>0</state>\n",
            "  <real_name>0</real_name>\n",
            "  <source>0</source>\n",
        ));
        let _ = writeln!(
            out,
            "  <BililiveRecorderRecordInfo roomid=\"{}\" shortid=\"{}\" name=\"{}\" title=\"{}\" \
             areanameparent=\"{}\" areanamechild=\"{}\" start_time=\"{}\" />",
            info.room_id,
            info.short_id,
            Attr(info.name),
            Attr(info.title),
            Attr(info.area_parent),
            Attr(info.area_child),
            info.start_time
                .to_rfc3339_opts(SecondsFormat::Millis, false),
        );
        let _ = writeln!(
            out,
            "  <liverec version=\"{}\" platform=\"{}\" room=\"{}\" session=\"{}\" index=\"{}\" />",
            Attr(info.recorder_version),
            Attr(info.platform),
            Attr(info.room),
            Attr(info.session),
            info.index,
        );
        out
    }

    /// One record as one line (ending with a newline), `offset` after the file's start; `None`
    /// when the options leave this kind out or a chat line has no visible text.
    pub fn element(&self, event: &ChatEvent, offset: Duration) -> Option<String> {
        let ts = Seconds(offset);
        let mut line = String::with_capacity(128);
        // Attribute order follows BililiveRecorder except that `user` and `giftname` come last:
        // DanmakuFactory ends those values at the first space, and whatever attribute follows a
        // name with a space in it is lost to its scanner.
        match event {
            ChatEvent::Danmaku(d) => {
                if clean(&d.text).all(|c| c.is_whitespace()) {
                    return None;
                }
                let Danmaku {
                    user,
                    text,
                    mode,
                    size,
                    color,
                    sent_ms,
                    raw,
                } = d;
                let _ = write!(
                    line,
                    "  <d p=\"{ts},{mode},{size},{color},{sent_ms},0,{},0\" user=\"{}\"{}>{}</d>",
                    user.uid,
                    Attr(&user.name),
                    self.raw(raw),
                    Text(text),
                );
            }
            ChatEvent::SuperChat(sc) if self.options.super_chats => {
                let SuperChat {
                    user,
                    message,
                    price_yuan,
                    duration_s,
                    raw,
                } = sc;
                let _ = write!(
                    line,
                    "  <sc ts=\"{ts}\" uid=\"{}\" price=\"{price_yuan}\" time=\"{duration_s}\"{} user=\"{}\">{}</sc>",
                    user.uid,
                    self.raw(raw),
                    Attr(&user.name),
                    Text(message),
                );
            }
            ChatEvent::Gift(g) if self.options.gifts => {
                let Gift {
                    user,
                    name,
                    count,
                    value_milli_cny,
                    raw,
                    ..
                } = g;
                // DanmakuFactory takes `price` as the element's total in 1/1000 CNY (it adds
                // prices up when it merges gifts); without one it never filters the gift out.
                let price = value_milli_cny
                    .map(|v| format!(" price=\"{v}\""))
                    .unwrap_or_default();
                let _ = write!(
                    line,
                    "  <gift ts=\"{ts}\" uid=\"{}\" giftcount=\"{count}\"{price}{} user=\"{}\" giftname=\"{}\" />",
                    user.uid,
                    self.raw(raw),
                    Attr(&user.name),
                    Attr(name),
                );
            }
            ChatEvent::Guard(g) if self.options.guards => {
                let Guard {
                    user,
                    level,
                    months,
                    raw,
                } = g;
                let _ = write!(
                    line,
                    "  <guard ts=\"{ts}\" uid=\"{}\" level=\"{level}\" count=\"{months}\"{} user=\"{}\" />",
                    user.uid,
                    self.raw(raw),
                    Attr(&user.name),
                );
            }
            _ => return None,
        }
        line.push('\n');
        Some(line)
    }

    #[cfg(test)]
    pub fn footer() -> &'static str {
        FOOTER
    }

    fn raw(&self, raw: &Option<String>) -> String {
        match raw {
            Some(json) if self.options.raw => format!(" raw=\"{}\"", Attr(json)),
            _ => String::new(),
        }
    }
}

/// How to close a `.xml.part` left by a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair {
    /// Already closed; keep it as it is.
    Complete,
    /// Cut the file to `keep` bytes, then append [`FOOTER`].
    Truncate { keep: usize },
    /// Not even the header reached the disk; nothing worth keeping.
    Unusable,
}

/// Decides the repair of a torn chat file from its content.
pub fn plan_repair(content: &[u8]) -> Repair {
    // A crash can leave a zero-filled tail (delayed allocation); nothing from the first NUL on
    // was written by us.
    let written = content
        .iter()
        .position(|&b| b == 0)
        .map_or(content, |nul| &content[..nul]);
    if written.len() == content.len() && content.ends_with(FOOTER.as_bytes()) {
        return Repair::Complete;
    }
    let Some(last_newline) = written.iter().rposition(|&b| b == b'\n') else {
        return Repair::Unusable;
    };
    let mut keep = last_newline + 1;
    // Every complete line is a complete element, so any line boundary after `<i>` is a valid
    // place to close the document.
    if !find(&written[..keep], b"\n<i>\n") {
        return Repair::Unusable;
    }
    if written[..keep].ends_with(FOOTER.as_bytes()) {
        keep -= FOOTER.len();
    }
    Repair::Truncate { keep }
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Seconds with exactly three decimals, from whole milliseconds (no float rounding surprises).
struct Seconds(Duration);

impl std::fmt::Display for Seconds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0.as_millis();
        write!(f, "{}.{:03}", ms / 1000, ms % 1000)
    }
}

/// Characters BililiveRecorder's `RemoveInvalidXMLChars` drops: C0 controls except tab/LF/CR,
/// DEL and C1 controls, the BOM and the two non-characters XML forbids. (Rust strings hold no
/// lone surrogates, the regex's other half.)
fn invalid(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{7F}'..='\u{9F}'
        | '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Drops invalid characters and turns tab/LF/CR into spaces: a newline would break the
/// one-element-per-line rule, and DanmakuFactory would show `&#10;` literally.
fn clean(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().filter(|&c| !invalid(c)).map(|c| match c {
        '\t' | '\n' | '\r' => ' ',
        c => c,
    })
}

fn escape(f: &mut std::fmt::Formatter<'_>, s: &str, attribute: bool) -> std::fmt::Result {
    for c in clean(s) {
        match c {
            '&' => f.write_str("&amp;")?,
            '<' => f.write_str("&lt;")?,
            '>' => f.write_str("&gt;")?,
            '"' => f.write_str("&quot;")?,
            // Inside a double-quoted attribute `'` is legal XML, and DanmakuFactory does not
            // unescape `user`, so `&apos;` would be shown literally; in text it unescapes it.
            '\'' if !attribute => f.write_str("&apos;")?,
            c => f.write_char(c)?,
        }
    }
    Ok(())
}

/// A value escaped for a double-quoted attribute.
struct Attr<'a>(&'a str);

impl std::fmt::Display for Attr<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        escape(f, self.0, true)
    }
}

/// A value escaped for element text.
struct Text<'a>(&'a str);

impl std::fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        escape(f, self.0, false)
    }
}

#[cfg(test)]
mod tests;
