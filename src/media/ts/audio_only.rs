//! Dropping the video of an MPEG-TS stream, for `audio_only` recordings: the packets of every
//! video elementary stream go, and each PMT is rewritten without them (its CRC recomputed). A
//! PCR carried by the video moves to the first stream kept: players then time the file by the
//! audio's own timestamps, which is what they do for audio-only TS anyway. Pure: bytes in,
//! bytes out, with what the PAT and PMTs said kept from segment to segment.
//!
//! A PMT that does not fit in its packet (more streams than any live stream has) is kept
//! unchanged, and the video it names is still dropped.

use super::psi::{pid13, section_len};
use super::{PACKET, SYNC, crc32_mpeg};

/// PMTs and video streams remembered at most: far beyond a live stream's.
const MAX_PIDS: usize = 64;

/// Whether an elementary stream type is video (MPEG-1/2, MPEG-4 part 2, H.264, its SVC/MVC
/// layers, HEVC, VVC, AVS 1-3, VC-1).
fn is_video(stream_type: u8) -> bool {
    matches!(
        stream_type,
        0x01 | 0x02 | 0x10 | 0x1B | 0x1F | 0x20 | 0x24 | 0x33 | 0x42 | 0xD2 | 0xD4 | 0xEA
    )
}

/// The filter's memory: the PMT PIDs of the latest PAT and the video PIDs of the latest PMTs.
#[derive(Debug, Default, Clone)]
pub(crate) struct AudioOnly {
    pmt_pids: Vec<u16>,
    video_pids: Vec<u16>,
}

impl AudioOnly {
    /// `data` without its video: whole packets are copied or dropped, PMTs rewritten. Bytes that
    /// are not aligned 188-byte packets are kept as they are (the writer reports them).
    pub(crate) fn filter(&mut self, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() / 4);
        let mut chunks = data.chunks_exact(PACKET);
        for packet in &mut chunks {
            if packet[0] != SYNC {
                out.extend_from_slice(packet);
                continue;
            }
            let pid = pid13(packet[1], packet[2]);
            if pid == 0 {
                self.read_pat(packet);
                out.extend_from_slice(packet);
            } else if self.pmt_pids.contains(&pid) {
                let start = out.len();
                out.extend_from_slice(packet);
                self.rewrite_pmt(&mut out[start..]);
            } else if !self.video_pids.contains(&pid) {
                out.extend_from_slice(packet);
            }
        }
        out.extend_from_slice(chunks.remainder());
        out
    }

    fn read_pat(&mut self, packet: &[u8]) {
        let Some(s) = section(packet) else { return };
        if s.first() != Some(&0x00) {
            return;
        }
        let Some(len) = section_len(s).filter(|l| *l >= 12 && *l <= s.len()) else {
            return;
        };
        // Entries between the 8-byte header and the CRC; program 0 names the network PID.
        self.pmt_pids = s[8..len - 4]
            .chunks_exact(4)
            .filter(|e| u16::from_be_bytes([e[0], e[1]]) != 0)
            .map(|e| pid13(e[2], e[3]))
            .take(MAX_PIDS)
            .collect();
    }

    /// Rewrites, in place, the PMT section that starts in this packet.
    fn rewrite_pmt(&mut self, packet: &mut [u8]) {
        let Some(at) = section_at(packet) else { return };
        let s = &packet[at..];
        if s.first() != Some(&0x02) {
            return;
        }
        let Some(len) = section_len(s).filter(|l| *l >= 16) else {
            return;
        };
        let fits = len <= s.len();
        let info_len = usize::from(s[10] & 0x0F) << 8 | usize::from(s[11]);
        let es_start = 12 + info_len;
        let es_end = len.min(s.len()).saturating_sub(4);
        if es_start > es_end {
            return;
        }
        let mut kept = Vec::with_capacity(es_end - es_start);
        let mut video = Vec::new();
        let mut first_kept = None;
        let mut es = &s[es_start..es_end];
        while es.len() >= 5 {
            let es_len = 5 + (usize::from(es[3] & 0x0F) << 8 | usize::from(es[4]));
            let entry = &es[..es_len.min(es.len())];
            let pid = pid13(es[1], es[2]);
            if is_video(es[0]) {
                video.push(pid);
            } else {
                first_kept.get_or_insert(pid);
                kept.extend_from_slice(entry);
            }
            es = &es[entry.len()..];
        }
        for pid in &video {
            if !self.video_pids.contains(pid) && self.video_pids.len() < MAX_PIDS {
                self.video_pids.push(*pid);
            }
        }
        if video.is_empty() || !fits {
            return;
        }
        let mut new = s[..es_start].to_vec();
        let pcr = pid13(s[8], s[9]);
        if video.contains(&pcr) {
            let to = first_kept.unwrap_or(0x1FFF);
            new[8] = (s[8] & 0xE0) | (to >> 8) as u8;
            new[9] = to as u8;
        }
        new.extend_from_slice(&kept);
        let section_length = new.len() + 4 - 3;
        new[1] = (new[1] & 0xF0) | ((section_length >> 8) as u8 & 0x0F);
        new[2] = section_length as u8;
        let crc = crc32_mpeg(&new);
        new.extend_from_slice(&crc.to_be_bytes());
        let region = &mut packet[at..];
        region[..new.len()].copy_from_slice(&new);
        region[new.len()..].fill(0xFF);
    }
}

/// Where the section that starts in this packet begins (after the pointer field).
fn section_at(packet: &[u8]) -> Option<usize> {
    if packet[1] & 0x40 == 0 {
        return None;
    }
    let mut at = 4;
    match packet[3] >> 4 & 0x3 {
        0b01 => {}
        0b11 => at += 1 + usize::from(packet[4]),
        _ => return None,
    }
    let pointer = usize::from(*packet.get(at)?);
    let start = at + 1 + pointer;
    (start + 3 <= packet.len()).then_some(start)
}

fn section(packet: &[u8]) -> Option<&[u8]> {
    section_at(packet).map(|at| &packet[at..])
}
