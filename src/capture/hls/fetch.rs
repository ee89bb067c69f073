//! Fetching what a playlist lists: segments (with retries, checks that the body is media, and
//! AES-128 decryption), keys and init sections, each read with a size cap.

use super::*;

pub(super) fn supported(key: &Key) -> Result<(), String> {
    let method = match &key.method {
        KeyMethod::Aes128 => "AES-128",
        KeyMethod::SampleAes => "SAMPLE-AES",
        KeyMethod::Other(m) => m.as_str(),
    };
    match (&key.method, &key.keyformat) {
        (KeyMethod::Aes128, None) => Ok(()),
        (_, Some(format)) => Err(format!(
            "unsupported encryption: METHOD={method} with KEYFORMAT={format} (DRM) cannot be recorded"
        )),
        _ => Err(format!(
            "unsupported encryption: METHOD={method} cannot be recorded (only AES-128 can)"
        )),
    }
}

/// Fetches, decrypts and checks one segment, with retries.
pub(super) async fn fetch_segment(
    ctx: Arc<Ctx>,
    job: Job,
    target: Duration,
) -> (Job, Result<Fetched, String>) {
    let timeout = (target * 3).clamp(Duration::from_secs(10), Duration::from_secs(60));
    let mut last = String::new();
    for attempt in 0..SEGMENT_TRIES {
        if attempt > 0 {
            tokio::time::sleep(RETRY_PAUSE * attempt).await;
        }
        match tokio::time::timeout(timeout, fetch_once(&ctx, &job.seg)).await {
            Ok(Ok(f)) => return (job, Ok(f)),
            Ok(Err(e)) => last = e,
            Err(_) => last = format!("no whole answer within {}s", timeout.as_secs()),
        }
        tracing::debug!(
            sequence = job.seg.sequence,
            attempt = attempt + 1,
            "HLS segment fetch failed: {last}"
        );
    }
    let e = format!("{last} ({SEGMENT_TRIES} tries)");
    (job, Err(e))
}

pub(super) async fn fetch_once(ctx: &Ctx, seg: &MediaSegment) -> Result<Fetched, String> {
    let key = match &seg.key {
        Some(k) => Some(ctx.key(k).await?),
        None => None,
    };
    let init = match &seg.map {
        Some(m) => Some(ctx.init(m).await?),
        None => None,
    };
    let data = get(ctx, &seg.uri, seg.byterange, SEGMENT_CAP).await?;
    let data = match key {
        Some(k) => {
            let iv = seg
                .key
                .as_ref()
                .and_then(|k| k.iv)
                .unwrap_or_else(|| u128::from(seg.sequence).to_be_bytes());
            decrypt(&k, &iv, &data)?
        }
        None => data,
    };
    let container = if looks_like_ts(&data) {
        Container::Ts
    } else if looks_like_mp4(&data) {
        if init.is_none() && !data.starts_with_box(b"ftyp") {
            return Err("an fMP4 fragment without an init section (no EXT-X-MAP)".into());
        }
        Container::Fmp4
    } else {
        return Err(format!(
            "not a media segment: starts with {}",
            http::sniff(&data)
        ));
    };
    Ok(Fetched {
        data,
        init,
        container,
    })
}

impl Ctx {
    /// The AES-128 key for `key`, fetched once per key URI.
    async fn key(&self, key: &Key) -> Result<[u8; 16], String> {
        let uri = key.uri.as_ref().ok_or("EXT-X-KEY without URI")?;
        let mut keys = self.keys.lock().await;
        if let Some(k) = keys.get(uri) {
            return Ok(*k);
        }
        let body = get(self, uri, None, 1024)
            .await
            .map_err(|e| format!("key: {e}"))?;
        let k: [u8; 16] = body[..].try_into().map_err(|_| {
            format!(
                "key: {} bytes instead of 16 (starts with {})",
                body.len(),
                http::sniff(&body)
            )
        })?;
        if keys.len() >= CACHE_ENTRIES {
            keys.clear();
        }
        keys.insert(uri.clone(), k);
        Ok(k)
    }

