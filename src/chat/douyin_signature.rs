//! The `signature` query parameter of Douyin's chat WebSocket URL, computed in Rust.
//!
//! Douyin's web page computes it with its obfuscated webmssdk (`frontierSign` /
//! `X-Bogus` of an `X-MS-STUB`); DouyinLiveWebFetcher runs that SDK in V8 (`sign.js`,
//! `liveMan.py generateSignature`). biliup (`crates/danmaku/src/protocols/douyin.rs`,
//! `generate_xbogus`) and rust-srec (`crates/platforms/src/extractor/platforms/douyin/signature.rs`)
//! re-implement it; this module follows their description of the algorithm (DANMAKU.md §D.3),
//! written anew, and corrects one detail against the SDK itself (see `Entropy::salt`):
//!
//! 1. `S` = the 13 parameters in [`SIGNED_PARAMS`] as `name=value` joined by `,`, the values
//!    exactly as in the URL; the stub is `MD5(S)` (its hex is the `X-MS-STUB`).
//! 2. `m` = the last two bytes of `MD5(stub)`; `E` = the same for an empty body,
//!    `MD5(MD5(""))[14..16]` = `45 3f`.
//! 3. `p` = `[counter & 0x3f, 0, 1, 0x0e, E0, E1, m0, m1, salt, xor of the nine before]`,
//!    RC4-encrypted with the one-byte key `key`.
//! 4. `[0x40 | header_low, key] ++ p` (12 bytes), base64 with the SDK's own alphabet: 16
//!    characters, which may include `+` and `/`.
//!
//! The golden vectors in the tests were produced by running DouyinLiveWebFetcher's `sign.js`
//! (webmssdk 1.0.0.53); they pin the algorithm as the SDK computed it then, not whether Douyin
//! accepts it today (DANMAKU.md §D.5: it has broken several times). Keep this function small and
//! swappable.

use md5::{Digest, Md5};

/// The parameters the stub covers, in order (DouyinLiveWebFetcher `generateSignature`; the same
/// list in biliup and rust-srec).
pub const SIGNED_PARAMS: [&str; 13] = [
    "live_id",
    "aid",
    "version_code",
    "webcast_sdk_version",
    "room_id",
    "sub_room_id",
    "sub_channel_id",
    "did_rule",
    "user_unique_id",
    "device_platform",
    "device_type",
    "ac",
    "identity",
];

/// The SDK's base64 alphabet, index for index in place of the standard one.
const ALPHABET: &[u8; 64] = b"Dkdpgh4ZKsQB80/Mfvw36XI1R25+WUAlEi7NLboqYTOPuzmFjJnryx9HVGcaStCe";

/// `MD5(MD5(""))[14..16]`, the SDK's digest of an empty body (checked in the tests).
const EMPTY_BODY: [u8; 2] = [0x45, 0x3f];

/// The random inputs of one signature. The SDK draws them itself; injecting them makes the
/// function pure and testable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entropy {
    /// The header byte's low five bits; the SDK was seen to use `0x00` and `0x10` only.
    pub header_low: u8,
    /// The RC4 key, also sent in clear as the second byte.
    pub key: u8,
    /// The random byte inside the encrypted payload. biliup and rust-srec reuse `key` here;
    /// the SDK draws it separately (with `Math.random` pinned both are the same, unpinned they
    /// differ: see the tests).
    pub salt: u8,
}

impl Entropy {
    /// From three random bytes, shaped like the SDK's own choices: bit `0x10` of the header,
    /// and `key`/`salt` as `floor(Math.random() * 255)`, i.e. never 255.
    pub fn from_random(bytes: [u8; 3]) -> Self {
        let below_255 = |b: u8| ((u16::from(b) * 255) / 256) as u8;
        Entropy {
            header_low: bytes[0] & 0x10,
            key: below_255(bytes[1]),
            salt: below_255(bytes[2]),
        }
    }
}

/// `S` for a URL's query pairs: each signed parameter's value from the query (the last one if
/// repeated, as DouyinLiveWebFetcher's dict does; empty if absent). Building it from the very
/// pairs that go into the URL keeps the signed and the sent values equal.
pub fn stub_source(query: &[(&str, &str)]) -> String {
    SIGNED_PARAMS
        .iter()
        .map(|name| {
            let value = query
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map_or("", |(_, v)| *v);
            format!("{name}={value}")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `MD5(S)`; its lowercase hex is the `X-MS-STUB`.
pub fn x_ms_stub(query: &[(&str, &str)]) -> [u8; 16] {
    md5(stub_source(query).as_bytes())
}

/// The 16-character signature of `stub`. `counter` is the SDK's call counter (1 for its first
/// call, as biliup and rust-srec always send).
pub fn signature(stub: &[u8; 16], counter: u8, entropy: Entropy) -> String {
    let m = md5(stub);
    let mut payload = [
        counter & 0x3f,
        // envcode, big-endian.
        0,
        1,
        // ubcode.
        0x0e,
        EMPTY_BODY[0],
        EMPTY_BODY[1],
        m[14],
        m[15],
        entropy.salt,
        0,
    ];
    payload[9] = payload[..9].iter().fold(0, |acc, b| acc ^ b);
    rc4(entropy.key, &mut payload);

    let mut bytes = [0u8; 12];
    bytes[0] = 0x40 | (entropy.header_low & 0x1f);
    bytes[1] = entropy.key;
    bytes[2..].copy_from_slice(&payload);
    encode(&bytes)
}

/// The signature for the query the URL will carry (counter 1).
pub fn sign_query(query: &[(&str, &str)], entropy: Entropy) -> String {
    signature(&x_ms_stub(query), 1, entropy)
}

/// A `user_unique_id` as biliup and rust-srec make one: 19 digits starting with 73.
pub fn user_unique_id(unix_nanos: u128) -> u64 {
    const BASE: u64 = 7_300_000_000_000_000_000;
    const RANGE: u128 = 699_999_999_999_999_999;
    // The remainder is below RANGE, which fits a u64.
    BASE + (unix_nanos % RANGE) as u64
}

fn md5(data: &[u8]) -> [u8; 16] {
    Md5::digest(data).into()
}

/// RC4 with a one-byte key (the key schedule repeats it), in place.
fn rc4(key: u8, data: &mut [u8]) {
    let mut s: [u8; 256] = std::array::from_fn(|i| i as u8);
    let mut j = 0u8;
    for i in 0..256 {
        j = j.wrapping_add(s[i]).wrapping_add(key);
        s.swap(i, usize::from(j));
    }
    let (mut i, mut j) = (0u8, 0u8);
    for byte in data {
        i = i.wrapping_add(1);
        j = j.wrapping_add(s[usize::from(i)]);
        s.swap(usize::from(i), usize::from(j));
        *byte ^= s[usize::from(s[usize::from(i)].wrapping_add(s[usize::from(j)]))];
    }
}

/// Base64 of 12 bytes (no padding needed) in the SDK's alphabet.
fn encode(bytes: &[u8; 12]) -> String {
    let mut out = String::with_capacity(16);
    for chunk in bytes.chunks_exact(3) {
        let n = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
        for shift in [18, 12, 6, 0] {
            out.push(char::from(ALPHABET[((n >> shift) & 0x3f) as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests;
