//! MPEG-TS timestamps: finding and rebasing the PCR, PTS and DTS of a transport stream, and
//! knowing its programs (PAT/PMT) well enough to tell PES streams apart and to notice a change
//! of stream types or PIDs. Pure: bytes in, positions and values out; the rewrite works in
//! place and changes nothing but the timestamp bits.
//!
//! Rebasing a file is two steps, so a caller can decide about the file between them:
//!
//! 1. [`scan`] walks the 188-byte packets of a segment (resynchronising on the `0x47` sync
//!    byte when a packet is misaligned) and returns every clock field it found: the PCR base of
//!    each adaptation field that carries one (any PID), and the PTS and DTS of each PES header
//!    on an elementary-stream PID. A PES header split over several packets is followed.
//! 2. [`rebase`] subtracts one offset (90 kHz ticks) from every one of them, modulo 2^33,
//!    keeping the marker bits, the PCR extension and its reserved bits as they were.
//!
//! The offset of a file is [`earliest`] of its first segment's clocks, so the file's clock
//! starts at 0. In a conforming stream that is the first PCR (the PCR runs ahead of every
//! DTS, and a DTS is never after its PTS); a stream whose first clock is a PES timestamp gets
//! the earliest of those instead. Since PCR, PTS and DTS of every PID move by the same amount,
//! audio/video sync and the PCR ≤ DTS relation are kept. The first PTS of a rebased file is
//! therefore not exactly 0 but the distance the muxer kept between its PCR and its timestamps:
//! ffmpeg runs its PCR 0.7 s ahead of the DTS (`max_delay`), so a rebased ffmpeg-made segment
//! starts about 0.7 s in, where ffmpeg's own files start at its usual preroll of 1.4 s. A
//! player starts at the first PTS either way.
//!
//! Clocks are 33-bit counters that wrap every 2^33 / 90 000 s (26.5 h); the arithmetic is
//! modulo 2^33, so a stream crossing the wrap inside a file stays continuous after rebasing.
//!
//! Never panics, on any input: every read is bounds-checked, and the memory used is bounded by
//! the number of packets (nothing is allocated from a size the data declares).

use std::fmt;

/// Size of a transport stream packet.
pub(crate) const PACKET: usize = 188;
/// The first byte of every packet.
pub(crate) const SYNC: u8 = 0x47;
/// PTS, DTS and the PCR base count 90 kHz ticks modulo 2^33.
pub const WRAP: u64 = 1 << 33;
const MASK: u64 = WRAP - 1;
/// Largest PAT or PMT section (`section_length` ≤ 1021, plus 3 header bytes).
const MAX_SECTION: usize = 1024;
const PID_PAT: u16 = 0;
const PID_NULL: u16 = 0x1FFF;
/// A PES header up to the end of a DTS: 9 fixed bytes, PTS (5), DTS (5).
const PES_HEAD: usize = 19;
/// PES headers (or PSI sections) being collected at once, over all PIDs: a real stream has a
/// handful; crafted input cannot make the per-packet lookups grow without bound.
const MAX_PENDING: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockKind {
    /// A PCR base (the 27 MHz extension is left alone: it is below one 90 kHz tick).
    Pcr,
    Pts,
    Dts,
}

/// One clock field found in a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub kind: ClockKind,
    pub(crate) pid: u16,
    /// 90 kHz ticks, 33 bits.
    pub value: u64,
    /// Where its five bytes are. Contiguous, except in a PES header split over packets.
    pub at: [usize; 5],
}

/// One program as its PMT describes it (descriptors left out: a language or a bitrate note may
/// change without the streams changing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Program {
    pub(crate) number: u16,
    pub(crate) pmt_pid: u16,
    pub(crate) pcr_pid: u16,
    /// (elementary PID, stream type), sorted by PID.
    pub(crate) streams: Vec<(u16, u8)>,
}

