//! A PES header collected across packets (usually it is whole in its first one), and the PTS
//! and DTS read from it, with the positions of their bytes for the rewrite.

use super::{Clock, ClockKind, PES_HEAD, decode_pts};

/// A PES header being collected (usually whole in its first packet).
#[derive(Debug, Clone)]
pub(super) struct PesHead {
    pub(super) pid: u16,
    pub(super) buf: [u8; PES_HEAD],
    pub(super) at: [usize; PES_HEAD],
    pub(super) n: usize,
}

/// What one more payload did to a header being collected.
pub(super) enum Head {
    More,
    Bad,
    Done,
}

impl PesHead {
    /// Bytes the header needs, as far as it is known.
    pub(super) fn need(&self) -> usize {
        if self.n < 9 {
            return 9;
        }
        match self.buf[7] >> 6 {
            0b10 => 14,
            0b11 => 19,
            _ => 9,
        }
    }

    pub(super) fn take(&mut self, payload: &[u8], start: usize) -> Head {
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
    pub(super) fn valid_fixed(&self) -> bool {
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

    pub(super) fn clocks(&self, out: &mut Vec<Clock>) {
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
