//! Program-specific information: reassembling PAT/PMT sections and reading a PMT's streams.

use super::{MAX_SECTION, Program};

pub(super) fn pid13(hi: u8, lo: u8) -> u16 {
    u16::from_be_bytes([hi & 0x1F, lo])
}

/// Total length of the section starting at `s`, once its 3 header bytes are there.
pub(super) fn section_len(s: &[u8]) -> Option<usize> {
    let hi = *s.get(1)?;
    let lo = *s.get(2)?;
    Some(3 + (usize::from(hi & 0x0F) << 8 | usize::from(lo)))
}

/// Adds `more` to a partial section; returns the whole section once complete.
pub(super) fn append_section(buf: &mut Vec<u8>, more: &[u8]) -> Option<Vec<u8>> {
    for &b in more {
        if section_len(buf).is_some_and(|len| buf.len() >= len) || buf.len() >= MAX_SECTION {
            break;
        }
        buf.push(b);
    }
    let len = section_len(buf)?;
    if len > MAX_SECTION || buf.len() < len {
        return None;
    }
    let mut done = std::mem::take(buf);
    done.truncate(len);
    Some(done)
}

pub(super) fn parse_pmt(pid: u16, s: &[u8], body: &[u8]) -> Option<Program> {
    let number = u16::from_be_bytes([s[3], s[4]]);
    let pcr_pid = pid13(*body.first()?, *body.get(1)?);
    let info_len = usize::from(body.get(2)? & 0x0F) << 8 | usize::from(*body.get(3)?);
    let mut es = body.get(4 + info_len..)?;
    let mut streams = Vec::new();
    while es.len() >= 5 {
        let ty = es[0];
        let es_pid = pid13(es[1], es[2]);
        let es_len = usize::from(es[3] & 0x0F) << 8 | usize::from(es[4]);
        streams.push((es_pid, ty));
        es = es.get(5 + es_len..)?;
    }
    streams.sort_unstable();
    streams.dedup_by_key(|s| s.0);
    Some(Program {
        number,
        pmt_pid: pid,
        pcr_pid,
        streams,
    })
}

/// CRC-32/MPEG-2 (polynomial 0x04C11DB7, no reflection, no final xor): 0 over a section
/// including its CRC means the section is intact.
pub fn crc32_mpeg(data: &[u8]) -> u32 {
    let mut crc = u32::MAX;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
    }
    crc
}
