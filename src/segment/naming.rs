//! File names from the `filename` template. Field values come from the platform (titles,
//! streamer names) and are hostile until proven otherwise: they are sanitised so that no value can
//! add a folder, climb out of `output_dir`, hide a file, or break a shell or SMB share.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};

use crate::template::{Template, format_time};

/// Longest sanitised field value, in bytes.
pub(crate) const MAX_FIELD_BYTES: usize = 120;
/// Longest path component; leaves room for `_NNN.flv.part` under the usual 255-byte limit.
const MAX_COMPONENT_BYTES: usize = 200;

/// Values for the template fields of one session.
#[derive(Debug, Clone)]
pub struct NameFields {
    pub(crate) platform: String,
    pub(crate) id: String,
    pub(crate) key: String,
    pub(crate) name: String,
    pub(crate) streamer: String,
    pub(crate) title: String,
    pub(crate) session: String,
    pub(crate) session_start: DateTime<FixedOffset>,
}

/// Makes one field value safe as (part of) a single path component.
pub(crate) fn sanitize(value: &str) -> String {
    let replaced: String = value
        .chars()
        .map(|c| match c {
            '/' | '\\' | '\0' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    // Leading dots would hide the file (or form `..`); trailing dots and spaces break SMB shares.
    let trimmed = replaced
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' '])
        .trim_start();
    let cut = truncate_bytes(trimmed, MAX_FIELD_BYTES);
    if cut.is_empty() {
        "_".into()
    } else {
        cut.to_string()
    }
}

fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Renders a segment's path relative to `output_dir`, without extension.
pub(crate) fn render(
    template: &Template,
    f: &NameFields,
    index: u32,
    start: DateTime<FixedOffset>,
) -> PathBuf {
    let text = template.render(|field, format| match field {
        "platform" => sanitize(&f.platform),
        "id" => sanitize(&f.id),
        "key" => sanitize(&f.key),
        "name" => sanitize(&f.name),
        "streamer" => sanitize(&f.streamer),
        "title" => sanitize(&f.title),
        "session" => sanitize(&f.session),
        "index" => index.to_string(),
        "start" => sanitize(&format_time(&start, format.unwrap_or_default())),
        "session_start" => sanitize(&format_time(&f.session_start, format.unwrap_or_default())),
        _ => "_".into(),
    });
    // The template was checked at load time; this is the belt to that brace.
    text.split('/')
        .map(|c| {
            let c = c.trim_start_matches('.');
            let c = truncate_bytes(c, MAX_COMPONENT_BYTES);
            if c.is_empty() { "_" } else { c }
        })
        .collect()
}

#[cfg(test)]
mod tests;
