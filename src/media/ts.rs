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
pub const PACKET: usize = 188;
/// The first byte of every packet.
pub const SYNC: u8 = 0x47;
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
    pub pid: u16,
    /// 90 kHz ticks, 33 bits.
    pub value: u64,
    /// Where its five bytes are. Contiguous, except in a PES header split over packets.
    pub at: [usize; 5],
}

/// One program as its PMT describes it (descriptors left out: a language or a bitrate note may
/// change without the streams changing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub number: u16,
    pub pmt_pid: u16,
    pub pcr_pid: u16,
    /// (elementary PID, stream type), sorted by PID.
    pub streams: Vec<(u16, u8)>,
}

/// The programs of a stream: what changes when the codecs or the PIDs change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProgramMap {
    /// Sorted by program number.
    pub programs: Vec<Program>,
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

/// A PES header being collected (usually whole in its first packet).
#[derive(Debug, Clone)]
struct PesHead {
    pid: u16,
    buf: [u8; PES_HEAD],
    at: [usize; PES_HEAD],
    n: usize,
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
    pub fn program_map(&self) -> Option<ProgramMap> {
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

enum Head {
    More,
    Bad,
    Done,
}

impl PesHead {
    /// Bytes the header needs, as far as it is known.
    fn need(&self) -> usize {
        if self.n < 9 {
            return 9;
        }
        match self.buf[7] >> 6 {
            0b10 => 14,
            0b11 => 19,
            _ => 9,
        }
    }

    fn take(&mut self, payload: &[u8], start: usize) -> Head {
        for (k, &b) in payload.iter().enumerate() {
            if self.n >= self.need() {
                break;
            }
            self.buf[self.n] = b;
            self.at[self.n] = start + k;
            self.n += 1;
            if self.n == 9 && !self.valid_fixed() {
                return Head::Bad;
            }
        }
        if self.n >= 9 && self.n >= self.need() {
            Head::Done
        } else {
            Head::More
        }
    }

    /// Start code, a stream id with the optional header, its `10` marker, and room for the
    /// timestamps its flags announce.
    fn valid_fixed(&self) -> bool {
        let b = &self.buf;
        if b[0] != 0 || b[1] != 0 || b[2] != 1 {
            return false;
        }
        // program_stream_map, padding, private_stream_2, ECM, EMM, DSM-CC, H.222.1 type E and
        // the program stream directory have no optional header.
        if matches!(b[3], 0xBC | 0xBE | 0xBF | 0xF0 | 0xF1 | 0xF2 | 0xF8 | 0xFF) || b[3] < 0xBC {
            return false;
        }
        if b[6] & 0xC0 != 0x80 {
            return false;
        }
        let room = usize::from(b[8]);
        match b[7] >> 6 {
            0b10 => room >= 5,
            0b11 => room >= 10,
            // No timestamps (or the forbidden `01`): nothing to collect.
            _ => true,
        }
    }

    fn clocks(&self, out: &mut Vec<Clock>) {
        let mut field = |kind, from: usize| {
            let bytes: [u8; 5] = self.buf[from..from + 5].try_into().unwrap_or([0; 5]);
            // The three marker bits must be set; a field without them is not a timestamp.
            if bytes[0] & 1 == 0 || bytes[2] & 1 == 0 || bytes[4] & 1 == 0 {
                return;
            }
            let at: [usize; 5] = self.at[from..from + 5].try_into().unwrap_or([0; 5]);
            out.push(Clock {
                kind,
                pid: self.pid,
                value: decode_pts(&bytes),
                at,
            });
        };
        match self.buf[7] >> 6 {
            0b10 => field(ClockKind::Pts, 9),
            0b11 => {
                field(ClockKind::Pts, 9);
                field(ClockKind::Dts, 14);
            }
            _ => {}
        }
    }
}

fn pid13(hi: u8, lo: u8) -> u16 {
    u16::from_be_bytes([hi & 0x1F, lo])
}

/// Total length of the section starting at `s`, once its 3 header bytes are there.
fn section_len(s: &[u8]) -> Option<usize> {
    let hi = *s.get(1)?;
    let lo = *s.get(2)?;
    Some(3 + (usize::from(hi & 0x0F) << 8 | usize::from(lo)))
}

/// Adds `more` to a partial section; returns the whole section once complete.
fn append_section(buf: &mut Vec<u8>, more: &[u8]) -> Option<Vec<u8>> {
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

fn parse_pmt(pid: u16, s: &[u8], body: &[u8]) -> Option<Program> {
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

/// PTS/DTS: `xxxx vvv1 vvvvvvvv vvvvvvv1 vvvvvvvv vvvvvvv1`.
pub fn decode_pts(b: &[u8; 5]) -> u64 {
    (u64::from(b[0] >> 1) & 7) << 30
        | u64::from(b[1]) << 22
        | u64::from(b[2] >> 1) << 15
        | u64::from(b[3]) << 7
        | u64::from(b[4] >> 1)
}

/// Writes `v` into a PTS/DTS field, keeping its prefix nibble and marker bits.
fn encode_pts(b: &mut [u8; 5], v: u64) {
    let v = v & MASK;
    b[0] = (b[0] & 0xF1) | ((v >> 29) as u8 & 0x0E);
    b[1] = (v >> 22) as u8;
    b[2] = (b[2] & 0x01) | ((v >> 14) as u8 & 0xFE);
    b[3] = (v >> 7) as u8;
    b[4] = (b[4] & 0x01) | ((v << 1) as u8 & 0xFE);
}

/// PCR base: 33 bits, then (in the fifth byte) 6 reserved bits and the top bit of the
/// 9-bit extension.
pub fn decode_pcr_base(b: &[u8; 5]) -> u64 {
    u64::from(b[0]) << 25
        | u64::from(b[1]) << 17
        | u64::from(b[2]) << 9
        | u64::from(b[3]) << 1
        | u64::from(b[4] >> 7)
}

fn encode_pcr_base(b: &mut [u8; 5], v: u64) {
    let v = v & MASK;
    b[0] = (v >> 25) as u8;
    b[1] = (v >> 17) as u8;
    b[2] = (v >> 9) as u8;
    b[3] = (v >> 1) as u8;
    b[4] = (b[4] & 0x7F) | (((v & 1) as u8) << 7);
}

/// What [`scan`] found in a segment.
#[derive(Debug, Clone, Default)]
pub struct TsScan {
    /// Every PCR, PTS and DTS, in byte order.
    pub clocks: Vec<Clock>,
    /// Whole packets walked.
    pub packets: usize,
    /// Bytes outside any packet: skipped while resynchronising, or a partial packet at the end.
    pub skipped: usize,
    /// The programs as of the segment's first complete PAT/PMT (`None` if it has none).
    pub first_map: Option<ProgramMap>,
}

impl TsScan {
    /// Why this segment is not a transport stream we can rebase, if it is not one: no packet
    /// at all, or more than an eighth of its bytes out of packet sync (an encrypted or garbled
    /// body whose `0x47` bytes are chance).
    pub fn problem(&self, len: usize) -> Option<String> {
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
pub fn rebase(data: &mut [u8], clocks: &[Clock], offset: u64) {
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
pub fn seconds(ticks: u64) -> f64 {
    ticks as f64 / 90_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;
    use std::process::Command;

    const SEG_000: &[u8] = include_bytes!("../../tests/fixtures/media/hls_ts/seg_000.ts");
    const SEG_003: &[u8] = include_bytes!("../../tests/fixtures/media/hls_ts/seg_003.ts");

    // --- a small TS writer for synthetic streams ---

    fn with_crc(mut s: Vec<u8>) -> Vec<u8> {
        let crc = crc32_mpeg(&s);
        s.extend_from_slice(&crc.to_be_bytes());
        s
    }

    /// A PSI packet: pointer field 0, the section, 0xFF stuffing.
    fn psi_packet(pid: u16, section: &[u8]) -> Vec<u8> {
        let mut p = vec![SYNC, 0x40 | (pid >> 8) as u8, pid as u8, 0x10, 0];
        p.extend_from_slice(section);
        p.resize(PACKET, 0xFF);
        p
    }

    fn pat(pmt_pid: u16) -> Vec<u8> {
        let mut s = vec![0x00, 0xB0, 13, 0, 1, 0xC1, 0, 0];
        s.extend_from_slice(&[0, 1, 0xE0 | (pmt_pid >> 8) as u8, pmt_pid as u8]);
        psi_packet(0, &with_crc(s))
    }

    fn pmt(pmt_pid: u16, pcr_pid: u16, streams: &[(u16, u8)]) -> Vec<u8> {
        let len = 9 + 5 * streams.len() + 4;
        let mut s = vec![0x02, 0xB0, len as u8, 0, 1, 0xC1, 0, 0];
        s.extend_from_slice(&[0xE0 | (pcr_pid >> 8) as u8, pcr_pid as u8, 0xF0, 0]);
        for &(pid, ty) in streams {
            s.extend_from_slice(&[ty, 0xE0 | (pid >> 8) as u8, pid as u8, 0xF0, 0]);
        }
        psi_packet(pmt_pid, &with_crc(s))
    }

    fn pts_bytes(prefix: u8, v: u64) -> [u8; 5] {
        let mut b = [prefix << 4 | 1, 0, 1, 0, 1];
        encode_pts(&mut b, v);
        b
    }

    /// A PES packet on `pid` with PTS (and DTS), optionally a PCR, payload stuffed to 188.
    fn pes_packet(pid: u16, pcr: Option<u64>, pts: u64, dts: Option<u64>) -> Vec<u8> {
        let mut p = vec![SYNC, 0x40 | (pid >> 8) as u8, pid as u8];
        if let Some(pcr) = pcr {
            p.push(0x30);
            p.extend_from_slice(&[7, 0x10]);
            let mut b = [0, 0, 0, 0, 0x7E];
            encode_pcr_base(&mut b, pcr);
            p.extend_from_slice(&b);
            p.push(0x2A); // extension low bits
        } else {
            p.push(0x10);
        }
        let flags = if dts.is_some() { 0xC0 } else { 0x80 };
        let hlen = if dts.is_some() { 10 } else { 5 };
        p.extend_from_slice(&[0, 0, 1, 0xE0, 0, 0, 0x80, flags, hlen]);
        p.extend_from_slice(&pts_bytes(if dts.is_some() { 3 } else { 2 }, pts));
        if let Some(d) = dts {
            p.extend_from_slice(&pts_bytes(1, d));
        }
        p.resize(PACKET, 0xAB);
        p
    }

    fn values(data: &[u8], kind: ClockKind) -> Vec<u64> {
        let mut st = TsState::new();
        let s = scan(data, &mut st);
        s.clocks
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.value)
            .collect()
    }

    /// Scans and rebases as the first segment of a file; returns the bytes and the offset.
    fn rebased(data: &[u8]) -> (Vec<u8>, u64, TsScan) {
        let mut st = TsState::new();
        let s = scan(data, &mut st);
        let off = earliest(&s.clocks).expect("clocks");
        let mut out = data.to_vec();
        rebase(&mut out, &s.clocks, off);
        (out, off, s)
    }

    // --- ffprobe ---

    #[derive(Debug, PartialEq)]
    struct Pkt {
        stream: u32,
        pts: i64,
        dts: i64,
        duration: String,
        size: String,
        flags: String,
    }

    fn probe_packets(bytes: &[u8]) -> Vec<Pkt> {
        let f = tempfile::Builder::new().suffix(".ts").tempfile().unwrap();
        std::fs::write(f.path(), bytes).unwrap();
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-show_entries"])
            .arg("packet=stream_index,pts,dts,duration,size,flags")
            .args(["-of", "csv=p=0"])
            .arg(f.path())
            .output()
            .expect("ffprobe must be installed");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: Vec<&str> = l.split(',').collect();
                Pkt {
                    stream: v[0].parse().unwrap(),
                    pts: v[1].parse().unwrap(),
                    dts: v[2].parse().unwrap(),
                    duration: v[3].into(),
                    size: v[4].into(),
                    flags: v[5].into(),
                }
            })
            .collect()
    }

    /// Every packet of `after` is the one of `before` moved back by `off`: same stream, size,
    /// flags and duration. Video timestamps are exact; audio packets inside a PES (several AAC
    /// frames share one PES header) get timestamps ffmpeg interpolates, rounded from the
    /// absolute time, so they may move by one tick.
    fn assert_shifted(before: &[Pkt], after: &[Pkt], off: u64) {
        assert_eq!(before.len(), after.len());
        assert!(before.len() > 100);
        let off = off as i64;
        for (b, a) in before.iter().zip(after) {
            let (dp, dd) = (a.pts - (b.pts - off), a.dts - (b.dts - off));
            let slack = if b.stream == 0 { 0 } else { 1 };
            assert!(dp.abs() <= slack && dd.abs() <= slack, "{b:?} -> {a:?}");
            assert_eq!(
                (a.stream, &a.size, &a.flags, &a.duration),
                (b.stream, &b.size, &b.flags, &b.duration)
            );
        }
    }

    fn probe(bytes: &[u8], entries: &str) -> String {
        let f = tempfile::Builder::new().suffix(".ts").tempfile().unwrap();
        std::fs::write(f.path(), bytes).unwrap();
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-show_entries", entries, "-of", "csv=p=0"])
            .arg(f.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn decode_errors(bytes: &[u8]) -> String {
        let f = tempfile::Builder::new().suffix(".ts").tempfile().unwrap();
        std::fs::write(f.path(), bytes).unwrap();
        let out = Command::new("ffmpeg")
            .args(["-hide_banner", "-nostats", "-v", "error", "-i"])
            .arg(f.path())
            .args(["-f", "null", "-"])
            .output()
            .unwrap();
        let mut s = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            s.push_str("exit failure");
        }
        s
    }

    #[test]
    fn the_fixture_segment_is_read() {
        let mut st = TsState::new();
        let s = scan(SEG_003, &mut st);
        assert_eq!(s.packets, SEG_003.len() / PACKET);
        assert_eq!(s.skipped, 0);
        assert_eq!(s.problem(SEG_003.len()), None);
        let map = s.first_map.expect("PAT and PMT");
        assert_eq!(map.programs.len(), 1);
        let p = &map.programs[0];
        assert_eq!(p.streams, [(0x100, 0x1B), (0x101, 0x0F)], "H.264 and AAC");
        assert_eq!(p.pcr_pid, 0x100);
        assert_eq!(st.program_map().as_ref(), Some(&map));
        // The first clock is a PCR, and it is the earliest one.
        assert_eq!(s.clocks[0].kind, ClockKind::Pcr);
        assert_eq!(earliest(&s.clocks), Some(s.clocks[0].value));
        // ffprobe agrees on the first video PTS/DTS.
        let v: Vec<&Clock> = s.clocks.iter().filter(|c| c.pid == 0x100).collect();
        let pts = v.iter().find(|c| c.kind == ClockKind::Pts).unwrap().value;
        let dts = v.iter().find(|c| c.kind == ClockKind::Dts).unwrap().value;
        assert_eq!((pts, dts), (672_030, 666_000));
    }

    #[test]
    fn a_mid_stream_segment_rebased_starts_at_the_preroll_with_the_same_packets() {
        let (out, off, s) = rebased(SEG_003);
        // Only timestamp bytes changed.
        let at: HashSet<usize> = s.clocks.iter().flat_map(|c| c.at).collect();
        for (i, (a, b)) in SEG_003.iter().zip(&out).enumerate() {
            assert!(a == b || at.contains(&i), "byte {i} changed");
        }
        assert_eq!(out.len(), SEG_003.len());
        let before = probe_packets(SEG_003);
        let after = probe_packets(&out);
        assert_shifted(&before, &after, off);
        // Every PTS of a PES header is exactly one packet's PTS after rebasing.
        for c in s.clocks.iter().filter(|c| c.kind == ClockKind::Pts) {
            let stream = u32::from(c.pid != 0x100);
            let want = (c.value - off) as i64;
            assert!(
                after.iter().any(|p| p.stream == stream && p.pts == want),
                "{c:?}"
            );
        }
        let start: f64 = probe(&out, "format=start_time").parse().unwrap();
        assert!(start > 0.0 && start <= 1.5, "start_time {start}");
        let orig: f64 = probe(SEG_003, "format=start_time").parse().unwrap();
        assert!(orig > 7.0, "{orig}");
        assert_eq!(decode_errors(&out), "");
    }

    #[test]
    fn the_first_segment_of_a_stream_moves_by_its_first_pcr() {
        // ffmpeg starts its PCR at 0.7 s and its first PTS at 1.44 s: the rebased file starts
        // 0.74 s in, the distance between them.
        let (out, off, _) = rebased(SEG_000);
        assert_eq!(off, 63_000);
        let start: f64 = probe(&out, "format=start_time").parse().unwrap();
        assert!((start - 0.744).abs() < 0.001, "start_time {start}");
    }

    #[test]
    fn later_segments_of_a_file_keep_the_files_offset() {
        // seg_003 opens the file, seg_004 follows: one offset for both, continuous timestamps.
        let seg4 = include_bytes!("../../tests/fixtures/media/hls_ts/seg_004.ts");
        let mut st = TsState::new();
        let s3 = scan(SEG_003, &mut st);
        let s4 = scan(seg4, &mut st);
        assert_eq!(s4.first_map, s3.first_map, "same programs");
        let off = earliest(&s3.clocks).unwrap();
        let mut file = SEG_003.to_vec();
        rebase(&mut file, &s3.clocks, off);
        let mut b = seg4.to_vec();
        rebase(&mut b, &s4.clocks, off);
        file.extend_from_slice(&b);
        let mut orig = SEG_003.to_vec();
        orig.extend_from_slice(seg4);
        let before = probe_packets(&orig);
        let after = probe_packets(&file);
        assert_eq!(before.len(), after.len());
        assert_shifted(&before, &after, off);
        assert_eq!(decode_errors(&file), "");
    }

    #[test]
    fn timestamps_crossing_the_33_bit_wrap_stay_continuous() {
        let v = 0x100;
        let start = WRAP - 90_000; // one second before the wrap
        let mut data = pat(0x1000);
        data.extend(pmt(0x1000, v, &[(v, 0x1B)]));
        let mut want = Vec::new();
        for i in 0..5u64 {
            let pcr = (start + i * 45_000) & MASK;
            let dts = (start + 63_000 + i * 45_000) & MASK;
            let pts = (dts + 6_000) & MASK;
            data.extend(pes_packet(v, Some(pcr), pts, Some(dts)));
            want.push((i * 45_000, 63_000 + i * 45_000, 69_000 + i * 45_000));
        }
        // Values on both sides of the wrap.
        let pcrs = values(&data, ClockKind::Pcr);
        assert!(pcrs[0] > WRAP - 100_000 && pcrs[4] < 100_000, "{pcrs:?}");
        let (out, off, _) = rebased(&data);
        assert_eq!(off, start);
        let got: Vec<(u64, u64, u64)> = (0..5)
            .map(|i| {
                (
                    values(&out, ClockKind::Pcr)[i],
                    values(&out, ClockKind::Dts)[i],
                    values(&out, ClockKind::Pts)[i],
                )
            })
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn the_earliest_clock_counts_across_the_wrap() {
        // A PTS before the first PCR (a stream that starts with a PES) sets the offset.
        let v = 0x100;
        let mut data = pat(0x1000);
        data.extend(pmt(0x1000, v, &[(v, 0x1B)]));
        data.extend(pes_packet(v, None, 5, Some(WRAP - 10)));
        data.extend(pes_packet(v, Some(WRAP - 5), 100, Some(50)));
        let (out, off, _) = rebased(&data);
        assert_eq!(off, WRAP - 10);
        assert_eq!(values(&out, ClockKind::Dts), [0, 60]);
        assert_eq!(values(&out, ClockKind::Pts), [15, 110]);
        assert_eq!(values(&out, ClockKind::Pcr), [5]);
        assert_eq!(earliest(&[]), None);
    }

    #[test]
    fn marker_bits_prefixes_and_the_pcr_extension_are_kept() {
        let v = 0x100;
        let mut data = pat(0x1000);
        data.extend(pmt(0x1000, v, &[(v, 0x1B)]));
        data.extend(pes_packet(
            v,
            Some(0x1_2345_6789),
            0x1_2346_0000,
            Some(0x1_2345_F000),
        ));
        let (out, off, s) = rebased(&data);
        assert_eq!(off, 0x1_2345_6789);
        let pcr = s.clocks.iter().find(|c| c.kind == ClockKind::Pcr).unwrap();
        let pts = s.clocks.iter().find(|c| c.kind == ClockKind::Pts).unwrap();
        let dts = s.clocks.iter().find(|c| c.kind == ClockKind::Dts).unwrap();
        // PCR: base 0, then reserved 111111, extension 0x2A (bit 8 in the fifth byte).
        let p = pcr.at[0];
        assert_eq!(&out[p..p + 6], &[0, 0, 0, 0, 0x7E, 0x2A]);
        // PTS prefix 0011, DTS prefix 0001, every marker bit set.
        for (c, prefix) in [(pts, 0x30), (dts, 0x10)] {
            let b = &out[c.at[0]..c.at[0] + 5];
            assert_eq!(b[0] & 0xF0, prefix);
            assert_eq!((b[0] & 1, b[2] & 1, b[4] & 1), (1, 1, 1));
        }
        assert_eq!(
            values(&out, ClockKind::Pts),
            [0x1_2346_0000 - 0x1_2345_6789]
        );
        assert_eq!(
            values(&out, ClockKind::Dts),
            [0x1_2345_F000 - 0x1_2345_6789]
        );
        // Round trips of the bit layouts.
        for v in [0, 1, 0x1_0000_0000, MASK, 0x0_AAAA_5555] {
            let mut b = [0x21, 0, 1, 0, 1];
            encode_pts(&mut b, v);
            assert_eq!(decode_pts(&b), v);
            assert_eq!((b[0] & 0xF1, b[2] & 1, b[4] & 1), (0x21, 1, 1));
            let mut b = [0, 0, 0, 0, 0x7F];
            encode_pcr_base(&mut b, v);
            assert_eq!(decode_pcr_base(&b), v);
            assert_eq!(b[4] & 0x7F, 0x7F);
        }
    }

    #[test]
    fn a_field_without_marker_bits_is_not_a_timestamp() {
        let v = 0x100;
        let mut data = pat(0x1000);
        data.extend(pmt(0x1000, v, &[(v, 0x1B)]));
        let mut p = pes_packet(v, None, 1000, None);
        p[4 + 9 + 4] &= 0xFE; // last marker bit of the PTS
        data.extend(p);
        assert!(values(&data, ClockKind::Pts).is_empty());
    }

    #[test]
    fn a_pes_header_split_over_two_packets_is_followed() {
        let v = 0x100;
        let mut data = pat(0x1000);
        data.extend(pmt(0x1000, v, &[(v, 0x1B)]));
        let whole = pes_packet(v, None, 900_000, Some(897_000));
        // First packet: an adaptation field of stuffing leaves 12 payload bytes (the PES header
        // is 19): 00 00 01 E0 00 00 80 C0 0A + 3 PTS bytes; the rest follows on the same PID.
        let mut a = vec![SYNC, 0x41, 0x00, 0x30, 171, 0x00];
        a.resize(4 + 1 + 171, 0xFF);
        a.extend_from_slice(&whole[4..16]);
        assert_eq!(a.len(), PACKET);
        let mut b = vec![SYNC, 0x01, 0x00, 0x11];
        b.extend_from_slice(&whole[16..]);
        b.resize(PACKET, 0xAB);
        // An audio packet in between, on another PID.
        let audio = pes_packet(0x101, None, 880_000, None);
        data.extend(a);
        data.extend(audio);
        data.extend(b);
        let mut st = TsState::new();
        let s = scan(&data, &mut st);
        let kinds: Vec<(ClockKind, u64)> = s.clocks.iter().map(|c| (c.kind, c.value)).collect();
        assert_eq!(
            kinds,
            [(ClockKind::Pts, 900_000), (ClockKind::Dts, 897_000)],
            "PID 0x101 is not in the PMT"
        );
        let pts = s.clocks[0];
        assert!(pts.at[4] - pts.at[0] > PACKET, "split: {:?}", pts.at);
        let mut out = data.clone();
        rebase(&mut out, &s.clocks, 890_000);
        assert_eq!(values(&out, ClockKind::Pts), [10_000]);
        assert_eq!(values(&out, ClockKind::Dts), [7_000]);
    }

    #[test]
    fn headers_pending_on_many_pids_are_bounded() {
        // Without a PMT every PID may carry PES: 4000 PIDs each start a header that never ends.
        let mut data = Vec::new();
        for pid in 0x20..0x20 + 4000u16 {
            let mut p = vec![SYNC, 0x40 | (pid >> 8) as u8, pid as u8, 0x30, 179, 0x00];
            p.resize(4 + 1 + 179, 0xFF);
            p.extend_from_slice(&[0, 0, 1, 0xE0]);
            data.extend(p);
        }
        let mut st = TsState::new();
        let s = scan(&data, &mut st);
        assert_eq!(s.packets, 4000);
        assert!(s.clocks.is_empty());
        assert!(st.heads.len() <= MAX_PENDING);
    }

    #[test]
    fn a_pmt_change_is_seen() {
        let mut st = TsState::new();
        let mut a = pat(0x1000);
        a.extend(pmt(0x1000, 0x100, &[(0x100, 0x1B), (0x101, 0x0F)]));
        a.extend(pes_packet(0x100, Some(0), 10, Some(5)));
        let first = scan(&a, &mut st).first_map.unwrap();
        // The same tables again: the same map.
        assert_eq!(scan(&a, &mut st).first_map.as_ref(), Some(&first));
        // HEVC instead of H.264 on the same PID.
        let mut b = pat(0x1000);
        b.extend(pmt(0x1000, 0x100, &[(0x100, 0x24), (0x101, 0x0F)]));
        let second = scan(&b, &mut st).first_map.unwrap();
        assert_ne!(second, first);
        assert!(
            second.to_string().contains("PID 0x0100 type 0x24"),
            "{second}"
        );
        // Another PID for the audio.
        let mut c = pat(0x1000);
        c.extend(pmt(0x1000, 0x100, &[(0x100, 0x24), (0x102, 0x0F)]));
        let third = scan(&c, &mut st).first_map.unwrap();
        assert_ne!(third, second);
        // Another PMT PID with the same streams is another map too.
        let mut d = pat(0x1001);
        d.extend(pmt(0x1001, 0x100, &[(0x100, 0x24), (0x102, 0x0F)]));
        let fourth = scan(&d, &mut st).first_map.unwrap();
        assert_ne!(fourth, third);
        assert_eq!(fourth.programs[0].streams, third.programs[0].streams);
        // A PMT with a bad CRC is ignored; a segment without tables has no map of its own.
        let mut e = pat(0x1001);
        let mut bad = pmt(0x1001, 0x100, &[(0x100, 0x1B)]);
        bad[20] ^= 0xFF;
        e.extend(bad);
        assert_eq!(scan(&e, &mut st).first_map, None);
        assert_eq!(st.program_map(), Some(fourth));
        assert_eq!(
            scan(&pes_packet(0x100, None, 1, None), &mut st).first_map,
            None
        );
    }

    #[test]
    fn pes_pids_are_guessed_until_a_pmt_is_known() {
        // A segment without PAT/PMT (its tables were in an EXT-X-MAP): PES are still found.
        let data = pes_packet(0x100, Some(1000), 3000, Some(2000));
        assert_eq!(values(&data, ClockKind::Pts), [3000]);
        // Not on PSI/SI PIDs, and not without a start code.
        let mut si = pes_packet(0x11, None, 3000, None);
        si[1] = 0x40;
        assert!(values(&si, ClockKind::Pts).is_empty());
    }

    #[test]
    fn misaligned_input_resyncs_on_the_sync_byte() {
        let mut st = TsState::new();
        let whole = scan(SEG_003, &mut st);
        // Garbage before the first packet.
        let mut shifted = vec![0x47, 1, 2, 3, 0x47, 5, 6];
        shifted.extend_from_slice(SEG_003);
        let s = scan(&shifted, &mut TsState::new());
        assert_eq!(s.skipped, 7);
        assert_eq!(s.packets, whole.packets);
        assert_eq!(s.clocks.len(), whole.clocks.len());
        assert!(
            s.clocks
                .iter()
                .zip(&whole.clocks)
                .all(|(a, b)| a.value == b.value && a.at[0] == b.at[0] + 7)
        );
        // 100 bytes cut out of the middle: the packet they belonged to is lost, the rest kept.
        let mut cut = SEG_003[..50 * PACKET + 20].to_vec();
        cut.extend_from_slice(&SEG_003[50 * PACKET + 120..]);
        let s = scan(&cut, &mut TsState::new());
        assert_eq!(s.packets, whole.packets - 1);
        assert_eq!(s.skipped, PACKET - 100);
        assert_eq!(s.problem(cut.len()), None);
        // A trailing partial packet is skipped.
        let s = scan(&SEG_003[..SEG_003.len() - 50], &mut TsState::new());
        assert_eq!(s.skipped, PACKET - 50);
        // Not TS at all.
        let junk: Vec<u8> = (0..100_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let s = scan(&junk, &mut TsState::new());
        assert!(s.problem(junk.len()).is_some(), "{s:?}");
        assert!(scan(&[], &mut TsState::new()).problem(0).is_some());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let mut st = TsState::new();
            let s = scan(&data, &mut st);
            let mut out = data.clone();
            rebase(&mut out, &s.clocks, earliest(&s.clocks).unwrap_or(0));
            prop_assert_eq!(out.len(), data.len());
        }

        #[test]
        fn damaged_real_segments_never_panic(
            cut in 0..SEG_003.len(),
            drop in 0usize..400,
            flips in proptest::collection::vec((0..SEG_003.len(), any::<u8>()), 0..64),
            offset in any::<u64>(),
        ) {
            let mut data = SEG_003[..cut].to_vec();
            data.extend_from_slice(&SEG_003[(cut + drop).min(SEG_003.len())..]);
            for (i, b) in flips {
                if let Some(x) = data.get_mut(i) {
                    *x ^= b;
                }
            }
            let mut st = TsState::new();
            let s = scan(&data, &mut st);
            let mut out = data.clone();
            rebase(&mut out, &s.clocks, offset);
            // Only the clock bytes may differ.
            let at: HashSet<usize> = s.clocks.iter().flat_map(|c| c.at).collect();
            for (i, (a, b)) in data.iter().zip(&out).enumerate() {
                prop_assert!(a == b || at.contains(&i));
            }
            // And rebasing back by the opposite offset restores the input.
            let s2 = scan(&out, &mut TsState::new());
            let mut back = out.clone();
            rebase(&mut back, &s2.clocks, offset.wrapping_neg() & MASK);
            prop_assert!(back == data);
        }
    }
}
