//! The files of one recording session: each segment is written as a `.part`, fsynced and renamed
//! (never replacing a file), named from the `filename` template, and recorded as an intent
//! before its rename so that its `segment_complete` survives a crash.
//!
//! This module decides *how* a segment is written; when to split is the pipelines' call
//! ([`crate::writer`]), and what to do with leftovers after a crash is [`crate::recovery`]'s.

pub mod files;
pub mod intent;
pub(crate) mod naming;
pub mod part;
