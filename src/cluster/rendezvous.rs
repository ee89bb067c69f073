//! Weighted rendezvous (highest random weight) hashing: which live instance polls an idle room.
//!
//! Each (room, instance) pair gets a score `-weight / ln(u)`, with `u` in (0, 1) a stable hash
//! of `"<room key>|<instance>"`; the highest score owns the room. An instance with weight 2 gets
//! about twice the rooms of one with weight 1, and when an instance joins or leaves only the
//! rooms that must move move: those the newcomer wins, or those the leaver had.
//!
//! Every instance must compute the same owner, so the hash is fixed here (FNV-1a 64 followed by
//! the MurmurHash3 64-bit finalizer for avalanche), never std's per-process randomized hasher;
//! changing it is a cluster-wide protocol change (the pinned values in the tests guard it).
//!
//! Not here: who the live members are, and live sessions (a recording room is owned by its
//! etcd owner key, not by the hash, so membership changes never move it).

/// A stable 64-bit hash of `data`, identical on every machine and release.
#[cfg(test)]
pub fn stable_hash(data: &[u8]) -> u64 {
    fmix64(fnv1a64(data.iter().copied()))
}

fn fnv1a64(bytes: impl Iterator<Item = u8>) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// MurmurHash3's finalizer: FNV alone mixes its last bytes poorly, and room keys often differ
/// only in their last digits.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

/// Maps a hash to (0, 1), both ends excluded (so `ln` is finite and negative).
fn unit_interval(h: u64) -> f64 {
    const SCALE: f64 = (1u64 << 53) as f64;
    ((h >> 11) as f64 + 0.5) / SCALE
}

/// The score of `instance` for `room_key`; `None` for a weight that takes no rooms (zero,
/// negative or not a number).
pub fn score(room_key: &str, instance: &str, weight: f64) -> Option<f64> {
    if !(weight.is_finite() && weight > 0.0) {
        return None;
    }
    // The hash of "<room key>|<instance>", without building the string.
    let bytes = room_key.bytes().chain([b'|']).chain(instance.bytes());
    let u = unit_interval(fmix64(fnv1a64(bytes)));
    Some(-weight / u.ln())
}

/// The instance that owns `room_key` among `members` (`(instance, weight)` pairs), or `None`
/// if no member takes rooms. Member order does not matter; an exact tie (practically never)
/// goes to the greater instance name, so it is still the same everywhere.
pub fn owner<'a, I>(room_key: &str, members: I) -> Option<&'a str>
where
    I: IntoIterator<Item = (&'a str, f64)>,
{
    let mut best: Option<(f64, &'a str)> = None;
    for (instance, weight) in members {
        let Some(s) = score(room_key, instance, weight) else {
            continue;
        };
        let better = match best {
            None => true,
            Some((b, name)) => s > b || (s == b && instance > name),
        };
        if better {
            best = Some((s, instance));
        }
    }
    best.map(|(_, instance)| instance)
}

#[cfg(test)]
mod tests;
