//! Durations (`30s`, `1h30m`) and sizes (`512MiB`, `2GB`) as users write them in the config.
//!
//! The grammar is deliberately strict: `1hour` or `4 gigs` are errors with a suggestion, because a
//! lenient parser that guesses wrong silently records the wrong thing for hours.

use std::time::Duration;

/// Parses `"90s"`, `"1h30m"`, `"500ms"`, `"2d"`, `"0s"` or `"0"`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let fail = || {
        format!(
            "{text:?} is not a duration (try {:?})",
            suggest_duration(text)
        )
    };
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(fail());
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        rest = rest.trim_start();
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 12 {
            return Err(fail());
        }
        let n: u128 = rest[..digits].parse().map_err(|_| fail())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let millis_per = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(fail()),
        };
        rest = &rest[unit_len..];
        total += n * millis_per;
    }
    u64::try_from(total)
        .map(Duration::from_millis)
        .map_err(|_| fail())
}

/// Best guess at what the user meant, for the error message.
fn suggest_duration(text: &str) -> String {
    let s = text.trim().to_ascii_lowercase();
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    let n = if digits.is_empty() {
        "30".to_string()
    } else {
        digits
    };
    let word = s[n.len().min(s.len())..].trim();
    let unit = match word {
        w if w.starts_with("ms") || w.starts_with("milli") => "ms",
        w if w.starts_with("sec") || w.is_empty() => "s",
        w if w.starts_with("min") => "m",
        w if w.starts_with('h') => "h",
        w if w.starts_with('d') => "d",
        w if w.starts_with('w') => return format!("{}d", n.parse::<u64>().unwrap_or(1) * 7),
        _ => "s",
    };
    format!("{n}{unit}")
}

const SIZE_UNITS: &[(&str, u64)] = &[
    ("b", 1),
    ("kb", 1_000),
    ("mb", 1_000_000),
    ("gb", 1_000_000_000),
    ("tb", 1_000_000_000_000),
    ("kib", 1 << 10),
    ("mib", 1 << 20),
    ("gib", 1 << 30),
    ("tib", 1 << 40),
];

/// Parses `"512MiB"`, `"2GB"`, `"1.5GiB"`, `"0B"` (units are case-insensitive; a space is allowed).
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let fail = || {
        let n: String = s
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let n = if n.is_empty() { "4".into() } else { n };
        format!("{text:?} is not a size (try {:?})", format!("{n}GiB"))
    };
    let num_len = s
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    if num_len == 0 {
        return Err(fail());
    }
    let number: f64 = s[..num_len].parse().map_err(|_| fail())?;
    let unit = s[num_len..].trim().to_ascii_lowercase();
    let factor = SIZE_UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, f)| *f)
        .ok_or_else(fail)?;
    let bytes = number * factor as f64;
    if !bytes.is_finite() || bytes > u64::MAX as f64 / 2.0 {
        return Err(fail());
    }
    Ok(bytes.round() as u64)
}

/// `3725s` -> `1h2m5s`: the inverse of [`parse_duration`], for `check` and status output.
pub(crate) fn format_duration(d: Duration) -> String {
    let total_ms = d.as_millis();
    if total_ms == 0 {
        return "0s".into();
    }
    let (mut s, ms) = ((total_ms / 1000) as u64, (total_ms % 1000) as u64);
    let mut out = String::new();
    for (unit, len) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if s >= len {
            out.push_str(&format!("{}{unit}", s / len));
            s %= len;
        }
    }
    if ms > 0 {
        out.push_str(&format!("{ms}ms"));
    }
    out
}

/// `4294967296` -> `4GiB`, `1500000` -> `1.4MiB`.
pub(crate) fn format_size(bytes: u64) -> String {
    const NAMES: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < NAMES.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if value.fract() == 0.0 || unit == 0 {
        format!("{}{}", value as u64, NAMES[unit])
    } else {
        format!("{value:.1}{}", NAMES[unit])
    }
}

#[cfg(test)]
mod tests;