/// The programs of a stream: what changes when the codecs or the PIDs change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ProgramMap {
    /// Sorted by program number.
    pub(crate) programs: Vec<Program>,
}

impl fmt::Display for ProgramMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.programs.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "program {} (PCR PID 0x{:04x}):", p.number, p.pcr_pid)?;
            for (pid, ty) in &p.streams {
                write!(f, " PID 0x{pid:04x} type 0x{ty:02x}")?;
            }
        }
        Ok(())
    }
}

/// A set of 13-bit PIDs.
#[derive(Clone)]
struct PidSet([u64; 128]);

impl PidSet {
    fn new() -> Self {
        Self([0; 128])
    }
    fn insert(&mut self, pid: u16) {
        let pid = usize::from(pid & 0x1FFF);
        self.0[pid >> 6] |= 1 << (pid & 63);
    }
    fn contains(&self, pid: u16) -> bool {
        let pid = usize::from(pid & 0x1FFF);
        self.0[pid >> 6] & (1 << (pid & 63)) != 0
    }
}

impl fmt::Debug for PidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries((0..=0x1FFFu16).filter(|p| self.contains(*p)))
            .finish()
    }
}

/// A PSI section being reassembled from several packets.
#[derive(Debug, Clone)]
struct Section {
    pid: u16,
    buf: Vec<u8>,
}

/// What a stream's PAT and PMTs said so far. Kept from segment to segment (a segment without
/// PAT/PMT is read with what the earlier ones said).
#[derive(Debug, Clone)]
pub struct TsState {
    /// (program number, PMT PID), network PID entries left out.
    pat: Option<Vec<(u16, u16)>>,
    pmts: Vec<Program>,
    /// PIDs of the PAT and the PMTs.
    psi: PidSet,
    /// Elementary PIDs of the PMTs.
    pes: PidSet,
    /// Whether `pes` comes from a PMT (without one, PES PIDs are guessed).
    pes_known: bool,
    sections: Vec<Section>,
    heads: Vec<PesHead>,
}

impl Default for TsState {
    fn default() -> Self {
        Self::new()
    }
}

impl TsState {
    pub fn new() -> Self {
        let mut psi = PidSet::new();
        psi.insert(PID_PAT);
        Self {
            pat: None,
            pmts: Vec::new(),
            psi,
            pes: PidSet::new(),
            pes_known: false,
            sections: Vec::new(),
            heads: Vec::new(),
        }
    }

    /// The stream's programs, once the PAT and a PMT for each of its programs are known.
    pub(crate) fn program_map(&self) -> Option<ProgramMap> {
        let pat = self.pat.as_ref()?;
        let mut programs = Vec::with_capacity(pat.len());
        for &(number, pid) in pat {
            let p = self
                .pmts
                .iter()
                .find(|p| p.number == number && p.pmt_pid == pid)?;
            programs.push(p.clone());
        }
        programs.sort_by_key(|p| p.number);
        Some(ProgramMap { programs })
    }

    /// Does a PES on `pid` carry timestamps we rewrite? With a PMT: its elementary PIDs. Without
    /// one yet (a segment cut before its PMT): any PID that is not PSI, SI or null, as long as
    /// the payload starts like a PES (checked by the caller).
    fn is_pes(&self, pid: u16) -> bool {
        if !self.pes_known {
            pid >= 0x20 && pid != PID_NULL && !self.psi.contains(pid)
        } else {
            self.pes.contains(pid)
        }
    }

    fn rebuild_pids(&mut self) {
        let mut psi = PidSet::new();
        psi.insert(PID_PAT);
        let mut pes = PidSet::new();
        for &(_, pid) in self.pat.iter().flatten() {
            psi.insert(pid);
        }
        for p in &self.pmts {
            for &(pid, _) in &p.streams {
                pes.insert(pid);
            }
        }
        self.psi = psi;
        self.pes = pes;
        self.pes_known = !self.pmts.is_empty();
    }

