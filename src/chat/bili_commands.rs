//! Bilibili operation-5 commands (JSON bodies) to typed values: chat records for the XML file and
//! room-state signals for the room supervisor.
//!
//! Shapes from DANMAKU.md §A.4/§A.5 (bilibili-API-collect `message_stream.md`, blivedm
//! `models/web.py` and `models/pb.py`, BililiveRecorder `BasicDanmakuWriter.cs` and
//! `SendGiftV2Broadcast.cs`). Every field is read defensively: old rooms and masked connections
//! omit trailing `info` items, ids arrive as numbers or strings, and a hostile body (wrong
//! types, huge numbers, missing fields) yields an error or a default, never a panic. An unknown
//! `cmd` is [`Command::Other`], not an error.

use std::collections::VecDeque;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;

use super::event::{ChatEvent, Danmaku, Gift, Guard, SuperChat, User, short_name};
use super::protobuf::{ProtoError, for_each_field};

/// A decoded command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `DANMU_MSG`, `SUPER_CHAT_MESSAGE` or `GUARD_BUY`.
    Chat(ChatEvent),
    /// `SEND_GIFT` (one gift) or `SEND_GIFT_V2` (one or more, e.g. a blind-box batch; none when
    /// the message's `switch` tells web clients to ignore it).
    Gifts {
        source: GiftSource,
        gifts: Vec<Gift>,
    },
    /// A change of the room's state (DANMAKU.md §B: these only ever trigger a poll or a title
    /// update, never end a recording).
    Room(RoomSignal),
    /// A command this module does not handle, by name (suffix stripped, at most 64 bytes).
    Other(String),
}

/// Which command a gift came from; see [`GiftDedup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiftSource {
    SendGift,
    SendGiftV2,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomSignal {
    /// `LIVE`: the streamer went live (sent several times per broadcast; `live_time` only in
    /// the first).
    Live {
        room_id: Option<u64>,
        live_time: Option<i64>,
    },
    /// `PREPARING`: the stream stopped; `round` means the room switched to its replay loop.
    Preparing { room_id: Option<u64>, round: bool },
    /// `CUT_OFF` / `CUT_OFF_V2`: an admin cut the stream, with the reason given.
    CutOff {
        room_id: Option<u64>,
        reason: String,
    },
    /// `ROOM_LOCK`: the room was banned.
    RoomLock { room_id: Option<u64> },
    /// `ROOM_CHANGE`: new title (and areas) for the next file.
    RoomChange {
        title: String,
        area: Option<String>,
        parent_area: Option<String>,
    },
    /// `WARNING`: a warning to the streamer, not an end.
    Warning { message: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("command is not valid JSON: {0}")]
    Json(String),
    #[error("command is not a JSON object with a string `cmd`")]
    NoCmd,
    #[error("{cmd} without a usable `{field}`")]
    Missing {
        cmd: &'static str,
        field: &'static str,
    },
    #[error("{cmd} with an unreadable payload: {reason}")]
    BadPayload { cmd: &'static str, reason: String },
}

/// At most this many gifts are taken from one `SEND_GIFT_V2`: a few bytes of protobuf per
/// entry could otherwise become megabytes of records.
pub const MAX_GIFTS_PER_MESSAGE: usize = 100;

/// Decodes one command body. `keep_raw` keeps the platform's JSON (`info` for chat, `data` for
/// the rest, as BililiveRecorder's `raw` attribute does) for the `danmaku_raw` option.
pub fn parse_command(body: &[u8], keep_raw: bool) -> Result<Command, CommandError> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| CommandError::Json(e.to_string()))?;
    let cmd = root
        .get("cmd")
        .and_then(Value::as_str)
        .ok_or(CommandError::NoCmd)?;
    // `DANMU_MSG:4:0:2:2:2:0` and the like: the name ends at the first colon.
    let name = cmd.split(':').next().unwrap_or(cmd);
    let raw = |v: &Value| keep_raw.then(|| v.to_string());
    Ok(match name {
        "DANMU_MSG" => Command::Chat(ChatEvent::Danmaku(danmu_msg(&root, &raw)?)),
        "SUPER_CHAT_MESSAGE" => Command::Chat(ChatEvent::SuperChat(super_chat(&root, &raw)?)),
        "SEND_GIFT" => Command::Gifts {
            source: GiftSource::SendGift,
            gifts: vec![send_gift(&root, &raw)?],
        },
        "SEND_GIFT_V2" => Command::Gifts {
            source: GiftSource::SendGiftV2,
            gifts: send_gift_v2(&root)?,
        },
        "GUARD_BUY" => Command::Chat(ChatEvent::Guard(guard_buy(&root, &raw)?)),
        "LIVE" => Command::Room(RoomSignal::Live {
            room_id: uint(root.get("roomid")),
            live_time: int(root.get("live_time")),
        }),
        "PREPARING" => Command::Room(RoomSignal::Preparing {
            // Now a string in PREPARING (BAC: 「类型似乎从num改为str」); uint() takes both.
            room_id: uint(root.get("roomid")),
            round: uint(root.get("round")) == Some(1),
        }),
        "CUT_OFF" => Command::Room(RoomSignal::CutOff {
            room_id: uint(root.get("roomid")),
            reason: text(root.get("msg")).unwrap_or_default().to_owned(),
        }),
        "CUT_OFF_V2" => Command::Room(RoomSignal::CutOff {
            room_id: None,
            reason: cut_off_v2_reason(&root),
        }),
        "ROOM_LOCK" => Command::Room(RoomSignal::RoomLock {
            room_id: uint(root.get("roomid")),
        }),
        "ROOM_CHANGE" => {
            let data = root.get("data");
            let field = |k: &str| text(data.and_then(|d| d.get(k))).map(str::to_owned);
            Command::Room(RoomSignal::RoomChange {
                title: field("title").ok_or(CommandError::Missing {
                    cmd: "ROOM_CHANGE",
                    field: "data.title",
                })?,
                area: field("area_name"),
                parent_area: field("parent_area_name"),
            })
        }
        "WARNING" => Command::Room(RoomSignal::Warning {
            message: text(root.get("msg")).unwrap_or_default().to_owned(),
        }),
        other => Command::Other(short_name(other, 64)),
    })
}

