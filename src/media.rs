//! Pure media parsing: no IO, bytes in, structure out.

pub mod flv;
pub mod fmp4;
pub(crate) mod m3u8;
pub mod ts;
