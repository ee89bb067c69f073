//! Douyin's `a_bogus` request signature.
//!
//! Since 2025-08 `live.douyin.com/webcast/room/web/enter/` (and the mobile
//! `webcast.amemv.com/webcast/room/reflow/info/`) answer with an empty body
//! unless the query ends with `&a_bogus=<signature>`. The signature is:
//!
//! 1. digests: SM3(SM3(query + "cus")), SM3(SM3(body + "cus")) and
//!    SM3(base64'(RC4([0, 1, 14], user_agent))), of which two bytes each are kept;
//! 2. a 44-value header (clock, request options, aid, page id, those digest bytes),
//!    then a fake browser window fingerprint string, then the XOR of the header;
//! 3. that payload XORed with the RC4 keystream of key `"y"`;
//! 4. 12 random "noise" bytes in front, all encoded with a shuffled base64 alphabet.
//!
//! The facts (constants, layout, alphabets, fingerprint format) were learned from
//! f2's `f2/utils/abogus.py` (Johnserf-Seed/f2) and rust-srec's Rust port
//! (`crates/platforms/src/extractor/platforms/douyin/abogus.rs`), which biliup and
//! biliLive-tools also use; the golden tests pin this code to f2's output.
//! Douyin changes this scheme from time to time: replace this file wholesale then.
//!
//! Everything is pure: the clock and randomness come in through [`Entropy`] and
//! `FnMut() -> f64` closures (values in `[0, 1)`, like `Math.random`).

use sm3::{Digest, Sm3};

const SALT: &str = "cus";
/// Alphabet of the final signature.
const SIG_ALPHABET: &[u8; 64] = b"Dkdpgh2ZmsQB80/MfvV36XI1R45-WUAlEixNLwoqYTOPuzKFjJnry79HbGcaStCe";
/// Alphabet used only for the user-agent digest.
const UA_ALPHABET: &[u8; 64] = b"ckdp1h4ZKsUB80/Mfvw36XIgR25+WQAlEi7NLboqYTOPuzmFjJnryx9HVGDaStCe";
const UA_KEY: &[u8] = &[0, 1, 14];
const PAYLOAD_KEY: &[u8] = b"y";
const AID: u32 = 6383;
const PAGE_ID: u32 = 0;
/// Request options; peers always send the POST flavour (14), which also covers GET.
const OPTIONS: [u32; 3] = [0, 1, 14];
/// Order in which the header slots are emitted (the slot numbers are the peers').
const ORDER: [usize; 44] = [
    18, 20, 52, 26, 30, 34, 58, 38, 40, 53, 42, 21, 27, 54, 55, 31, 35, 57, 39, 41, 43, 22, 28, 32,
    60, 36, 23, 29, 33, 37, 44, 45, 59, 46, 47, 48, 49, 50, 24, 25, 65, 66, 70, 71,
];

const MS_TOKEN_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const HEX_CHARS: &[u8] = b"abcdef0123456789";
const ALNUM_CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Signs queries for one User-Agent; the UA must be the one sent in the request header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signer {
    ua_digest: [u8; 2],
}

/// Everything the signature draws from the outside world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entropy {
    /// Unix time in milliseconds. Peers read the clock before and after hashing;
    /// both readings are this one value here.
    pub(crate) now_ms: u64,
    /// Three draws of `floor(random() * 10000)` for the noise prefix.
    pub(crate) prefix: [u16; 3],
    /// Window geometry string, see [`random_fingerprint`].
    pub(crate) fingerprint: String,
}

impl Entropy {
    /// Draws the prefix (3 values) then the fingerprint (9 values) from `rng`.
    pub(crate) fn from_rng(now_ms: u64, rng: &mut impl FnMut() -> f64) -> Self {
        let mut draw = || randint(rng, 0, 9999) as u16;
        let prefix = [draw(), draw(), draw()];
        Self {
            now_ms,
            prefix,
            fingerprint: random_fingerprint(rng),
        }
    }
}

impl Signer {
    pub(crate) fn new(user_agent: &str) -> Self {
        let mut rc4 = Rc4::new(UA_KEY);
        let encrypted: Vec<u32> = user_agent
            .bytes()
            .map(|b| u32::from(b ^ rc4.next_byte()))
            .collect();
        let digest = sm3(encode(&encrypted, UA_ALPHABET).as_bytes());
        Self {
            ua_digest: [digest[23], digest[24]],
        }
    }

