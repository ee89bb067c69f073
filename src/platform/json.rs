//! Lenient reading of platform JSON: numbers that arrive as strings, `null` where a field is
//! usually missing (and the reverse), and bodies that are not JSON at all.

use serde_json::Value;

use super::PlatformError;

/// Parses an API answer. An empty body or an HTML page where JSON was expected is how risk
/// control answers, so those are [`PlatformError::Blocked`]; anything else that is not JSON is
/// [`PlatformError::Malformed`].
pub(crate) fn parse_body(body: &[u8], what: &str) -> Result<Value, PlatformError> {
    let trimmed = trim_start(body);
    if trimmed.is_empty() {
        return Err(PlatformError::Blocked(format!(
            "{what}: empty answer where JSON was expected"
        )));
    }
    if trimmed[0] == b'<' {
        return Err(PlatformError::Blocked(format!(
            "{what}: an HTML page where JSON was expected (starts with {})",
            crate::http::sniff(trimmed)
        )));
    }
    serde_json::from_slice(trimmed).map_err(|e| {
        if e.is_eof() {
            PlatformError::Malformed(format!("{what}: truncated JSON ({e})"))
        } else {
            PlatformError::Malformed(format!(
                "{what}: not valid JSON ({e}; starts with {})",
                crate::http::sniff(trimmed)
            ))
        }
    })
}

/// Skips a UTF-8 BOM and whitespace.
pub(crate) fn trim_start(body: &[u8]) -> &[u8] {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    &body[start..]
}

/// `v[ptr]` (a JSON pointer such as `/data/room_info`), or `null`.
pub(crate) fn at<'a>(v: &'a Value, ptr: &str) -> &'a Value {
    v.pointer(ptr).unwrap_or(&Value::Null)
}

/// An integer, from a number or a numeric string (`"1"`, `" 42 "`, `3.0`).
pub(crate) fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.fract() == 0.0 && f.is_finite())
                    .map(|f| f as i64)
            })
        }
        Value::Bool(b) => Some(*b as i64),
        _ => None,
    }
}

/// A non-negative integer.
pub(crate) fn uint(v: &Value) -> Option<u64> {
    int(v).and_then(|n| u64::try_from(n).ok())
}

/// Text, from a string or a number.
pub(crate) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Text, or empty.
pub(crate) fn text_or_empty(v: &Value) -> String {
    text(v).unwrap_or_default()
}

/// A flag from `true`/`false`, `0`/`1` or their string forms.
pub(crate) fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim() {
            "true" | "1" => Some(true),
            "false" | "0" | "" => Some(false),
            _ => None,
        },
        other => int(other).map(|n| n != 0),
    }
}

/// A server message cut to a sane length for a log line.
pub(crate) fn short(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(100) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests;
