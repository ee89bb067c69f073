//! The 33-bit clock fields as they sit in the bytes: PTS/DTS (with marker bits) and the PCR
//! base (followed by its reserved bits and extension, which are kept).

use super::MASK;

/// PTS/DTS: `xxxx vvv1 vvvvvvvv vvvvvvv1 vvvvvvvv vvvvvvv1`.
pub(crate) fn decode_pts(b: &[u8; 5]) -> u64 {
    (u64::from(b[0] >> 1) & 7) << 30
        | u64::from(b[1]) << 22
        | u64::from(b[2] >> 1) << 15
        | u64::from(b[3]) << 7
        | u64::from(b[4] >> 1)
}

/// Writes `v` into a PTS/DTS field, keeping its prefix nibble and marker bits.
pub(super) fn encode_pts(b: &mut [u8; 5], v: u64) {
    let v = v & MASK;
    b[0] = (b[0] & 0xF1) | ((v >> 29) as u8 & 0x0E);
    b[1] = (v >> 22) as u8;
    b[2] = (b[2] & 0x01) | ((v >> 14) as u8 & 0xFE);
    b[3] = (v >> 7) as u8;
    b[4] = (b[4] & 0x01) | ((v << 1) as u8 & 0xFE);
}

/// PCR base: 33 bits, then (in the fifth byte) 6 reserved bits and the top bit of the
/// 9-bit extension.
pub(crate) fn decode_pcr_base(b: &[u8; 5]) -> u64 {
    u64::from(b[0]) << 25
        | u64::from(b[1]) << 17
        | u64::from(b[2]) << 9
        | u64::from(b[3]) << 1
        | u64::from(b[4] >> 7)
}

pub(super) fn encode_pcr_base(b: &mut [u8; 5], v: u64) {
    let v = v & MASK;
    b[0] = (v >> 25) as u8;
    b[1] = (v >> 17) as u8;
    b[2] = (v >> 9) as u8;
    b[3] = (v >> 1) as u8;
    b[4] = (b[4] & 0x7F) | (((v & 1) as u8) << 7);
}
