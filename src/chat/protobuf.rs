//! A minimal protobuf wire-format reader and writer: no schema, no code generation.
//!
//! Douyin's webcast frames (DANMAKU.md §D.4) and Bilibili's `SEND_GIFT_V2` (§A.4) need a
//! handful of fields each; the peers hand-write this too (biliup
//! `crates/danmaku/src/codec/protobuf.rs`, BililiveRecorder `ProtobufReader.cs`). Every read
//! is bounds-checked: varints are at most 10 bytes, lengths never run past the buffer, groups
//! (wire types 3/4, deprecated and unused by these schemas) are rejected, and unknown fields
//! are skipped.

/// A field's value as the wire carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl<'a> Value<'a> {
    /// The integer of a varint field (`uint64`, `int64`, `bool`, enums...).
    pub fn as_u64(self) -> Option<u64> {
        match self {
            Value::Varint(v) => Some(v),
            _ => None,
        }
    }

    /// `int32`/`int64` as protobuf encodes negative numbers: the two's complement in 10 bytes.
    pub fn as_i64(self) -> Option<i64> {
        self.as_u64().map(|v| v as i64)
    }

    pub fn as_bytes(self) -> Option<&'a [u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// A `string` field; invalid UTF-8 is replaced rather than refused, because one bad
    /// nickname should not cost the whole message.
    pub fn as_string(self) -> Option<String> {
        self.as_bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    #[error("protobuf truncated at byte {at}")]
    Truncated { at: usize },
    #[error("protobuf varint longer than 10 bytes at byte {at}")]
    VarintTooLong { at: usize },
    #[error("protobuf wire type {wire_type} (unsupported) at byte {at}")]
    BadWireType { wire_type: u8, at: usize },
    #[error("protobuf field number 0 or out of range at byte {at}")]
    BadFieldNumber { at: usize },
}

/// Iterates over the fields of one message. After the first error it yields nothing more.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            pos: 0,
            failed: false,
        }
    }

    fn varint(&mut self) -> Result<u64, ProtoError> {
        let start = self.pos;
        let mut value = 0u64;
        for i in 0..10 {
            let byte = *self
                .buf
                .get(self.pos)
                .ok_or(ProtoError::Truncated { at: self.pos })?;
            self.pos += 1;
            // The 10th byte may only carry the top bit of a u64.
            if i == 9 && byte > 1 {
                return Err(ProtoError::VarintTooLong { at: start });
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(ProtoError::VarintTooLong { at: start })
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], ProtoError> {
        let at = self.pos;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| at.checked_add(len))
            .filter(|&end| end <= self.buf.len())
            .ok_or(ProtoError::Truncated { at })?;
        self.pos = end;
        Ok(&self.buf[at..end])
    }

    fn field(&mut self) -> Result<(u32, Value<'a>), ProtoError> {
        let at = self.pos;
        let key = self.varint()?;
        let number = u32::try_from(key >> 3)
            .ok()
            .filter(|&n| n != 0 && n < (1 << 29))
            .ok_or(ProtoError::BadFieldNumber { at })?;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                let b = self.take(8)?;
                Value::Fixed64(u64::from_le_bytes(
                    b.try_into().map_err(|_| ProtoError::Truncated { at })?,
                ))
            }
            2 => {
                let len = self.varint()?;
                Value::Bytes(self.take(len)?)
            }
            5 => {
                let b = self.take(4)?;
                Value::Fixed32(u32::from_le_bytes(
                    b.try_into().map_err(|_| ProtoError::Truncated { at })?,
                ))
            }
            wire_type => {
                return Err(ProtoError::BadWireType {
                    wire_type: wire_type as u8,
                    at,
                });
            }
        };
        Ok((number, value))
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<(u32, Value<'a>), ProtoError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.buf.len() {
            return None;
        }
        let item = self.field();
        self.failed = item.is_err();
        Some(item)
    }
}

/// Calls `f` for every field of `buf`, in wire order; stops at the first malformed field.
pub fn for_each_field<'a>(
    buf: &'a [u8],
    mut f: impl FnMut(u32, Value<'a>),
) -> Result<(), ProtoError> {
    for field in Reader::new(buf) {
        let (number, value) = field?;
        f(number, value);
    }
    Ok(())
}

/// Builds a message field by field (the ack and heartbeat frames; test fixtures).
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    fn raw_varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    pub fn varint(&mut self, field: u32, v: u64) -> &mut Self {
        self.raw_varint(u64::from(field) << 3);
        self.raw_varint(v);
        self
    }

    pub fn bytes(&mut self, field: u32, b: &[u8]) -> &mut Self {
        self.raw_varint((u64::from(field) << 3) | 2);
        self.raw_varint(b.len() as u64);
        self.buf.extend_from_slice(b);
        self
    }

    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}

#[cfg(test)]
mod tests;
