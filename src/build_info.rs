//! What this binary was built from (set by `build.rs`): `--version`, `/metrics` and `status`
//! all show the same.

/// The crate version, `0.1.0`.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The short commit id, or `unknown` for a build outside git (a source tarball).
pub(crate) const COMMIT: &str = env!("LIVEREC_COMMIT");

/// `0.1.0 (abc1234 2026-12-02)`: version, commit and commit date, as `--version` prints it.
pub(crate) const LONG_VERSION: &str = env!("LIVEREC_LONG_VERSION");

/// The commit's date, `YYYY-MM-DD`, or empty when unknown; the man page's date.
pub(crate) const COMMIT_DATE: &str = env!("LIVEREC_COMMIT_DATE");
