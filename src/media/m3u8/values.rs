//! The values of playlist tags, checked: durations, sequence numbers, byte ranges, IVs and
//! attribute lists. Every error names the line.

use super::{MAX_DURATION_S, MAX_SEQUENCE, ParseError, bad};

/// At most 40 characters of untrusted text, for messages.
pub(super) fn short(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    format!("{out:?}")
}

pub(super) fn duration(n: usize, tag: &str, value: &str) -> Result<f64, ParseError> {
    let d: f64 = value
        .parse()
        .map_err(|_| bad(n, format!("{tag}: {} is not a number", short(value))))?;
    if !d.is_finite() || d < 0.0 {
        return Err(bad(n, format!("{tag}: {} is not a duration", short(value))));
    }
    if d > MAX_DURATION_S {
        return Err(bad(
            n,
            format!("{tag}: {d} s is absurd (over {MAX_DURATION_S} s)"),
        ));
    }
    Ok(d)
}

pub(super) fn sequence(n: usize, tag: &str, value: &str) -> Result<u64, ParseError> {
    match value.parse::<u64>() {
        Ok(v) if v <= MAX_SEQUENCE => Ok(v),
        Ok(_) => Err(bad(n, format!("{tag}: {} is absurd", short(value)))),
        Err(_) => Err(bad(
            n,
            format!("{tag}: {} is not a sequence number", short(value)),
        )),
    }
}

/// `<length>[@<offset>]`. A length of 0 is refused: no HTTP range can ask for nothing, and no
/// media segment is empty.
pub(super) fn byterange(n: usize, value: &str) -> Result<(u64, Option<u64>), ParseError> {
    let err = || bad(n, format!("bad byte range {}", short(value)));
    let (len, off) = match value.split_once('@') {
        Some((l, o)) => (l, Some(o.parse::<u64>().map_err(|_| err())?)),
        None => (value, None),
    };
    let len = len.parse::<u64>().map_err(|_| err())?;
    if len == 0 {
        return Err(bad(n, format!("empty byte range {}", short(value))));
    }
    Ok((len, off))
}

pub(super) fn parse_iv(s: &str) -> Option<[u8; 16]> {
    let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    if hex.is_empty() || hex.len() > 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let padded = format!("{hex:0>32}");
    let mut iv = [0u8; 16];
    for (i, byte) in iv.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&padded[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(iv)
}

/// An attribute list: `NAME=value,NAME="quoted, value",...`.
pub(super) fn attributes(n: usize, s: &str) -> Result<Vec<(&str, &str)>, ParseError> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| bad(n, format!("bad attribute list {}", short(s))))?;
        let name = name.trim();
        let after = after.trim_start();
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q
                .find('"')
                .ok_or_else(|| bad(n, format!("unterminated quote in {}", short(s))))?;
            (&q[..end], &q[end + 1..])
        } else {
            match after.find(',') {
                Some(i) => (after[..i].trim(), &after[i..]),
                None => (after.trim(), ""),
            }
        };
        out.push((name, value));
        let tail = tail.trim_start();
        rest = match tail.strip_prefix(',') {
            Some(t) => t.trim_start(),
            None if tail.is_empty() => tail,
            None => return Err(bad(n, format!("bad attribute list {}", short(s)))),
        };
    }
    Ok(out)
}

pub(super) fn get<'a>(attrs: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
}
