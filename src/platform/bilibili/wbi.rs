//! Bilibili "wbi" request signing, as documented publicly (bilibili-API-collect
//! `docs/misc/sign/wbi.md`): pure functions, no IO.
//!
//! 1. The keys are the file-name stems of `data.wbi_img.img_url` and `.sub_url` from `nav`.
//! 2. The mixin key is `img_key + sub_key` reordered by a fixed 64-entry table, first 32 chars.
//! 3. Add `wts` (unix seconds), sort the parameters by name, strip `!'()*` from the values,
//!    percent-encode them (RFC 3986 unreserved characters kept, space as `%20`) and join them.
//! 4. `w_rid` is the lowercase hex MD5 of that query followed by the mixin key.

use md5::{Digest, Md5};

/// The published reordering table.
const MIXIN_KEY_ENC_TAB: [usize; 64] = [
    46, 47, 18, 2, 53, 8, 23, 32, 15, 50, 10, 31, 58, 3, 45, 35, 27, 43, 5, 49, 33, 9, 42, 19, 29,
    28, 14, 39, 12, 38, 41, 13, 37, 48, 7, 16, 24, 55, 40, 61, 26, 17, 0, 1, 60, 51, 30, 4, 22, 25,
    54, 21, 56, 59, 6, 63, 57, 62, 11, 36, 20, 34, 44, 52,
];

/// The two keys from `nav`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WbiKeys {
    pub(crate) img_key: String,
    pub(crate) sub_key: String,
}

impl WbiKeys {
    /// Keys from the two image URLs (`https://i0.hdslb.com/bfs/wbi/<key>.png`).
    pub(crate) fn from_urls(img_url: &str, sub_url: &str) -> Option<Self> {
        let stem = |u: &str| {
            let name = u.rsplit('/').next()?;
            let stem = name.split('.').next()?;
            (!stem.is_empty() && stem.bytes().all(|b| b.is_ascii_alphanumeric()))
                .then(|| stem.to_string())
        };
        Some(Self {
            img_key: stem(img_url)?,
            sub_key: stem(sub_url)?,
        })
    }

    pub fn mixin_key(&self) -> String {
        mixin_key(&self.img_key, &self.sub_key)
    }
}

/// The 32-character mixin key. Characters the table points past (short keys) are skipped.
pub(crate) fn mixin_key(img_key: &str, sub_key: &str) -> String {
    let raw: Vec<char> = img_key.chars().chain(sub_key.chars()).collect();
    MIXIN_KEY_ENC_TAB
        .iter()
        .filter_map(|&i| raw.get(i))
        .take(32)
        .collect()
}

/// Percent-encodes like JavaScript's `encodeURIComponent` after the `!'()*` strip: everything
/// but `A-Z a-z 0-9 - _ . ~`.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The signed query string (`a=1&b=2&wts=…&w_rid=…`) for `params` at `wts`.
pub(crate) fn sign(params: &[(&str, String)], mixin_key: &str, wts: u64) -> String {
    let mut all: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| {
            let clean: String = v.chars().filter(|c| !"!'()*".contains(*c)).collect();
            (k.to_string(), clean)
        })
        .collect();
    all.push(("wts".into(), wts.to_string()));
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let query = all
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let w_rid = hex::encode(Md5::digest(format!("{query}{mixin_key}").as_bytes()));
    format!("{query}&w_rid={w_rid}")
}

/// The plain query string, for when no keys could be had (the endpoints may still answer).
pub(crate) fn unsigned(params: &[(&str, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests;
