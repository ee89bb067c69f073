//! Crash recovery, in one place. At start-up, before any room starts ([`startup`]): segment
//! intents whose event never reached the hook journal raise it now, and every `.part` no live
//! process is writing ([`leftovers`]) is repaired ([`repair`]) and renamed, with its event about
//! the right room ([`owner`] when it has no intent). `liverec repair` runs the same repair.
//!
//! The crash invariant itself (an intent is on disk before a segment's rename and goes only once
//! its event is journaled) is kept by [`crate::segment::intent`] and the hook dispatcher; this
//! module only acts on what a crash left.

mod chat;
pub(crate) mod leftovers;
pub(crate) mod owner;
pub(crate) mod repair;
pub(crate) mod startup;
