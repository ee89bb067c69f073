//! Pure media parsing: no IO, bytes in, structure out.

pub mod m3u8;
pub mod repair;