    /// The `a_bogus` value for `query` (the exact query string sent, without
    /// `a_bogus`) and `body` (`""` for GET). Not URL-encoded: peers append it raw.
    pub(crate) fn sign(&self, query: &str, body: &str, entropy: &Entropy) -> String {
        let query_digest = salted_digest(query);
        let body_digest = salted_digest(body);
        let t = entropy.now_ms;
        let fp_len = u32::try_from(entropy.fingerprint.len()).unwrap_or(u32::MAX);

        let (hi, top) = ((t >> 32) as u32, (t >> 40) as u32);
        let [o0, o1, o2] = OPTIONS;
        let mut slot = [0u32; 72];
        slot[18] = 44;
        put_be32(&mut slot, 20, t as u32);
        // `hi` is deliberately not masked to a byte (about 400 today): peers emit it
        // whole, so it bleeds into the neighbouring base64 digits as theirs does.
        slot[24..26].copy_from_slice(&[hi, top]);
        put_be32(&mut slot, 26, o0);
        slot[30..34].copy_from_slice(&[(o1 >> 8) & 0xff, o1 & 0xff, o1 >> 24, (o1 >> 16) & 0xff]);
        put_be32(&mut slot, 34, o2);
        let (q, b, ua) = (query_digest, body_digest, self.ua_digest);
        slot[38..44].copy_from_slice(&[q[21], q[22], b[21], b[22], ua[0], ua[1]].map(u32::from));
        put_be32(&mut slot, 44, t as u32);
        slot[48..51].copy_from_slice(&[3, hi, top]);
        put_be32(&mut slot, 51, PAGE_ID);
        slot[55] = PAGE_ID;
        slot[57..61].copy_from_slice(&AID.to_le_bytes().map(u32::from));
        slot[65] = fp_len;

        let header = ORDER.map(|i| slot[i]);
        let checksum = header.iter().fold(0, |acc, v| acc ^ v);
        let mut rc4 = Rc4::new(PAYLOAD_KEY);
        let payload = header
            .into_iter()
            .chain(entropy.fingerprint.bytes().map(u32::from))
            .chain([checksum])
            .map(|v| v ^ u32::from(rc4.next_byte()));

        let mut values: Vec<u32> = entropy.prefix.iter().flat_map(|&rd| noise(rd)).collect();
        values.extend(payload);
        encode(&values, SIG_ALPHABET)
    }

    /// `query&a_bogus=<sig>`, the form peers put after `?`.
    pub(crate) fn signed_query(&self, query: &str, body: &str, entropy: &Entropy) -> String {
        let sig = self.sign(query, body, entropy);
        if query.is_empty() {
            format!("a_bogus={sig}")
        } else {
            format!("{query}&a_bogus={sig}")
        }
    }
}

/// A fake `innerWidth|innerHeight|outerWidth|outerHeight|screenX|screenY|0|0|
/// width|height|availWidth|availHeight|innerWidth|innerHeight|24|24|Win32` string,
/// drawn with the peers' ranges (9 draws). Peers send `Win32` for every UA.
pub(crate) fn random_fingerprint(rng: &mut impl FnMut() -> f64) -> String {
    let inner_w = randint(rng, 1024, 1920);
    let inner_h = randint(rng, 768, 1080);
    let outer_w = inner_w + randint(rng, 24, 32);
    let outer_h = inner_h + randint(rng, 75, 90);
    let screen_y = if randint(rng, 0, 1) == 0 { 0 } else { 30 };
    let size_w = randint(rng, 1024, 1920);
    let size_h = randint(rng, 768, 1080);
    let avail_w = randint(rng, 1280, 1920);
    let avail_h = randint(rng, 800, 1080);
    format!(
        "{inner_w}|{inner_h}|{outer_w}|{outer_h}|0|{screen_y}|0|0|{size_w}|{size_h}|\
         {avail_w}|{avail_h}|{inner_w}|{inner_h}|24|24|Win32"
    )
}

/// `msToken` query parameter: 184 random URL-safe characters.
pub(crate) fn ms_token(rng: &mut impl FnMut() -> f64) -> String {
    random_string(rng, MS_TOKEN_CHARS, 184)
}

/// `odin_ttid` cookie: 160 random hex digits.
pub(crate) fn odin_ttid(rng: &mut impl FnMut() -> f64) -> String {
    random_string(rng, HEX_CHARS, 160)
}

/// `__ac_nonce` cookie: 21 random hex digits.
pub(crate) fn ac_nonce(rng: &mut impl FnMut() -> f64) -> String {
    random_string(rng, HEX_CHARS, 21)
}

