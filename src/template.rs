//! `{field}` / `{field:FMT}` templates, used for file names and hook arguments.
//!
//! A template is parsed and checked once, when the config loads, so a typo in a field name or a
//! broken time format is a `liverec check` error instead of a surprise at the first segment.

use std::fmt::Write;

use chrono::format::{Item, StrftimeItems};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field {
        name: String,
        format: Option<String>,
    },
}

/// A parsed template. Cloning it is cheap: a thousand rooms on the default file name share one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(std::sync::Arc<Parsed>);

#[derive(Debug, PartialEq, Eq)]
struct Parsed {
    source: String,
    pieces: Vec<Piece>,
}

/// Default chrono format when a time field is written without one (`{start}`).
pub(crate) const DEFAULT_TIME_FORMAT: &str = "%Y%m%d-%H%M%S";

impl Template {
    /// Parses `text`. `fields` are the plain placeholders allowed; `time_fields` also accept a
    /// chrono format after a colon. `{{` and `}}` are literal braces.
    pub(crate) fn parse(text: &str, fields: &[&str], time_fields: &[&str]) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|p| p.1) == Some('{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().map(|p| p.1) == Some('}') => {
                    chars.next();
                    literal.push('}');
                }
                '}' => {
                    return Err(format!(
                        "unmatched '}}' at byte {at} (write '}}}}' for a literal brace)"
                    ));
                }
                '{' => {
                    let rest = &text[at + 1..];
                    let end = rest.find('}').ok_or_else(|| {
                        format!("unclosed '{{' at byte {at} (write '{{{{' for a literal brace)")
                    })?;
                    let inner = &rest[..end];
                    for _ in 0..inner.chars().count() + 1 {
                        chars.next();
                    }
                    let (name, format) = match inner.split_once(':') {
                        Some((n, f)) => (n.trim(), Some(f.to_string())),
                        None => (inner.trim(), None),
                    };
                    let is_time = time_fields.contains(&name);
                    if !is_time && !fields.contains(&name) {
                        let mut known: Vec<String> =
                            fields.iter().map(|f| format!("{{{f}}}")).collect();
                        known.extend(time_fields.iter().map(|f| format!("{{{f}:FMT}}")));
                        return Err(format!(
                            "unknown placeholder {{{name}}} (known: {})",
                            known.join(" ")
                        ));
                    }
                    if let Some(f) = &format {
                        if !is_time {
                            return Err(format!("placeholder {{{name}}} takes no format"));
                        }
                        check_time_format(f)?;
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Field {
                        name: name.to_string(),
                        format: format.or_else(|| is_time.then(|| DEFAULT_TIME_FORMAT.into())),
                    });
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Self(std::sync::Arc::new(Parsed {
            source: text.to_string(),
            pieces,
        })))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0.source
    }

    /// Renders the template. `value(name, format)` gives each field's text; literal text is kept
    /// as written.
    pub(crate) fn render(&self, mut value: impl FnMut(&str, Option<&str>) -> String) -> String {
        let mut out = String::new();
        for piece in &self.0.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Field { name, format } => out.push_str(&value(name, format.as_deref())),
            }
        }
        out
    }
}

fn check_time_format(f: &str) -> Result<(), String> {
    if StrftimeItems::new(f).any(|item| matches!(item, Item::Error)) {
        return Err(format!(
            "{f:?} is not a valid time format (see chrono's strftime, e.g. \"%Y-%m-%d\")"
        ));
    }
    Ok(())
}

/// Formats a time with a format already checked by [`Template::parse`]; never panics.
pub(crate) fn format_time<Tz: chrono::TimeZone>(t: &chrono::DateTime<Tz>, format: &str) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let mut out = String::new();
    if write!(out, "{}", t.format(format)).is_err() {
        out.clear();
        let _ = write!(out, "{}", t.format(DEFAULT_TIME_FORMAT));
    }
    out
}

#[cfg(test)]
mod tests;
