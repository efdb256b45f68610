//! A pair of tokens as stored, and the two plain rules about stored values: what counts as
//! present, and the fingerprint that tells a pair written together from two halves of different
//! writes. Used by the sans-IO core (`machine`) and the boundary.

use alloc::string::String;

/// An access token and the refresh token written with it.
#[derive(Clone, PartialEq, Eq)]
pub struct Pair {
    /// Sent with requests.
    pub access: String,
    /// Spent on the refresh endpoint only; `None` in a cookie session, where the browser holds it.
    pub refresh: Option<String>,
}

/// Whether a stored string is there at all (a stringified `undefined`/`null` is not).
pub fn present(v: &str) -> bool {
    !v.is_empty() && v != "undefined" && v != "null"
}

/// FNV-1a over the pair, in hex. Not a secret and not a MAC: it only tells whether two values were
/// written together.
pub fn fingerprint(pair: &Pair) -> String {
    fingerprint_of(&pair.access, pair.refresh.as_deref())
}

/// [`fingerprint`] of a pair's halves, borrowed.
pub fn fingerprint_of(access: &str, refresh: Option<&str>) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for part in [access.as_bytes(), &[0], refresh.unwrap_or_default().as_bytes()].iter() {
        for &b in *part {
            h = (h ^ b as u64).wrapping_mul(0x100000001b3);
        }
    }
    let mut hex = [0u8; 16];
    for (i, d) in hex.iter_mut().enumerate() {
        *d = b"0123456789abcdef"[(h >> (60 - i * 4)) as usize & 15];
    }
    crate::code::ascii(&hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stringified_nothing_is_absent() {
        for bad in ["", "undefined", "null"] {
            assert!(!present(bad), "{bad:?}");
        }
        assert!(present("eyJ.abc.def") && present("a b"));
    }

    #[test]
    fn fingerprints_tell_pairs_apart() {
        let f = |a: &str, r: Option<&str>| fingerprint(&Pair { access: a.into(), refresh: r.map(String::from) });
        assert_eq!(f("a", Some("b")), f("a", Some("b")));
        assert_ne!(f("a", Some("b")), f("a", Some("c")));
        assert_ne!(f("ab", Some("")), f("a", Some("b")));
        assert_ne!(f("a", None), f("b", None));
        assert_eq!(f("a", Some("b")).len(), 16);
    }
}
