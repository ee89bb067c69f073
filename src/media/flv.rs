//! FLV: tags, an incremental parser, AMF0, the metadata liverec writes, and timestamp repair.
//! All pure: bytes in, structure out.

pub mod amf0;
pub(crate) mod meta;
pub(crate) mod parser;
pub mod tag;
pub(crate) mod timeline;

pub use parser::{Item, Parser};
pub(crate) use tag::Tag;
