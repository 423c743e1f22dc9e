//! Authentication: password hashing, tokens, the session cookies and login throttling.

pub mod cookies;
pub mod links;
pub mod password;
pub mod recovery;
pub mod revoked;
pub mod session;
pub mod throttle;
pub mod tokens;
pub mod verification;

pub use session::{authenticate, CurrentSession};
pub use throttle::{LoginThrottle, AddressRate};

use std::time::Duration;

/// How the server signs and sends its tokens.
pub struct AuthConfig {
    /// HS256 key for access tokens.
    pub jwt_secret: Vec<u8>,
    /// Add `Secure` to the cookies (HTTPS deployments).
    pub secure_cookies: bool,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
}

impl AuthConfig {
    pub const ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
    pub const REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 60 * 60);

    pub fn new(jwt_secret: Vec<u8>, secure_cookies: bool) -> Self {
        Self { jwt_secret, secure_cookies, access_ttl: Self::ACCESS_TTL, refresh_ttl: Self::REFRESH_TTL }
    }
}
