//! Process-wide counters for `/metrics`, and the Prometheus text format.
//!
//! Counters are incremented where things happen (a poll, a backoff); gauges (rooms by state,
//! free space, pending deliveries) are computed from live state when `/metrics` is scraped.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{LazyLock, Mutex};

type Labels = Vec<(&'static str, String)>;

struct Family {
    help: &'static str,
    values: BTreeMap<Labels, u64>,
}

static COUNTERS: LazyLock<Mutex<BTreeMap<&'static str, Family>>> =
    LazyLock::new(|| Mutex::new(BTreeMap::new()));

/// Adds `by` to a counter.
pub(crate) fn count(
    name: &'static str,
    help: &'static str,
    labels: &[(&'static str, &str)],
    by: u64,
) {
    let mut map = COUNTERS.lock().unwrap_or_else(|p| p.into_inner());
    let family = map.entry(name).or_insert_with(|| Family {
        help,
        values: BTreeMap::new(),
    });
    let key: Labels = labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
    *family.values.entry(key).or_insert(0) += by;
}

/// A metric family being written.
pub(crate) struct Writer {
    out: String,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn label_text(labels: &[(&str, String)]) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    format!("{{{}}}", inner.join(","))
}

impl Default for Writer {
    fn default() -> Self {
        Self::new()
    }
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self { out: String::new() }
    }

    /// Writes a family of samples: `kind` is `counter` or `gauge`.
    pub(crate) fn family(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        samples: &[(Vec<(&str, String)>, f64)],
    ) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(self.out, "{name}{} {v}", label_text(labels));
        }
    }

    pub(crate) fn gauge(&mut self, name: &str, help: &str, value: f64) {
        self.family(name, "gauge", help, &[(Vec::new(), value)]);
    }

    /// Appends every counter incremented with [`count`].
    pub(crate) fn counters(&mut self) {
        let map = COUNTERS.lock().unwrap_or_else(|p| p.into_inner());
        for (name, family) in map.iter() {
            let samples: Vec<_> = family
                .values
                .iter()
                .map(|(labels, v)| {
                    (
                        labels.iter().map(|(k, v)| (*k, v.clone())).collect(),
                        *v as f64,
                    )
                })
                .collect();
            self.family(name, "counter", family.help, &samples);
        }
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests;
