//! Sets and maps keyed by mgdeploy's own names (nginx directives, uWSGI
//! options), looked up once for every directive of a fleet's configuration.
//! The keys are ours, not an attacker's, so the hash need not resist
//! collisions chosen on purpose; FNV-1a hashes these short names several
//! times faster than the standard library's SipHash.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a, 64 bits.
#[derive(Clone, Copy, Debug)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

pub type NameSet = HashSet<&'static str, BuildHasherDefault<Fnv>>;
pub type NameMap<V> = HashMap<&'static str, V, BuildHasherDefault<Fnv>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_1a_reference_values() {
        let hash = |text: &[u8]| {
            let mut h = Fnv::default();
            h.write(text);
            h.finish()
        };
        // The published FNV-1a 64-bit test vectors.
        assert_eq!(hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash(b"foobar"), 0x8594_4171_f739_67e8);
        let set: NameSet = ["server", "location"].into_iter().collect();
        assert!(set.contains("server") && !set.contains("Server"));
    }
}
