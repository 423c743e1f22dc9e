//! Accounts: the parsed inputs of the sign-in forms and the views of a user and a login.

use super::FieldError;
use serde::{Deserialize, Serialize};

/// A user as the user themself sees it. Never carries the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub username: String,
    pub email: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// ISO 4217 code of the user's amounts.
    pub currency: String,
    /// IANA time zone whose calendar the user's "today" follows.
    pub time_zone: String,
    pub theme: Theme,
    /// Whether the address was confirmed by a link mailed to it.
    pub email_verified: bool,
    /// Whether the account has premium (bought, or granted by the admin command).
    pub premium: bool,
}

/// The colours a user chose: their device's setting, or always light, or always dark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub const FIELD: &'static str = "theme";
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        match raw.trim() {
            "system" => Ok(Self::System),
            "light" => Ok(Self::Light),
            "dark" => Ok(Self::Dark),
            _ => Err(FieldError::new(Self::FIELD, "Choose system, light or dark.")),
        }
    }

    /// A stored value; anything unknown reads as `System`.
    pub fn from_db(raw: &str) -> Self {
        Self::parse(raw).unwrap_or_default()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::System => "Same as device",
            Self::Light => "Light",
            Self::Dark => "Dark",
        }
    }
}

/// One active login (refresh-token family) of the signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: i64,
    pub created_at: i64,
    pub last_used_at: i64,
    pub user_agent: String,
    /// True for the login this request came from.
    pub current: bool,
}

fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// A username: 3 to 32 letters, digits or `_`. Unique regardless of case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const FIELD: &'static str = "username";

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        let err = |m: &str| Err(FieldError::new(Self::FIELD, m));
        if char_len(s) < 3 {
            return err("A username needs at least 3 characters.");
        }
        if char_len(s) > 32 {
            return err("A username has at most 32 characters.");
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return err("Use only letters, digits and _ in a username.");
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form that uniqueness and lookups use.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// An email address: one `@`, something before it, a dotted domain after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub const FIELD: &'static str = "email";

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        let bad = || FieldError::new(Self::FIELD, "Enter an email address like name@example.com.");
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control() || super::text::is_format(c)) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        let domain_ok = !domain.contains('@')
            && domain.split('.').count() >= 2
            && domain.split('.').all(|label| !label.is_empty());
        if local.is_empty() || !domain_ok {
            return Err(bad());
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form that uniqueness and lookups use.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A person's display name: 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const FIELD: &'static str = "name";

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        let err = |m: &str| Err(FieldError::new(Self::FIELD, m));
        if s.is_empty() {
            return err("Enter your name.");
        }
        if char_len(s) > 100 {
            return err("A name has at most 100 characters.");
        }
        if let Some(problem) = super::text::name_problem(s) {
            return err(problem);
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 10 to 128 characters. Its strength is judged on the server only.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const FIELD: &'static str = "password";
    pub const MIN: usize = 10;
    pub const MAX: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        Self::parse_field(raw, Self::FIELD)
    }

    /// The same rules for a differently named field (e.g. `new_password`).
    pub fn parse_field(raw: &str, field: &'static str) -> Result<Self, FieldError> {
        let n = char_len(raw);
        if n < Self::MIN {
            return Err(FieldError::new(field, "A password needs at least 10 characters."));
        }
        if n > Self::MAX {
            return Err(FieldError::new(field, "A password has at most 128 characters."));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// What a person types to log in: a username or an email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginName {
    Username(Username),
    Email(Email),
}

impl LoginName {
    pub const FIELD: &'static str = "login";

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::new(Self::FIELD, "Enter your username or email."));
        }
        let relabel = |e: FieldError| FieldError::new(Self::FIELD, e.message);
        if s.contains('@') {
            Email::parse(s).map(LoginName::Email).map_err(relabel)
        } else {
            Username::parse(s).map(LoginName::Username).map_err(relabel)
        }
    }

    /// The key that throttling counts failures under.
    pub fn key(&self) -> String {
        match self {
            LoginName::Username(u) => u.key(),
            LoginName::Email(e) => e.key(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_accepts_letters_digits_and_underscore() {
        assert_eq!(Username::parse(" Ada_99 ").unwrap().as_str(), "Ada_99");
        assert_eq!(Username::parse("Ada_99").unwrap().key(), "ada_99");
    }

    #[test]
    fn username_refuses_short_long_and_odd_characters() {
        for bad in ["", "ab", &"a".repeat(33), "ada lovelace", "ada-l", "adä", "a@b"] {
            let e = Username::parse(bad).unwrap_err();
            assert_eq!(e.field, "username", "{bad:?}");
        }
        assert!(Username::parse(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn email_needs_local_part_and_dotted_domain() {
        assert_eq!(Email::parse(" Ada@Example.org ").unwrap().key(), "ada@example.org");
        for bad in ["", "ada", "@example.org", "ada@", "ada@example", "ada@ex..org", "a b@x.org", "a@b@c.org"] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn password_length_is_counted_in_characters() {
        assert!(Password::parse("ääääääääää").is_ok());
        assert!(Password::parse("123456789").is_err());
        assert!(Password::parse(&"x".repeat(128)).is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn password_debug_hides_the_secret() {
        let p = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn display_name_is_trimmed_and_bounded() {
        assert_eq!(DisplayName::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"n".repeat(101)).is_err());
        assert!(DisplayName::parse("a\u{7}b").is_err());
    }

    #[test]
    fn login_name_tells_email_from_username() {
        assert!(matches!(LoginName::parse("ada@example.org"), Ok(LoginName::Email(_))));
        assert!(matches!(LoginName::parse("ada_l"), Ok(LoginName::Username(_))));
        assert_eq!(LoginName::parse("x").unwrap_err().field, "login");
    }
}
