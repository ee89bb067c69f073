//! Phase one of config loading: walk the parsed TOML tree and read typed values out of it,
//! collecting *every* problem with its key path and line instead of stopping at the first.
//!
//! This replaces `#[derive(Deserialize)] #[serde(deny_unknown_fields)]`: serde gives up at the
//! first error, and a user fixing a config one error per run is exactly the friction that makes
//! people skip `liverec check`. The strictness is the same: a key that no section asks for is an
//! error, with the closest known key suggested.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::util::units;

/// One thing wrong with a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// Key path such as `rooms[2].segment_duration`; empty for file-level problems.
    pub(crate) key: String,
    /// 1-based line of the offending value, when known.
    pub(crate) line: Option<usize>,
    pub(crate) reason: String,
}

/// Collects problems while a document is read.
pub(crate) struct Report<'s> {
    src: &'s str,
    pub(crate) problems: Vec<Problem>,
}

impl<'s> Report<'s> {
    pub(crate) fn new(src: &'s str) -> Self {
        Self {
            src,
            problems: Vec::new(),
        }
    }

    pub(crate) fn line_of(&self, span: &Range<usize>) -> Option<usize> {
        let at = span.start.min(self.src.len());
        (span != &(0..0)).then(|| self.src[..at].bytes().filter(|b| *b == b'\n').count() + 1)
    }

    pub(crate) fn error(&mut self, key: &str, span: &Range<usize>, reason: impl Into<String>) {
        let line = self.line_of(span);
        self.problems.push(Problem {
            key: key.to_string(),
            line,
            reason: reason.into(),
        });
    }
}

/// A value found under a key, with the key path that names it in messages.
pub(crate) struct Field<'a, 'i> {
    pub(crate) path: String,
    pub(crate) value: &'a Spanned<DeValue<'i>>,
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date-time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn describe(v: &DeValue<'_>) -> String {
    match v {
        DeValue::Integer(i) => format!("integer {}", i.as_str()),
        DeValue::Float(f) => format!("float {}", f.as_str()),
        DeValue::Boolean(b) => format!("boolean {b}"),
        other => type_name(other).to_string(),
    }
}

impl<'a, 'i> Field<'a, 'i> {
    pub(crate) fn span(&self) -> Range<usize> {
        self.value.span()
    }

    fn wrong_type(&self, rep: &mut Report<'_>, expected: &str) {
        rep.error(
            &self.path,
            &self.span(),
            format!(
                "expected {expected}, found {}",
                describe(self.value.get_ref())
            ),
        );
    }

    pub(crate) fn fail(&self, rep: &mut Report<'_>, reason: impl Into<String>) {
        rep.error(&self.path, &self.span(), reason);
    }

    pub(crate) fn str(&self, rep: &mut Report<'_>) -> Option<&'a str> {
        match self.value.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            _ => {
                self.wrong_type(rep, "a string");
                None
            }
        }
    }

    pub(crate) fn string(&self, rep: &mut Report<'_>) -> Option<String> {
        self.str(rep).map(str::to_string)
    }