    /// The init section for `map`, fetched once per URI and byte range.
    async fn init(&self, map: &Map) -> Result<Bytes, String> {
        let mut inits = self.inits.lock().await;
        if let Some(b) = inits.get(map) {
            return Ok(b.clone());
        }
        let body = get(self, &map.uri, map.byterange, INIT_CAP)
            .await
            .map_err(|e| format!("init section: {e}"))?;
        if !(looks_like_mp4(&body) || looks_like_ts(&body)) {
            return Err(format!(
                "init section is not media: starts with {}",
                http::sniff(&body)
            ));
        }
        if inits.len() >= CACHE_ENTRIES {
            inits.clear();
        }
        inits.insert(map.clone(), body.clone());
        Ok(body)
    }
}

/// GET with the source's headers, a byte range when given, and a size cap.
pub(super) async fn get(
    ctx: &Ctx,
    url: &Url,
    range: Option<ByteRange>,
    cap: usize,
) -> Result<Bytes, String> {
    let mut req = ctx.client.get(url.as_str()).headers(ctx.headers_for(url));
    if let Some(r) = range {
        req = req.header(RANGE, r.header());
    }
    let resp = req.send().await.map_err(|e| http::describe(&e))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let whole_resource = range.is_some() && status == StatusCode::OK;
    let cap = if whole_resource { SEGMENT_CAP } else { cap };
    let body = http::read_capped(resp, cap).await.map_err(|e| match e {
        http::ReadError::TooLarge { cap } => format!("larger than {} MiB", cap >> 20),
        http::ReadError::Http(e) => http::describe(&e),
    })?;
    match range {
        // The server ignored Range and sent everything: take the range out of it.
        Some(r) if whole_resource => {
            let start = usize::try_from(r.offset).map_err(|_| "byte range out of reach")?;
            let len = usize::try_from(r.length).map_err(|_| "byte range out of reach")?;
            let end = start.checked_add(len).ok_or("byte range out of reach")?;
            if end > body.len() {
                return Err(format!(
                    "byte range {}..{end} is past the end ({} bytes)",
                    start,
                    body.len()
                ));
            }
            Ok(body.slice(start..end))
        }
        _ => Ok(body),
    }
}

pub(super) fn decrypt(key: &[u8; 16], iv: &[u8; 16], data: &[u8]) -> Result<Bytes, String> {
    if data.is_empty() || data.len() % 16 != 0 {
        return Err(format!(
            "AES-128 segment of {} bytes is not whole cipher blocks",
            data.len()
        ));
    }
    let mut buf = data.to_vec();
    let len = cbc::Decryptor::<aes::Aes128>::new(key.into(), iv.into())
        .decrypt_padded::<Pkcs7>(&mut buf)
        .map_err(|_| "AES-128 decryption failed (wrong key or IV)".to_string())?
        .len();
    buf.truncate(len);
    Ok(Bytes::from(buf))
}

/// MPEG-TS: sync bytes at 188-byte spacing.
pub(crate) fn looks_like_ts(d: &[u8]) -> bool {
    d.len() >= 188 && (0..d.len().min(188 * 4)).step_by(188).all(|i| d[i] == 0x47)
}

/// ISO BMFF: a plausible box header of a type that can start a file or fragment.
pub(crate) fn looks_like_mp4(d: &[u8]) -> bool {
    const STARTS: [&[u8; 4]; 11] = [
        b"ftyp", b"styp", b"moof", b"sidx", b"prft", b"emsg", b"free", b"skip", b"moov", b"mdat",
        b"uuid",
    ];
    if d.len() < 8 {
        return false;
    }
    let size = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    (size == 1 || size >= 8) && STARTS.iter().any(|t| &d[4..8] == *t)
}

pub(super) trait StartsWithBox {
    fn starts_with_box(&self, kind: &[u8; 4]) -> bool;
}

impl StartsWithBox for [u8] {
    fn starts_with_box(&self, kind: &[u8; 4]) -> bool {
        self.len() >= 8 && &self[4..8] == kind
    }
}