    /// Feeds the payload of a packet on a PSI PID; true if a whole, intact PMT was read.
    fn feed_psi(&mut self, pid: u16, payload: &[u8], pusi: bool) -> bool {
        let mut pmt = false;
        let slot = self.sections.iter().position(|s| s.pid == pid);
        if !pusi {
            if let Some(i) = slot {
                if let Some(done) = append_section(&mut self.sections[i].buf, payload) {
                    self.sections.swap_remove(i);
                    pmt |= self.section(pid, &done);
                }
            }
            return pmt;
        }
        let Some((&pointer, rest)) = payload.split_first() else {
            return false;
        };
        let Some((tail, mut rest)) = rest.split_at_checked(usize::from(pointer)) else {
            if let Some(i) = slot {
                self.sections.swap_remove(i);
            }
            return false;
        };
        if let Some(i) = slot {
            let done = append_section(&mut self.sections[i].buf, tail);
            self.sections.swap_remove(i);
            if let Some(done) = done {
                pmt |= self.section(pid, &done);
            }
        }
        // Sections until stuffing (0xFF) or the end of the packet.
        while let Some(&table_id) = rest.first() {
            if table_id == 0xFF {
                break;
            }
            let Some(len) = section_len(rest) else {
                // The length is in the next packet.
                self.sections.truncate(MAX_PENDING - 1);
                self.sections.push(Section {
                    pid,
                    buf: rest.to_vec(),
                });
                break;
            };
            if len > MAX_SECTION {
                break;
            }
            match rest.split_at_checked(len) {
                Some((section, more)) => {
                    pmt |= self.section(pid, section);
                    rest = more;
                }
                None => {
                    self.sections.truncate(MAX_PENDING - 1);
                    self.sections.push(Section {
                        pid,
                        buf: rest.to_vec(),
                    });
                    break;
                }
            }
        }
        pmt
    }

    /// A whole PSI section; true if it was an intact PMT of a program of the PAT (changed or
    /// not).
    fn section(&mut self, pid: u16, s: &[u8]) -> bool {
        // table_id, syntax indicator, current_next, section 0 of 0, and a good CRC.
        if s.len() < 12
            || s[1] & 0x80 == 0
            || s[5] & 0x01 == 0
            || s[6] != 0
            || s[7] != 0
            || crc32_mpeg(s) != 0
        {
            return false;
        }
        let body = &s[8..s.len() - 4];
        match (pid, s[0]) {
            (PID_PAT, 0x00) => {
                let mut pat: Vec<(u16, u16)> = body
                    .chunks_exact(4)
                    .map(|e| (u16::from_be_bytes([e[0], e[1]]), pid13(e[2], e[3])))
                    .filter(|&(number, _)| number != 0)
                    .collect();
                pat.sort_unstable();
                pat.dedup_by_key(|e| e.0);
                if self.pat.as_ref() != Some(&pat) {
                    self.pmts.retain(|p| {
                        pat.iter()
                            .any(|&(n, pid)| p.number == n && p.pmt_pid == pid)
                    });
                    self.pat = Some(pat);
                    self.rebuild_pids();
                }
                false
            }
            (_, 0x02) => {
                let Some(program) = parse_pmt(pid, s, body) else {
                    return false;
                };
                let known = self
                    .pat
                    .as_ref()
                    .is_some_and(|pat| pat.iter().any(|&(n, p)| n == program.number && p == pid));
                if !known {
                    return false;
                }
                match self.pmts.iter_mut().find(|p| p.number == program.number) {
                    Some(p) if *p == program => return true,
                    Some(p) => *p = program,
                    None => self.pmts.push(program),
                }
                self.rebuild_pids();
                true
            }
            _ => false,
        }
    }

