//! FLV: tags, an incremental parser, AMF0, the metadata liverec writes, and timestamp repair.
//! All pure: bytes in, structure out.

pub mod amf0;
pub mod meta;
pub mod parser;
pub mod tag;
pub mod timeline;

pub use parser::{Item, Parser};
pub use tag::{Tag, TagInfo, TagKind};
