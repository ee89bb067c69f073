//! FLV: tags, an incremental parser, AMF0, the metadata liverec writes, and timestamp repair.
//! All pure: bytes in, structure out.

pub mod amf0;
pub(crate) mod meta;
pub(crate) mod parser;
pub mod tag;
pub(crate) mod timeline;

pub use parser::{Item, Parser};
pub(crate) use tag::Tag;

/// What the first bytes of a body say about it being FLV, whose every stream starts with the
/// signature `FLV`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signature {
    /// The body starts with `FLV`.
    Flv,
    /// Fewer than three bytes, all as an FLV stream starts (or none): more must come to tell.
    TooShort,
    /// Not an FLV stream (an HTML error page, a playlist, a redirect body...).
    Other,
}

/// The one check that a body is FLV: the direct platform's live check and the FLV puller both
/// look at a body's first bytes with it before they believe a stream is there.
pub(crate) fn signature(head: &[u8]) -> Signature {
    const FLV: &[u8] = b"FLV";
    if head.starts_with(FLV) {
        Signature::Flv
    } else if FLV.starts_with(head) {
        Signature::TooShort
    } else {
        Signature::Other
    }
}

#[cfg(test)]
mod tests;