    /// Feeds payload bytes of a PES PID; a PES header completed here yields its clocks.
    fn feed_pes(
        &mut self,
        pid: u16,
        payload: &[u8],
        start: usize,
        pusi: bool,
        out: &mut Vec<Clock>,
    ) {
        let slot = self.heads.iter().position(|h| h.pid == pid);
        let i = if pusi {
            // A new PES: a header still incomplete from the last one is abandoned.
            let head = PesHead {
                pid,
                buf: [0; PES_HEAD],
                at: [0; PES_HEAD],
                n: 0,
            };
            match slot {
                Some(i) => {
                    self.heads[i] = head;
                    i
                }
                None => {
                    if self.heads.len() >= MAX_PENDING {
                        self.heads.swap_remove(0);
                    }
                    self.heads.push(head);
                    self.heads.len() - 1
                }
            }
        } else {
            match slot {
                Some(i) => i,
                None => return,
            }
        };
        let h = &mut self.heads[i];
        match h.take(payload, start) {
            Head::More => {}
            Head::Bad => {
                self.heads.swap_remove(i);
            }
            Head::Done => {
                h.clocks(out);
                self.heads.swap_remove(i);
            }
        }
    }
}

/// What [`scan`] found in a segment.
#[derive(Debug, Clone, Default)]
pub struct TsScan {
    /// Every PCR, PTS and DTS, in byte order.
    pub clocks: Vec<Clock>,
    /// Whole packets walked.
    pub(crate) packets: usize,
    /// Bytes outside any packet: skipped while resynchronising, or a partial packet at the end.
    pub(crate) skipped: usize,
    /// The programs as of the segment's first complete PAT/PMT (`None` if it has none).
    pub(crate) first_map: Option<ProgramMap>,
}

impl TsScan {
    /// Why this segment is not a transport stream we can rebase, if it is not one: no packet
    /// at all, or more than an eighth of its bytes out of packet sync (an encrypted or garbled
    /// body whose `0x47` bytes are chance).
    pub(crate) fn problem(&self, len: usize) -> Option<String> {
        if self.packets == 0 {
            return Some("no MPEG-TS packet found".into());
        }
        if self.skipped.saturating_mul(8) > len {
            return Some(format!(
                "{} of {len} bytes are outside MPEG-TS packet sync",
                self.skipped
            ));
        }
        None
    }
}

/// Start of the next packet at or after `from`: a sync byte followed by another one a packet
/// later (or by the end of the data).
fn resync(data: &[u8], from: usize) -> usize {
    let mut p = from;
    while let Some(off) = data
        .get(p..)
        .and_then(|d| d.iter().position(|&b| b == SYNC))
    {
        let q = p + off;
        match data.get(q + PACKET) {
            Some(&b) if b != SYNC => p = q + 1,
            _ => return q,
        }
    }
    data.len()
}

/// Walks a segment's packets: its clocks, and what its PAT/PMT say (into `state`).
pub fn scan(data: &[u8], state: &mut TsState) -> TsScan {
    let mut r = TsScan {
        clocks: Vec::with_capacity(data.len() / 2048 + 4),
        ..TsScan::default()
    };
    // PES headers and PSI sections do not continue from one segment into the next.
    state.heads.clear();
    state.sections.clear();
    let mut p = 0;
    while p < data.len() {
        // A packet is one whose sync byte is followed by the next one's (or by the end): a
        // packet cut short by lost bytes is skipped rather than read as garbage.
        let pkt = data
            .get(p..p + PACKET)
            .filter(|k| k[0] == SYNC && data.get(p + PACKET).is_none_or(|&b| b == SYNC));
        let Some(pkt) = pkt else {
            let q = if data.len() - p < PACKET && data[p] == SYNC {
                data.len()
            } else {
                resync(data, p + 1)
            };
            r.skipped += q - p;
            p = q;
            continue;
        };
        r.packets += 1;
        packet(pkt, p, state, &mut r);
        p += PACKET;
    }
    r
}