    pub(crate) fn bool(&self, rep: &mut Report<'_>) -> Option<bool> {
        match self.value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.wrong_type(rep, "true or false");
                None
            }
        }
    }

    /// A non-negative integer no larger than `max`.
    pub(crate) fn uint(&self, rep: &mut Report<'_>, max: u64) -> Option<u64> {
        let DeValue::Integer(i) = self.value.get_ref() else {
            self.wrong_type(rep, "a whole number");
            return None;
        };
        let digits = i.as_str().replace('_', "");
        match u64::from_str_radix(digits.trim_start_matches('+'), i.radix()) {
            Ok(n) if n <= max => Some(n),
            _ => {
                self.fail(rep, format!("{} is out of range (0 to {max})", i.as_str()));
                None
            }
        }
    }

    /// A number, whole or not (`4`, `0.5`).
    pub(crate) fn number(&self, rep: &mut Report<'_>) -> Option<f64> {
        let text = match self.value.get_ref() {
            DeValue::Integer(i) if i.radix() == 10 => i.as_str(),
            DeValue::Float(f) => f.as_str(),
            _ => {
                self.wrong_type(rep, "a number");
                return None;
            }
        };
        match text.replace('_', "").parse::<f64>() {
            Ok(n) if n.is_finite() => Some(n),
            _ => {
                self.fail(rep, format!("{text} is not a finite number"));
                None
            }
        }
    }

    pub(crate) fn duration(&self, rep: &mut Report<'_>) -> Option<Duration> {
        let DeValue::String(s) = self.value.get_ref() else {
            self.wrong_type(rep, r#"a duration string like "30s" or "1h30m""#);
            return None;
        };
        units::parse_duration(s).map_err(|e| self.fail(rep, e)).ok()
    }

    pub(crate) fn size(&self, rep: &mut Report<'_>) -> Option<u64> {
        let DeValue::String(s) = self.value.get_ref() else {
            self.wrong_type(rep, r#"a size string like "512MiB" or "2GB""#);
            return None;
        };
        units::parse_size(s).map_err(|e| self.fail(rep, e)).ok()
    }

    /// A list of strings; a single string is accepted as a list of one.
    pub(crate) fn strings(&self, rep: &mut Report<'_>) -> Option<Vec<String>> {
        match self.value.get_ref() {
            DeValue::String(s) => Some(vec![s.to_string()]),
            DeValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for (n, item) in items.iter().enumerate() {
                    match item.get_ref() {
                        DeValue::String(s) => out.push(s.to_string()),
                        other => {
                            ok = false;
                            rep.error(
                                &format!("{}[{n}]", self.path),
                                &item.span(),
                                format!("expected a string, found {}", describe(other)),
                            );
                        }
                    }
                }
                ok.then_some(out)
            }
            _ => {
                self.wrong_type(rep, "a list of strings");
                None
            }
        }
    }

    /// Like [`Field::strings`], but integers are taken as their decimal text (`quality = 10000`).
    pub(crate) fn words(&self, rep: &mut Report<'_>) -> Option<Vec<String>> {
        let one = |v: &DeValue<'_>| match v {
            DeValue::String(s) => Some(s.to_string()),
            DeValue::Integer(i) => Some(i.as_str().replace('_', "")),
            _ => None,
        };
        match self.value.get_ref() {
            DeValue::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (n, item) in items.iter().enumerate() {
                    match one(item.get_ref()) {
                        Some(w) => out.push(w),
                        None => {
                            rep.error(
                                &format!("{}[{n}]", self.path),
                                &item.span(),
                                format!(
                                    "expected a string or number, found {}",
                                    describe(item.get_ref())
                                ),
                            );
                            return None;
                        }
                    }
                }
                Some(out)
            }
            v => one(v).map(|w| vec![w]).or_else(|| {
                self.wrong_type(rep, "a string, a number or a list of them");
                None
            }),
        }
    }

    pub(crate) fn section(&self, rep: &mut Report<'_>) -> Option<Section<'a, 'i>> {
        match self.value.get_ref() {
            DeValue::Table(t) => Some(Section::new(self.path.clone(), self.span(), t)),
            _ => {
                self.wrong_type(rep, "a table");
                None
            }
        }
    }

    /// An array of tables (`[[rooms]]`), each as a section named `path[n]`.
    pub(crate) fn sections(&self, rep: &mut Report<'_>) -> Vec<Section<'a, 'i>> {
        let DeValue::Array(items) = self.value.get_ref() else {
            self.wrong_type(rep, &format!("a list of tables ([[{}]])", self.path));
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (n, item) in items.iter().enumerate() {
            let path = format!("{}[{n}]", self.path);
            match item.get_ref() {
                DeValue::Table(t) => out.push(Section::new(path, item.span(), t)),
                other => rep.error(
                    &path,
                    &item.span(),
                    format!("expected a table, found {}", describe(other)),
                ),
            }
        }
        out
    }
}

/// A table whose keys are taken one by one; keys nobody took are reported by [`Section::finish`].
pub(crate) struct Section<'a, 'i> {
    pub(crate) path: String,
    pub(crate) span: Range<usize>,
    entries: Vec<(&'a Spanned<DeString<'i>>, &'a Spanned<DeValue<'i>>, bool)>,
    asked: Vec<&'static str>,
}

type DeString<'i> = std::borrow::Cow<'i, str>;

impl<'a, 'i> Section<'a, 'i> {
    pub(crate) fn new(path: String, span: Range<usize>, table: &'a DeTable<'i>) -> Self {
        Self {
            path,
            span,
            entries: table.iter().map(|(k, v)| (k, v, false)).collect(),
            asked: Vec::new(),
        }
    }

    fn child_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Takes `key` if present. Every key a section understands must be asked for, present or not,
    /// so that [`Section::finish`] can tell unknown keys apart and suggest the right spelling.
    pub(crate) fn take(&mut self, key: &'static str) -> Option<Field<'a, 'i>> {
        self.asked.push(key);
        let path = self.child_path(key);
        self.entries
            .iter_mut()
            .find(|(k, _, _)| k.get_ref().as_ref() == key)
            .map(|entry| {
                entry.2 = true;
                Field {
                    path,
                    value: entry.1,
                }
            })
    }

    /// Reports every key that was not taken.
    pub(crate) fn finish(self, rep: &mut Report<'_>) {
        for (key, _, taken) in &self.entries {
            if *taken {
                continue;
            }
            let name = key.get_ref().as_ref();
            let hint = closest(name, &self.asked)
                .map(|k| format!(" (did you mean {k:?}?)"))
                .unwrap_or_default();
            let known = if hint.is_empty() && !self.asked.is_empty() {
                format!(" (known keys: {})", self.asked.join(", "))
            } else {
                String::new()
            };
            rep.error(
                &self.child_path(name),
                &key.span(),
                format!("unknown key{hint}{known}"),
            );
        }
    }
}

fn closest<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Parses the whole document, reporting syntax errors with their lines.
pub(crate) fn parse_document<'i>(
    src: &'i str,
    rep: &mut Report<'_>,
) -> Option<Spanned<DeTable<'i>>> {
    let (doc, errors) = DeTable::parse_recoverable(src);
    for err in &errors {
        let span = err.span().unwrap_or(0..0);
        let msg = err
            .message()
            .lines()
            .next()
            .unwrap_or("invalid TOML")
            .trim();
        rep.error("", &span, format!("TOML syntax error: {msg}"));
    }
    errors.is_empty().then_some(doc)
}

#[cfg(test)]
mod tests;