fn danmu_msg(
    root: &Value,
    raw: &dyn Fn(&Value) -> Option<String>,
) -> Result<Danmaku, CommandError> {
    let missing = |field| CommandError::Missing {
        cmd: "DANMU_MSG",
        field,
    };
    let info_value = root.get("info").ok_or(missing("info"))?;
    let info = info_value.as_array().ok_or(missing("info"))?;
    let meta = slice(info.first());
    let text = text(info.get(1)).ok_or(missing("info[1]"))?;
    // `info[2]` is `[uid, uname, ...]`; newer servers also put the user in `info[0][15].user`,
    // which is the fallback when `info[2]` is cut short.
    let sender = slice(info.get(2));
    let extra_user = meta.get(15).and_then(|m| m.get("user"));
    let uid = uint(sender.first())
        .or_else(|| uint(extra_user.and_then(|u| u.get("uid"))))
        .unwrap_or(0);
    let name = text_of(sender.get(1))
        .or_else(|| {
            text_of(
                extra_user
                    .and_then(|u| u.get("base"))
                    .and_then(|b| b.get("name")),
            )
        })
        .unwrap_or_default();
    Ok(Danmaku {
        user: User {
            uid,
            name: name.to_owned(),
        },
        text: text.to_owned(),
        // Defaults as BililiveRecorder writes them when an item is missing.
        mode: small(meta.get(1)).unwrap_or(1),
        size: small(meta.get(2)).unwrap_or(25),
        color: small(meta.get(3)).unwrap_or(0xFF_FFFF),
        sent_ms: int(meta.get(4)).unwrap_or(0),
        raw: raw(info_value),
    })
}

