//! AMF0, the encoding of FLV script tags (`onMetaData`): a bounded decoder and an encoder.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Number(f64),
    Bool(bool),
    String(String),
    Object(Vec<(String, Value)>),
    Null,
    Undefined,
    EcmaArray(Vec<(String, Value)>),
    StrictArray(Vec<Value>),
    Date(f64),
}

impl Value {
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Properties of an object or ECMA array.
    pub(crate) fn properties(&self) -> Option<&[(String, Value)]> {
        match self {
            Value::Object(p) | Value::EcmaArray(p) => Some(p),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.properties()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmfError(pub(crate) &'static str);

impl fmt::Display for AmfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad AMF0 data: {}", self.0)
    }
}

impl std::error::Error for AmfError {}

const MAX_DEPTH: usize = 16;
const MAX_VALUES: usize = 200_000;

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
    values: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], AmfError> {
        let end = self.at.checked_add(n).ok_or(AmfError("length overflow"))?;
        let s = self.data.get(self.at..end).ok_or(AmfError("truncated"))?;
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, AmfError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<usize, AmfError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]) as usize)
    }

    fn u32(&mut self) -> Result<usize, AmfError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn f64(&mut self) -> Result<f64, AmfError> {
        let b = self.take(8)?;
        Ok(f64::from_be_bytes(
            b.try_into().map_err(|_| AmfError("truncated"))?,
        ))
    }

    fn string(&mut self, long: bool) -> Result<String, AmfError> {
        let n = if long { self.u32()? } else { self.u16()? };
        Ok(String::from_utf8_lossy(self.take(n)?).into_owned())
    }

    fn properties(&mut self, depth: usize) -> Result<Vec<(String, Value)>, AmfError> {
        let mut out = Vec::new();
        loop {
            let key = self.string(false)?;
            if key.is_empty() && self.data.get(self.at) == Some(&9) {
                self.at += 1;
                return Ok(out);
            }
            // Some encoders end an ECMA array at the end of the tag without the end marker.
            if key.is_empty() && self.at >= self.data.len() {
                return Ok(out);
            }
            out.push((key, self.value(depth + 1)?));
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, AmfError> {
        if depth > MAX_DEPTH {
            return Err(AmfError("nested too deeply"));
        }
        self.values += 1;
        if self.values > MAX_VALUES {
            return Err(AmfError("too many values"));
        }
        Ok(match self.u8()? {
            0 => Value::Number(self.f64()?),
            1 => Value::Bool(self.u8()? != 0),
            2 => Value::String(self.string(false)?),
            3 => Value::Object(self.properties(depth)?),
            5 => Value::Null,
            6 => Value::Undefined,
            8 => {
                self.u32()?; // approximate count; the end marker is authoritative
                Value::EcmaArray(self.properties(depth)?)
            }
            10 => {
                let n = self.u32()?;
                // Each element takes at least one byte: a count beyond the remaining bytes lies.
                if n > self.data.len() - self.at {
                    return Err(AmfError("array longer than the data"));
                }
                // Capped: nested arrays must not reserve memory the data does not fill.
                let mut v = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    v.push(self.value(depth + 1)?);
                }
                Value::StrictArray(v)
            }
            11 => {
                let t = self.f64()?;
                self.take(2)?;
                Value::Date(t)
            }
            12 => Value::String(self.string(true)?),
            _ => return Err(AmfError("unknown type marker")),
        })
    }
}

/// Decodes every value in a script tag body (usually a name and an object).
pub fn decode(data: &[u8]) -> Result<Vec<Value>, AmfError> {
    let mut r = Reader {
        data,
        at: 0,
        values: 0,
    };
    let mut out = Vec::new();
    while r.at < data.len() {
        out.push(r.value(0)?);
    }
    Ok(out)
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    let b = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(b.len() as u16).to_be_bytes());
    out.extend_from_slice(b);
}

fn put_properties(out: &mut Vec<u8>, props: &[(String, Value)]) {
    for (k, v) in props {
        put_string(out, k);
        encode(v, out);
    }
    out.extend_from_slice(&[0, 0, 9]);
}

/// Appends the encoding of `v`.
pub(crate) fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Number(n) => {
            out.push(0);
            out.extend_from_slice(&n.to_be_bytes());
        }
        Value::Bool(b) => out.extend_from_slice(&[1, u8::from(*b)]),
        Value::String(s) if s.len() > u16::MAX as usize => {
            out.push(12);
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        Value::String(s) => {
            out.push(2);
            put_string(out, s);
        }
        Value::Object(p) => {
            out.push(3);
            put_properties(out, p);
        }
        Value::Null => out.push(5),
        Value::Undefined => out.push(6),
        Value::EcmaArray(p) => {
            out.push(8);
            out.extend_from_slice(&(p.len() as u32).to_be_bytes());
            put_properties(out, p);
        }
        Value::StrictArray(items) => {
            out.push(10);
            out.extend_from_slice(&(items.len() as u32).to_be_bytes());
            for i in items {
                encode(i, out);
            }
        }
        Value::Date(t) => {
            out.push(11);
            out.extend_from_slice(&t.to_be_bytes());
            out.extend_from_slice(&[0, 0]);
        }
    }
}

#[cfg(test)]
mod tests;
