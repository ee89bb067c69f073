//! File names from the `filename` template. Field values come from the platform (titles,
//! streamer names) and are hostile until proven otherwise: they are sanitised so that no value can
//! add a folder, climb out of `output_dir`, hide a file, or break a shell or SMB share.

use std::path::PathBuf;

use chrono::{DateTime, FixedOffset};

use crate::template::{Template, format_time};

/// Longest sanitised field value, in bytes.
pub const MAX_FIELD_BYTES: usize = 120;
/// Longest path component; leaves room for `_NNN.flv.part` under the usual 255-byte limit.
const MAX_COMPONENT_BYTES: usize = 200;

/// Values for the template fields of one session.
#[derive(Debug, Clone)]
pub struct NameFields {
    pub platform: String,
    pub id: String,
    pub key: String,
    pub name: String,
    pub streamer: String,
    pub title: String,
    pub session: String,
    pub session_start: DateTime<FixedOffset>,
}

/// Makes one field value safe as (part of) a single path component.
pub fn sanitize(value: &str) -> String {
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
pub fn render(
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

/// What is known of a configured room without asking its platform.
#[derive(Debug, Clone, Copy)]
pub struct KnownRoom<'a> {
    pub platform: &'a str,
    pub id: &'a str,
    pub key: &'a str,
    /// The configured name, if any (else `{name}` is the streamer's, known only online).
    pub name: Option<&'a str>,
    /// Whether `id` is certainly the room's canonical id (a Bilibili number may be a short id
    /// that stands for another).
    pub id_certain: bool,
}

/// Stands for a field whose value is unknown offline; NUL can never be in a path.
const ANY: char = '\0';

/// Whether `rel` (a segment's path under `output_dir` without its `.<ext>.part` suffix) can have
/// been named by `template` for this room, *and* the template puts something in the name that
/// only this room has (its id or key, or its configured name). A template that only names the
/// platform or the streamer cannot tell two rooms apart: that is `false`, never a guess.
pub fn names_room(template: &Template, room: &KnownRoom<'_>, rel: &str) -> bool {
    let mut identifying = false;
    let pattern = template.render(|field, _| {
        let known = match field {
            "platform" => Some(room.platform),
            // A path that shows the configured id was written for a room with that id (one
            // configured by a short id is recorded under its long id, so it simply does not
            // match).
            "id" => Some(room.id),
            "key" => Some(room.key),
            // A name tells the room, but not its key when the id may be a short id: the event
            // would carry a wrong key, so it is not enough then.
            "name" if room.id_certain => room.name,
            _ => None,
        };
        match known {
            Some(v) => {
                identifying |= field != "platform";
                sanitize(v)
            }
            None => ANY.to_string(),
        }
    });
    if !identifying {
        return false;
    }
    // The same clean-up `render` applies to each component.
    let pattern: Vec<char> = pattern
        .split('/')
        .map(|c| c.trim_start_matches('.'))
        .collect::<Vec<_>>()
        .join("/")
        .chars()
        .collect();
    let text: Vec<char> = rel.chars().collect();
    if glob(&pattern, &text) {
        return true;
    }
    // `_1`, `_2`… are added when a name is taken.
    match rel.rsplit_once('_') {
        Some((stem, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            glob(&pattern, &stem.chars().collect::<Vec<_>>())
        }
        _ => false,
    }
}

/// Matches `text` against `pattern`, where [`ANY`] stands for one or more characters other than
/// `/` (a field value is never empty). Component by component, each with the classic iterative
/// wildcard match (one backtrack point), so no name can make it slow.
fn glob(pattern: &[char], text: &[char]) -> bool {
    let pattern: Vec<&[char]> = pattern.split(|&c| c == '/').collect();
    let text: Vec<&[char]> = text.split(|&c| c == '/').collect();
    pattern.len() == text.len() && pattern.iter().zip(&text).all(|(p, t)| component(p, t))
}

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    Char(char),
    One,
    Star,
}

fn component(pattern: &[char], text: &[char]) -> bool {
    // ANY = one character, then any number.
    let p: Vec<Tok> = pattern
        .iter()
        .flat_map(|&c| match c {
            ANY => vec![Tok::One, Tok::Star],
            c => vec![Tok::Char(c)],
        })
        .collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < text.len() {
        match p.get(pi) {
            Some(Tok::One) => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::Char(c)) if *c == text[ti] => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::Star) => {
                star = Some((pi, ti));
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|t| *t == Tok::Star)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::filename_template;
    use std::path::{Component, Path};

    fn fields(title: &str) -> NameFields {
        NameFields {
            platform: "bilibili".into(),
            id: "1".into(),
            key: "bilibili:1".into(),
            name: "alice".into(),
            streamer: "Alice".into(),
            title: title.into(),
            session: "s".into(),
            session_start: chrono::DateTime::parse_from_rfc3339("2026-11-21T21:04:05+08:00")
                .unwrap(),
        }
    }

    #[test]
    fn hostile_titles_stay_one_component() {
        let t = filename_template("{platform}/{name}/{title}_{start:%Y%m%d}").unwrap();
        let start = fields("").session_start;
        for title in [
            "../../etc/passwd",
            "$(touch x); rm -rf / `id`",
            "a\nb\0c",
            "...",
            "",
            "CON:*?\"<>|",
            "\\..\\x",
        ] {
            let p = render(&t, &fields(title), 1, start);
            let comps: Vec<_> = p.components().collect();
            assert_eq!(comps.len(), 3, "{title:?} -> {p:?}");
            assert!(
                comps.iter().all(|c| matches!(c, Component::Normal(_))),
                "{p:?}"
            );
            let last = comps[2].as_os_str().to_string_lossy();
            assert!(!last.starts_with('.'), "{p:?}");
            assert!(!last.contains(['\n', '\0', '/']), "{p:?}");
        }
        assert_eq!(
            render(&t, &fields("$(touch x); hi"), 1, start),
            Path::new("bilibili/alice/$(touch x); hi_20261121")
        );
    }

    #[test]
    fn long_values_are_cut_at_char_boundaries() {
        let long = "直播".repeat(100);
        let s = sanitize(&long);
        assert!(s.len() <= MAX_FIELD_BYTES);
        assert!(s.chars().all(|c| c == '直' || c == '播'));
    }

    fn alice(id_certain: bool) -> KnownRoom<'static> {
        KnownRoom {
            platform: "bilibili",
            id: "1",
            key: "bilibili:1",
            name: Some("alice"),
            id_certain,
        }
    }

    #[test]
    fn a_path_names_a_room_only_by_what_is_its_own() {
        let rel = |t: &str, f: &NameFields| {
            let start = f.session_start;
            render(&filename_template(t).unwrap(), f, 2, start)
                .to_string_lossy()
                .into_owned()
        };
        let f = fields("a/b: c");
        for t in [
            "{platform}/{id}/{start:%Y-%m-%d}/{streamer}_{title}",
            "{key}_{index}",
            "{name}/{start:%Y%m%d-%H%M%S}_{title}",
        ] {
            let template = filename_template(t).unwrap();
            let path = rel(t, &f);
            assert!(names_room(&template, &alice(true), &path), "{t}: {path}");
            assert!(
                names_room(&template, &alice(true), &format!("{path}_3")),
                "{t}: a taken name"
            );
            let bob = KnownRoom {
                id: "2",
                key: "bilibili:2",
                name: Some("bob"),
                ..alice(true)
            };
            assert!(!names_room(&template, &bob, &path), "{t}: not bob's");
        }
        // The default template names only the platform and the streamer: it cannot tell rooms
        // apart, so it names none.
        let default =
            "{platform}/{streamer}/{start:%Y-%m-%d}/{streamer}_{start:%Y%m%d-%H%M%S}_{title}";
        let path = rel(default, &f);
        assert!(!names_room(
            &filename_template(default).unwrap(),
            &alice(true),
            &path
        ));
        // An id that may be a short id identifies nothing.
        let t = "{name}/{title}";
        assert!(!names_room(
            &filename_template(t).unwrap(),
            &alice(false),
            &rel(t, &f)
        ));
        // Another platform, or an extra folder: no.
        let t = "{platform}/{id}/{title}";
        assert!(!names_room(
            &filename_template(t).unwrap(),
            &alice(true),
            "douyin/1/x"
        ));
        assert!(!names_room(
            &filename_template(t).unwrap(),
            &alice(true),
            "bilibili/1/x/y"
        ));
    }

    #[test]
    fn index_and_times_render() {
        let t = filename_template("{name}_{index}_{session_start:%H%M}").unwrap();
        let f = fields("x");
        assert_eq!(
            render(&t, &f, 3, f.session_start),
            Path::new("alice_3_2104")
        );
    }
}