fn super_chat(
    root: &Value,
    raw: &dyn Fn(&Value) -> Option<String>,
) -> Result<SuperChat, CommandError> {
    let missing = |field| CommandError::Missing {
        cmd: "SUPER_CHAT_MESSAGE",
        field,
    };
    let data = root
        .get("data")
        .filter(|d| d.is_object())
        .ok_or(missing("data"))?;
    Ok(SuperChat {
        user: User {
            uid: uint(data.get("uid")).unwrap_or(0),
            name: text_of(data.get("user_info").and_then(|u| u.get("uname")))
                .unwrap_or_default()
                .to_owned(),
        },
        message: text(data.get("message"))
            .ok_or(missing("data.message"))?
            .to_owned(),
        price_yuan: uint(data.get("price")).unwrap_or(0),
        duration_s: uint(data.get("time")).unwrap_or(0),
        raw: raw(data),
    })
}

fn send_gift(root: &Value, raw: &dyn Fn(&Value) -> Option<String>) -> Result<Gift, CommandError> {
    let missing = |field| CommandError::Missing {
        cmd: "SEND_GIFT",
        field,
    };
    let data = root
        .get("data")
        .filter(|d| d.is_object())
        .ok_or(missing("data"))?;
    let count = uint(data.get("num")).unwrap_or(1);
    Ok(Gift {
        user: User {
            uid: uint(data.get("uid")).unwrap_or(0),
            name: text(data.get("uname")).unwrap_or_default().to_owned(),
        },
        gift_id: uint(data.get("giftId")).unwrap_or(0),
        name: text(data.get("giftName"))
            .ok_or(missing("data.giftName"))?
            .to_owned(),
        count,
        value_milli_cny: gift_value(
            text(data.get("coin_type")),
            uint(data.get("total_coin")),
            uint(data.get("price")),
            count,
        ),
        tid: match data.get("tid") {
            Some(Value::String(s)) => Some(short_name(s, 64)),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        },
        raw: raw(data),
    })
}

/// Gold coins are 1/1000 CNY; `total_coin` is what was paid (BAC: not always `num * price`);
/// silver gifts are free.
fn gift_value(
    coin_type: Option<&str>,
    total_coin: Option<u64>,
    unit_price: Option<u64>,
    count: u64,
) -> Option<u64> {
    match coin_type? {
        "silver" => Some(0),
        "gold" => total_coin.or_else(|| unit_price.map(|p| p.saturating_mul(count))),
        _ => None,
    }
}

/// `data.pb` is base64 of `SendGiftBroadcast` (blivedm `models/pb.py`):
/// `{1 uid; 2 uname; 10 repeated gift {1 gift_id; 2 gift_name; 3 num; 5 price; 7 total_coin;
/// 8 coin_type; 9 tid}; 11 switch}`.
fn send_gift_v2(root: &Value) -> Result<Vec<Gift>, CommandError> {
    let pb = text(root.get("data").and_then(|d| d.get("pb"))).ok_or(CommandError::Missing {
        cmd: "SEND_GIFT_V2",
        field: "data.pb",
    })?;
    let bad = |reason: String| CommandError::BadPayload {
        cmd: "SEND_GIFT_V2",
        reason,
    };
    // Padding is accepted either way: nothing here depends on canonical base64.
    let engine = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let bytes = engine.decode(pb).map_err(|e| bad(e.to_string()))?;

    let mut user = User::default();
    let mut entries = Vec::new();
    let mut switch = false;
    for_each_field(&bytes, |number, value| match number {
        1 => user.uid = value.as_u64().unwrap_or(0),
        2 => user.name = value.as_string().unwrap_or_default(),
        10 => {
            if let Some(b) = value.as_bytes() {
                entries.push(b);
            }
        }
        11 => switch = value.as_u64() == Some(1),
        _ => {}
    })
    .map_err(|e: ProtoError| bad(e.to_string()))?;
    // BililiveRecorder: 「网页端仅在此项为 true 时处理该消息」 (the web client handles it only
    // when true).
    if !switch {
        return Ok(Vec::new());
    }
    entries
        .into_iter()
        .take(MAX_GIFTS_PER_MESSAGE)
        .map(|entry| {
            let mut gift = Gift {
                user: user.clone(),
                gift_id: 0,
                name: String::new(),
                count: 1,
                value_milli_cny: None,
                tid: None,
                raw: None,
            };
            let (mut coin_type, mut total, mut price) = (None, None, None);
            for_each_field(entry, |number, value| match number {
                1 => gift.gift_id = value.as_u64().unwrap_or(0),
                2 => gift.name = value.as_string().unwrap_or_default(),
                3 => gift.count = value.as_u64().unwrap_or(1),
                5 => price = value.as_u64(),
                7 => total = value.as_u64(),
                8 => coin_type = value.as_string(),
                9 => gift.tid = value.as_string().map(|t| short_name(&t, 64)),
                _ => {}
            })
            .map_err(|e| bad(e.to_string()))?;
            gift.value_milli_cny = gift_value(coin_type.as_deref(), total, price, gift.count);
            Ok(gift)
        })
        .collect()
}

