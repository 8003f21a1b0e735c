//! One 128-bit hash for ids, so a set of ids costs 16 bytes per id whatever the ids' length:
//! the validator's duplicate detection and variant groups key on it, and other modules of
//! the crate that need to recognise an id again should use it too.

use std::hash::{BuildHasherDefault, Hasher};

/// A 128-bit hash of an id (a SKU, `promotion_id`, `item_group_id`, ...), for telling ids
/// apart without keeping them: a set of `id_hash` values answers "seen before?" for
/// millions of ids in 16 bytes each, where the ids themselves would take their full length
/// plus a `String` apiece.
///
/// Built as two independent 64-bit lanes of multiply-fold mixing (the construction of
/// foldhash and wyhash), each lane with its own constants, over the id's bytes 8 at a time;
/// the length is mixed into both seeds, so ids that differ only by trailing NUL bytes still
/// differ. Much cheaper than SipHash, which matters on the validator's hot path (two
/// SipHashes cost 4% of a whole catalog validation).
///
/// Collisions: two different ids get the same value only when both lanes collide at once.
/// Taken as 128 random bits, n distinct ids collide with probability about n² / 2¹²⁹, which
/// is below 10⁻²⁰ even for a billion ids: far beyond any catalog, so a match is treated as
/// the same id. The unit tests check that hundreds of thousands of near-identical ids
/// (`SKU-00000001`, `SKU-1`, `1`, ...) all hash apart.
///
/// Deterministic (no per-process seed): the same id hashes the same in every run and on
/// every machine. Not cryptographic: the constants are public, so someone who wants two ids
/// to collide can search for a pair; use it where a collision can only hurt the one who
/// wrote the ids (a merchant's own file), never as a security boundary.
#[inline]
pub fn id_hash(id: &str) -> u128 {
    const K: [u64; 4] = [
        0x243f_6a88_85a3_08d3,
        0x1319_8a2e_0370_7344,
        0xa409_3822_299f_31d0,
        0x082e_fa98_ec4e_6c89,
    ];
    fn fold(a: u64, b: u64) -> u64 {
        let p = u128::from(a) * u128::from(b);
        (p as u64) ^ ((p >> 64) as u64)
    }
    let bytes = id.as_bytes();
    let len = bytes.len() as u64;
    let (mut a, mut b) = (K[0] ^ len, K[1] ^ len.rotate_left(32));
    let mut mix = |word: &[u8]| {
        let mut w = [0u8; 8];
        w[..word.len()].copy_from_slice(word);
        let w = u64::from_le_bytes(w);
        a = fold(a ^ w, K[2]);
        b = fold(b ^ w.rotate_left(29), K[3]);
    };
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        mix(word);
    }
    mix(words.remainder());
    (u128::from(fold(a, K[1] ^ K[3])) << 64) | u128::from(fold(b, K[0] ^ K[2]))
}

/// Builds the hasher of maps and sets keyed by [`id_hash`] values: the keys are already
/// hashes, and hashing them again would only cost.
pub type IdHashBuild = BuildHasherDefault<PassThrough>;

/// Passes an [`id_hash`] key through as the table hash (its low 64 bits).
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::id_hash;

    #[test]
    fn id_hashes_differ_for_near_identical_ids() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..200_000u32 {
            for id in [format!("SKU-{i:08}"), format!("SKU-{i}"), format!("{i}")] {
                seen.insert((id.clone(), id_hash(&id)));
            }
        }
        let hashes: std::collections::HashSet<u128> = seen.iter().map(|(_, h)| *h).collect();
        assert_eq!(hashes.len(), seen.len());
        assert_ne!(id_hash(""), id_hash("\0"));
        assert_ne!(id_hash("a"), id_hash("a\0"));
        assert_ne!(id_hash("abcdefgh"), id_hash("abcdefgh\0"));
    }
}
