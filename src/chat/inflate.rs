//! Decompression with a cap on the output, shared by the Bilibili packet codec (zlib in
//! protocol version 2, brotli in version 3) and the Douyin frame decoder (gzip).
//!
//! A chat server, or anything that impersonates one, can send a few kilobytes that inflate to
//! gigabytes; DANMAKU.md §A.2 recommends capping the decompressed size (8 MiB per message),
//! so the reader stops one byte past the cap instead of trusting the stream.

use std::fmt;
use std::io::Read;

/// The compression formats chat frames use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Zlib,
    Gzip,
    Brotli,
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Codec::Zlib => "zlib",
            Codec::Gzip => "gzip",
            Codec::Brotli => "brotli",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    #[error("{codec} data inflates past the {limit}-byte cap")]
    TooLarge { codec: Codec, limit: usize },
    #[error("corrupt {codec} data: {reason}")]
    Corrupt { codec: Codec, reason: String },
}

/// Decompresses `input` (one whole stream; bytes after its end are ignored) into at most
/// `limit` bytes.
pub fn inflate(codec: Codec, input: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    match codec {
        Codec::Zlib => read_capped(codec, flate2::read::ZlibDecoder::new(input), limit),
        Codec::Gzip => read_capped(codec, flate2::read::GzDecoder::new(input), limit),
        // 4 KiB is the decoder's input buffer. Its window is sized by the decoder from the
        // stream header: a few KiB for the server's small stored meta-blocks, but up to 16 MiB
        // (measured) while a hostile stream is being rejected; freed when this returns.
        Codec::Brotli => read_capped(
            codec,
            brotli_decompressor::Decompressor::new(input, 4096),
            limit,
        ),
    }
}

fn read_capped(codec: Codec, reader: impl Read, limit: usize) -> Result<Vec<u8>, InflateError> {
    // One byte past the cap tells "exactly at the cap" from "over it".
    let budget = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::new();
    reader
        .take(budget)
        .read_to_end(&mut out)
        .map_err(|e| InflateError::Corrupt {
            codec,
            reason: e.to_string(),
        })?;
    if out.len() > limit {
        return Err(InflateError::TooLarge { codec, limit });
    }
    Ok(out)
}

/// Wraps `data` (1 to 65,536 bytes) in a brotli stream of one uncompressed meta-block, the form
/// Bilibili's servers use for small payloads (DANMAKU.md §A.2 and §F.3: WBITS=22, the
/// meta-block, then ISLAST+ISLASTEMPTY). Lets tests build version-3 frames without an encoder.
#[cfg(test)]
pub(crate) fn brotli_stored(data: &[u8]) -> Vec<u8> {
    assert!((1..=65536).contains(&data.len()));
    let l = data.len() - 1;
    let mut out = vec![
        0x0B | (((l & 1) as u8) << 7),
        ((l >> 1) & 0xFF) as u8,
        (((l >> 9) & 0x7F) as u8) | 0x80,
    ];
    out.extend_from_slice(data);
    out.push(0x03);
    out
}

#[cfg(test)]
pub(crate) fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[cfg(test)]
pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[cfg(test)]
mod tests;