fn guard_buy(root: &Value, raw: &dyn Fn(&Value) -> Option<String>) -> Result<Guard, CommandError> {
    let data = root
        .get("data")
        .filter(|d| d.is_object())
        .ok_or(CommandError::Missing {
            cmd: "GUARD_BUY",
            field: "data",
        })?;
    Ok(Guard {
        user: User {
            uid: uint(data.get("uid")).unwrap_or(0),
            name: text(data.get("username")).unwrap_or_default().to_owned(),
        },
        // 0 = unknown; DanmakuFactory maps unknown levels to its lowest price.
        level: uint(data.get("guard_level"))
            .and_then(|l| u8::try_from(l).ok())
            .unwrap_or(0),
        months: uint(data.get("num")).unwrap_or(1),
        raw: raw(data),
    })
}

/// `data.cut_off_data.cut_off_message_list[].{label,content}` (BAC §切断V2), joined for a log line.
fn cut_off_v2_reason(root: &Value) -> String {
    let list = root
        .pointer("/data/cut_off_data/cut_off_message_list")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    list.iter()
        .take(16)
        .map(|item| {
            let label = text(item.get("label")).unwrap_or_default();
            let content = text(item.get("content")).unwrap_or_default();
            format!("{label} {content}").trim().to_owned()
        })
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Remembers recent gift transaction ids so a gift announced by both `SEND_GIFT` and
/// `SEND_GIFT_V2` is recorded once (DANMAKU.md open points: whether both are sent during the
/// rollout is unconfirmed). Only a repeat from the *other* command counts as a duplicate, so a
/// batch that shares one `tid` inside a single command loses nothing.
#[derive(Debug, Default)]
pub struct GiftDedup {
    recent: VecDeque<(String, GiftSource)>,
}

impl GiftDedup {
    /// Transactions remembered; a few minutes of a busy room.
    pub const WINDOW: usize = 512;

    /// True when `gift` should be recorded.
    pub fn admit(&mut self, gift: &Gift, source: GiftSource) -> bool {
        let Some(tid) = gift.tid.as_deref().filter(|t| !t.is_empty() && *t != "0") else {
            return true;
        };
        if self
            .recent
            .iter()
            .any(|(seen, from)| seen == tid && *from != source)
        {
            return false;
        }
        if self.recent.len() >= Self::WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back((tid.to_owned(), source));
        true
    }
}

// Lenient readers: Bilibili sends ids as numbers in one command and strings in the next.

fn uint(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (0.0..1.8e19).contains(f))
                .map(|f| f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && (-9.2e18..9.2e18).contains(f))
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn small(v: Option<&Value>) -> Option<u32> {
    uint(v).and_then(|n| u32::try_from(n).ok())
}

fn text(v: Option<&Value>) -> Option<&str> {
    v?.as_str()
}

/// Like `text` for values that are sometimes `null` or a number where a name is expected.
fn text_of(v: Option<&Value>) -> Option<&str> {
    text(v).filter(|s| !s.is_empty())
}

fn slice(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

#[cfg(test)]
mod tests;
