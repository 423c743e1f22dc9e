//! HMAC-SHA256 tags under the server secret, one purpose string per use, so a tag made for
//! one thing (an invite link, a form-error link) is never valid for another; and the random
//! tokens everything else needs (refresh tokens, invite nonces, script nonces).

use hmac::{Hmac, Mac};
use sha2::Sha256;

fn mac(secret: &[u8], purpose: &str, parts: &[&[u8]]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(purpose.as_bytes());
    for part in parts {
        // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac
}

/// The first `len` bytes (at most 32) of the tag of `parts` for `purpose`.
pub fn tag(secret: &[u8], purpose: &str, parts: &[&[u8]], len: usize) -> Vec<u8> {
    let full = mac(secret, purpose, parts).finalize().into_bytes();
    full[..len.min(full.len())].to_vec()
}

/// Whether `tag` is the (possibly truncated) tag of `parts`, compared in constant time.
pub fn verify(secret: &[u8], purpose: &str, parts: &[&[u8]], tag: &[u8]) -> bool {
    !tag.is_empty() && mac(secret, purpose, parts).verify_truncated_left(tag).is_ok()
}

/// Whether two secrets are equal, in time that depends on their lengths only.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

/// `bytes` random bytes from the OS-seeded CSPRNG, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_is_bound_to_its_purpose_and_its_parts() {
        let t = tag(b"k", "invite", &[b"ab", b"c"], 24);
        assert!(verify(b"k", "invite", &[b"ab", b"c"], &t));
        assert!(!verify(b"k", "form", &[b"ab", b"c"], &t));
        assert!(!verify(b"k", "invite", &[b"a", b"bc"], &t));
        assert!(!verify(b"other", "invite", &[b"ab", b"c"], &t));
        assert!(!verify(b"k", "invite", &[b"ab", b"c"], &[]));
    }
}