fn packet(pkt: &[u8], base: usize, state: &mut TsState, r: &mut TsScan) {
    // transport_error_indicator: the packet is known to be damaged; nothing in it is trusted.
    if pkt[1] & 0x80 != 0 {
        return;
    }
    let pusi = pkt[1] & 0x40 != 0;
    let pid = pid13(pkt[1], pkt[2]);
    if pid == PID_NULL {
        return;
    }
    let scrambled = pkt[3] & 0xC0 != 0;
    let afc = (pkt[3] >> 4) & 3;
    let mut start = 4;
    if afc & 2 != 0 {
        let af_len = usize::from(pkt[4]);
        if af_len > PACKET - 5 {
            return;
        }
        // PCR_flag, and room for the 6 PCR bytes.
        if af_len >= 7 && pkt[5] & 0x10 != 0 {
            let bytes: [u8; 5] = [pkt[6], pkt[7], pkt[8], pkt[9], pkt[10]];
            let at = base + 6;
            r.clocks.push(Clock {
                kind: ClockKind::Pcr,
                pid,
                value: decode_pcr_base(&bytes),
                at: [at, at + 1, at + 2, at + 3, at + 4],
            });
        }
        start = 5 + af_len;
    }
    if afc & 1 == 0 || scrambled {
        return;
    }
    let payload = &pkt[start..];
    if state.psi.contains(pid) {
        if state.feed_psi(pid, payload, pusi) && r.first_map.is_none() {
            r.first_map = state.program_map();
        }
        return;
    }
    if !state.is_pes(pid) {
        return;
    }
    if pusi && !payload.starts_with(&[0, 0, 1]) {
        // Not a PES start: whatever header was being collected on this PID is over.
        state.heads.retain(|h| h.pid != pid);
        return;
    }
    state.feed_pes(pid, payload, base + start, pusi, &mut r.clocks);
}

/// Shortest way from `a` to `b` on the 2^33 circle, signed.
fn delta(a: u64, b: u64) -> i64 {
    let d = (b.wrapping_sub(a)) & MASK;
    if d >= WRAP / 2 {
        d as i64 - WRAP as i64
    } else {
        d as i64
    }
}

/// The earliest clock among `clocks`, reading them as one continuous time line (across the
/// 2^33 wrap): what a file's offset is chosen from. `None` without clocks.
pub fn earliest(clocks: &[Clock]) -> Option<u64> {
    let first = clocks.first()?.value;
    let min = clocks.iter().map(|c| delta(first, c.value)).min()?;
    Some(first.wrapping_add_signed(min) & MASK)
}

/// Subtracts `offset` (modulo 2^33) from every clock of `clocks` in `data`, the bytes they were
/// found in. Only the timestamp bits change. A position outside `data` is skipped.
pub(crate) fn rebase(data: &mut [u8], clocks: &[Clock], offset: u64) {
    for c in clocks {
        let Some(mut bytes) = read5(data, &c.at) else {
            continue;
        };
        let v = c.value.wrapping_sub(offset) & MASK;
        match c.kind {
            ClockKind::Pcr => encode_pcr_base(&mut bytes, v),
            ClockKind::Pts | ClockKind::Dts => encode_pts(&mut bytes, v),
        }
        for (&i, b) in c.at.iter().zip(bytes) {
            data[i] = b;
        }
    }
}

fn read5(data: &[u8], at: &[usize; 5]) -> Option<[u8; 5]> {
    Some([
        *data.get(at[0])?,
        *data.get(at[1])?,
        *data.get(at[2])?,
        *data.get(at[3])?,
        *data.get(at[4])?,
    ])
}

/// Ticks of the 90 kHz clock as seconds.
pub(crate) fn seconds(ticks: u64) -> f64 {
    ticks as f64 / 90_000.0
}

mod audio_only;
mod fields;
mod pes;
mod psi;
pub(crate) use audio_only::AudioOnly;
pub(crate) use fields::{decode_pcr_base, decode_pts};
use fields::{encode_pcr_base, encode_pts};
use pes::{Head, PesHead};
pub use psi::crc32_mpeg;
use psi::{append_section, parse_pmt, pid13, section_len};

#[cfg(test)]
mod tests;