/// `verifyFp` for the mobile reflow API: `verify_<base36 ms>_<uuid-like, '_' separated>`.
pub(crate) fn verify_fp(now_ms: u64, rng: &mut impl FnMut() -> f64) -> String {
    let mut digits = Vec::new();
    let mut n = now_ms;
    loop {
        digits.push(char::from(
            ALNUM_CHARS[(n % 36) as usize].to_ascii_lowercase(),
        ));
        n /= 36;
        if n == 0 {
            break;
        }
    }
    let stamp: String = digits.into_iter().rev().collect();
    let uuid: String = (0..36)
        .map(|i| match i {
            8 | 13 | 18 | 23 => '_',
            14 => '4',
            19 => char::from(ALNUM_CHARS[(pick(rng, ALNUM_CHARS.len()) & 3) | 8]),
            _ => char::from(ALNUM_CHARS[pick(rng, ALNUM_CHARS.len())]),
        })
        .collect();
    format!("verify_{stamp}_{uuid}")
}

/// The `browser_version` query value for a Chromium UA (`"142.0.0.0"`), as peers derive it.
pub(crate) fn browser_version_of(user_agent: &str) -> Option<String> {
    let rest = user_agent.split_once("Chrome/")?.1;
    let version = rest.split(' ').next().unwrap_or_default();
    (!version.is_empty()).then(|| version.to_owned())
}

fn sm3(data: &[u8]) -> [u8; 32] {
    Sm3::digest(data).into()
}

/// The salt goes on the text only; the outer round hashes the raw inner digest.
fn salted_digest(text: &str) -> [u8; 32] {
    sm3(&sm3(format!("{text}{SALT}").as_bytes()))
}

fn put_be32(slot: &mut [u32; 72], at: usize, v: u32) {
    for (k, s) in slot[at..at + 4].iter_mut().enumerate() {
        *s = (v >> (24 - 8 * k)) & 0xff;
    }
}

/// Four bytes spreading `rd` over fixed bit masks, as the page's script does.
fn noise(rd: u16) -> [u32; 4] {
    let (lo, hi) = (u32::from(rd) & 0xff, u32::from(rd >> 8));
    [
        (lo & 170) | 1,
        (lo & 85) | 2,
        (hi & 170) | 5,
        (hi & 85) | 40,
    ]
}

/// Base64 over "characters" that may exceed a byte; such values overlap their
/// neighbours' bits on purpose (the reference code ORs them the same way).
fn encode(values: &[u32], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(values.len().div_ceil(3) * 4);
    for chunk in values.chunks(3) {
        let n = chunk
            .iter()
            .zip([16, 8, 0])
            .fold(0u32, |n, (&v, shift)| n | (v << shift));
        for k in 0..=chunk.len() {
            out.push(char::from(alphabet[((n >> (18 - 6 * k)) & 63) as usize]));
        }
    }
    while out.len() % 4 != 0 {
        out.push('=');
    }
    out
}

struct Rc4 {
    s: [u8; 256],
    i: u8,
    j: u8,
}

impl Rc4 {
    fn new(key: &[u8]) -> Self {
        let mut s: [u8; 256] = std::array::from_fn(|i| i as u8);
        let mut j = 0u8;
        for (i, &k) in key.iter().cycle().take(256).enumerate() {
            j = j.wrapping_add(s[i]).wrapping_add(k);
            s.swap(i, j.into());
        }
        Self { s, i: 0, j: 0 }
    }

    fn next_byte(&mut self) -> u8 {
        self.i = self.i.wrapping_add(1);
        self.j = self.j.wrapping_add(self.s[usize::from(self.i)]);
        self.s.swap(self.i.into(), self.j.into());
        let t = self.s[usize::from(self.i)].wrapping_add(self.s[usize::from(self.j)]);
        self.s[usize::from(t)]
    }
}

/// Index in `0..n` from one `[0, 1)` draw; out-of-range or NaN draws are clamped.
fn pick(rng: &mut impl FnMut() -> f64, n: usize) -> usize {
    let r = rng();
    let r = if r.is_nan() { 0.0 } else { r.clamp(0.0, 1.0) };
    ((r * n as f64) as usize).min(n.saturating_sub(1))
}

fn randint(rng: &mut impl FnMut() -> f64, lo: u32, hi: u32) -> u32 {
    lo + pick(rng, (hi - lo + 1) as usize) as u32
}

fn random_string(rng: &mut impl FnMut() -> f64, chars: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(chars[pick(rng, chars.len())]))
        .collect()
}

#[cfg(test)]
mod tests;
