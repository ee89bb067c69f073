//! Recording rules: what of a room's lives is recorded. `record_window` and `at_window_end`
//! (when), `title_include` / `title_exclude` (which sessions), `max_session_duration` (how much
//! of one) and `audio_only` (which track). Read at the top level and per room (a room's value
//! over the top-level one); their rows are in `keys/rule_rows.rs`. The window arithmetic is
//! [`window`]'s, pure; the room task (`room::supervisor::rules`) applies them.

use std::fmt;
use std::time::Duration;

use super::keys;
use super::raw::{Report, Section};

pub(crate) mod window;

pub(crate) use window::Windows;

/// Longest pattern `title_include` / `title_exclude` take.
const MAX_PATTERN: usize = 1024;
/// The compiled program's size limit: a pattern beyond it is refused by `check`.
const REGEX_SIZE: usize = 1 << 20;

/// What happens to a recording in progress when its window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum AtWindowEnd {
    /// The live in progress is recorded to its end.
    #[default]
    Finish,
    /// The session ends at once: the file is closed cleanly and `live_end` says why.
    Stop,
}

impl AtWindowEnd {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AtWindowEnd::Finish => "finish",
            AtWindowEnd::Stop => "stop",
        }
    }
}

/// A title pattern, compared by its text (a reload that keeps it is no change).
#[derive(Debug, Clone)]
pub(crate) struct Pattern(regex::Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Pattern {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_PATTERN {
            return Err(format!("longer than {MAX_PATTERN} bytes"));
        }
        if text.is_empty() {
            return Err("must not be empty (leave the key out)".into());
        }
        regex::RegexBuilder::new(text)
            .size_limit(REGEX_SIZE)
            .dfa_size_limit(REGEX_SIZE)
            .build()
            .map(Pattern)
            .map_err(|e| {
                // The parser's message draws the pattern with a caret over several lines; a log
                // line keeps its last line, the reason.
                let text = e.to_string();
                let why = text
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                let why = why.trim().trim_start_matches("error: ");
                format!("not a regular expression: {why}")
            })
    }

    pub(crate) fn as_str(&self) -> &str {
        self.0.as_str()
    }

    fn is_match(&self, title: &str) -> bool {
        self.0.is_match(title)
    }
}

/// A room's effective rules.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RecordRules {
    pub(crate) windows: Windows,
    pub(crate) at_window_end: AtWindowEnd,
    pub(crate) title_include: Option<Pattern>,
    pub(crate) title_exclude: Option<Pattern>,
    /// Zero: no limit.
    pub(crate) max_session: Duration,
    pub(crate) audio_only: bool,
}

/// Why a title is not recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TitleRefused(String);

impl fmt::Display for TitleRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl RecordRules {
    /// Whether a session with this title is recorded: it must match `title_include` (when
    /// set) and not match `title_exclude`. An unknown (empty) title passes: a room whose
    /// platform did not say is not silently never recorded.
    pub(crate) fn title_passes(&self, title: &str) -> Result<(), TitleRefused> {
        if title.is_empty() {
            return Ok(());
        }
        if let Some(p) = &self.title_include {
            if !p.is_match(title) {
                return Err(TitleRefused(format!(
                    "title {title:?} does not match title_include /{}/",
                    p.as_str()
                )));
            }
        }
        if let Some(p) = &self.title_exclude {
            if p.is_match(title) {
                return Err(TitleRefused(format!(
                    "title {title:?} matches title_exclude /{}/",
                    p.as_str()
                )));
            }
        }
        Ok(())
    }
}

/// The rules a section sets (top level or a room).
#[derive(Default)]
pub(super) struct RuleOverrides {
    windows: Option<Windows>,
    at_window_end: Option<AtWindowEnd>,
    title_include: Option<Pattern>,
    title_exclude: Option<Pattern>,
    max_session: Option<Duration>,
    audio_only: Option<bool>,
}

impl RuleOverrides {
    /// These over `base`.
    pub(super) fn over(self, base: &RecordRules) -> RecordRules {
        RecordRules {
            windows: self.windows.unwrap_or_else(|| base.windows.clone()),
            at_window_end: self.at_window_end.unwrap_or(base.at_window_end),
            title_include: self.title_include.or_else(|| base.title_include.clone()),
            title_exclude: self.title_exclude.or_else(|| base.title_exclude.clone()),
            max_session: self.max_session.unwrap_or(base.max_session),
            audio_only: self.audio_only.unwrap_or(base.audio_only),
        }
    }
}

pub(super) fn read_rules(sec: &mut Section<'_, '_>, rep: &mut Report<'_>) -> RuleOverrides {
    let windows = sec.take(keys::RECORD_WINDOW.name).and_then(|f| {
        let texts = f.strings(rep)?;
        Windows::parse(&texts).map_err(|e| f.fail(rep, e)).ok()
    });
    let at_window_end = sec
        .take(keys::AT_WINDOW_END.name)
        .and_then(|f| match f.str(rep)? {
            "finish" => Some(AtWindowEnd::Finish),
            "stop" => Some(AtWindowEnd::Stop),
            other => {
                f.fail(rep, format!("{other:?} is neither \"finish\" nor \"stop\""));
                None
            }
        });
    let mut pattern = |name: &'static str, rep: &mut Report<'_>| {
        sec.take(name).and_then(|f| {
            let text = f.str(rep)?;
            Pattern::parse(text).map_err(|e| f.fail(rep, e)).ok()
        })
    };
    let title_include = pattern(keys::TITLE_INCLUDE.name, rep);
    let title_exclude = pattern(keys::TITLE_EXCLUDE.name, rep);
    RuleOverrides {
        windows,
        at_window_end,
        title_include,
        title_exclude,
        max_session: keys::MAX_SESSION_DURATION.take(sec, rep),
        audio_only: keys::AUDIO_ONLY.take(sec, rep),
    }
}

/// The defaults of the table.
pub(super) fn table_defaults() -> RecordRules {
    RecordRules {
        max_session: keys::MAX_SESSION_DURATION.kind.default,
        audio_only: keys::AUDIO_ONLY.kind.0,
        ..RecordRules::default()
    }
}

#[cfg(test)]
mod tests;
