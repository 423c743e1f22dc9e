//! Money: amounts as integer minor units, parsed and shown per currency. Never floating point.

use super::FieldError;

/// How a currency is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    pub code: &'static str,
    pub name: &'static str,
    symbol: &'static str,
    /// Digits after the decimal separator (JPY: 0).
    pub decimals: u32,
    group: &'static str,
    decimal: &'static str,
    symbol_first: bool,
    spaced: bool,
}

const fn c(
    code: &'static str,
    name: &'static str,
    symbol: &'static str,
    decimals: u32,
    group: &'static str,
    decimal: &'static str,
    symbol_first: bool,
    spaced: bool,
) -> Currency {
    Currency { code, name, symbol, decimals, group, decimal, symbol_first, spaced }
}

/// The currencies a user can choose, with their usual way of writing amounts.
pub const CURRENCIES: &[Currency] = &[
    c("AUD", "Australian dollar", "A$", 2, ",", ".", true, false),
    c("BRL", "Brazilian real", "R$", 2, ".", ",", true, true),
    c("CAD", "Canadian dollar", "CA$", 2, ",", ".", true, false),
    c("CHF", "Swiss franc", "CHF", 2, "’", ".", true, true),
    c("CNY", "Chinese yuan", "¥", 2, ",", ".", true, false),
    c("DKK", "Danish krone", "kr.", 2, ".", ",", false, true),
    c("EUR", "Euro", "€", 2, ".", ",", false, true),
    c("GBP", "Pound sterling", "£", 2, ",", ".", true, false),
    c("INR", "Indian rupee", "₹", 2, ",", ".", true, false),
    c("JPY", "Japanese yen", "¥", 0, ",", ".", true, false),
    c("KRW", "South Korean won", "₩", 0, ",", ".", true, false),
    c("MXN", "Mexican peso", "MX$", 2, ",", ".", true, false),
    c("NOK", "Norwegian krone", "kr", 2, " ", ",", false, true),
    c("PLN", "Polish złoty", "zł", 2, " ", ",", false, true),
    c("SEK", "Swedish krona", "kr", 2, " ", ",", false, true),
    c("USD", "US dollar", "$", 2, ",", ".", true, false),
];

impl Currency {
    /// The currency with this ISO 4217 code, if Huddle knows it.
    pub fn find(code: &str) -> Option<&'static Currency> {
        CURRENCIES.iter().find(|c| c.code.eq_ignore_ascii_case(code.trim()))
    }

    /// Parses a currency code field.
    pub fn parse(raw: &str) -> Result<&'static Currency, FieldError> {
        Self::find(raw).ok_or_else(|| FieldError::new("currency", "Choose one of the listed currencies."))
    }

    /// `1.234,50 €`, `$1,234.50`, `¥1,235`: an amount of minor units in this currency's style.
    pub fn format(&self, minor: i64) -> String {
        let sign = if minor < 0 { "-" } else { "" };
        let number = self.format_number(minor.unsigned_abs());
        let gap = if self.spaced { "\u{a0}" } else { "" };
        if self.symbol_first {
            format!("{sign}{}{gap}{number}", self.symbol)
        } else {
            format!("{sign}{number}{gap}{}", self.symbol)
        }
    }

    fn format_number(&self, minor: u64) -> String {
        let unit = 10u64.pow(self.decimals);
        let (whole, frac) = (minor / unit, minor % unit);
        let digits = whole.to_string();
        let mut grouped = String::new();
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push_str(self.group);
            }
            grouped.push(ch);
        }
        match self.decimals {
            0 => grouped,
            d => format!("{grouped}{}{frac:0width$}", self.decimal, width = d as usize),
        }
    }

    /// Minor units as a plain major-unit number for CSV and inputs: `1234.50`, `1235`.
    pub fn plain(&self, minor: i64) -> String {
        let unit = 10i64.pow(self.decimals);
        let sign = if minor < 0 { "-" } else { "" };
        let (whole, frac) = (minor.abs() / unit, minor.abs() % unit);
        match self.decimals {
            0 => format!("{sign}{whole}"),
            d => format!("{sign}{whole}.{frac:0width$}", width = d as usize),
        }
    }
}

/// An amount of minor units in the currency `code`; a plain `123 XYZ` for a code Huddle does not know.
pub fn money(code: &str, minor: i64) -> String {
    Currency::find(code).map(|c| c.format(minor)).unwrap_or_else(|| format!("{minor} {code}"))
}

/// A positive amount in minor units, at most 1,000,000,000.00 in major units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(i64);

impl Amount {
    pub const FIELD: &'static str = "amount";
    const MAX_MAJOR: i64 = 1_000_000_000;

    /// Parses `12.50`, `12,50` or `12` exactly into minor units of a currency with `decimals`
    /// digits after the separator.
    pub fn parse(raw: &str, decimals: u32) -> Result<Self, FieldError> {
        let err = |m: &str| Err(FieldError::new(Self::FIELD, m));
        let s = raw.trim();
        if s.is_empty() {
            return err("Enter an amount.");
        }
        if s.starts_with('-') {
            return err("An amount must be more than zero.");
        }
        let (whole, frac) = match s.find([',', '.']) {
            Some(i) => (&s[..i], &s[i + 1..]),
            None => (s, ""),
        };
        let digits = |p: &str| p.chars().all(|c| c.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) || (s.len() > whole.len() && frac.is_empty()) {
            return err("Enter a number like 12.50.");
        }
        if frac.len() as u32 > decimals {
            return match decimals {
                0 => err("This currency has no decimals."),
                _ => err("Use at most two decimals."),
            };
        }
        if whole.len() > 10 {
            return err("An amount can be at most 1,000,000,000.");
        }
        let unit = 10i64.pow(decimals);
        let whole: i64 = whole.parse().map_err(|_| FieldError::new(Self::FIELD, "Enter a number like 12.50."))?;
        let frac_value: i64 = format!("{frac:0<width$}", width = decimals as usize).parse().unwrap_or(0);
        let minor = whole * unit + frac_value;
        if minor == 0 {
            return err("An amount must be more than zero.");
        }
        if minor > Self::MAX_MAJOR * unit {
            return err("An amount can be at most 1,000,000,000.");
        }
        Ok(Self(minor))
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    /// An amount already in minor units (a part of a checked total): more than zero and at most
    /// the largest amount of a currency with `decimals` digits.
    pub fn from_minor(minor: i64, decimals: u32) -> Option<Self> {
        (minor > 0 && minor <= Self::MAX_MAJOR.saturating_mul(10i64.pow(decimals))).then_some(Self(minor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<i64, String> {
        Amount::parse(s, 2).map(Amount::minor).map_err(|e| e.message)
    }

    #[test]
    fn dot_comma_and_whole_amounts_parse_exactly() {
        assert_eq!(parse("12.50"), Ok(1250));
        assert_eq!(parse("12,50"), Ok(1250));
        assert_eq!(parse("12"), Ok(1200));
        assert_eq!(parse("0.1"), Ok(10));
        assert_eq!(parse(" 0.01 "), Ok(1));
        assert_eq!(parse("1000000000.00"), Ok(100_000_000_000));
        // 0.1 + 0.2 style float errors cannot happen: 19.99 is 1999 exactly.
        assert_eq!(parse("19.99"), Ok(1999));
    }

    #[test]
    fn zero_negative_extra_decimals_and_huge_amounts_are_refused() {
        for bad in ["0", "0.00", "-5", "12.345", "1000000000.01", "99999999999", "", "abc", "1.2.3", "12.", ".5", "1e3", "1 000"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn currencies_without_decimals_refuse_them() {
        assert_eq!(Amount::parse("1500", 0).map(Amount::minor), Ok(1500));
        assert!(Amount::parse("15.5", 0).is_err());
    }

    #[test]
    fn amounts_are_written_in_each_currency_style() {
        let f = |code: &str, minor| Currency::find(code).unwrap().format(minor);
        assert_eq!(f("USD", 123_450), "$1,234.50");
        assert_eq!(f("EUR", 123_450), "1.234,50\u{a0}€");
        assert_eq!(f("GBP", 5), "£0.05");
        assert_eq!(f("JPY", 1_234_567), "¥1,234,567");
        assert_eq!(f("CHF", 100_000_000), "CHF\u{a0}1’000’000.00");
        assert_eq!(f("SEK", 99_900), "999,00\u{a0}kr");
        assert_eq!(f("USD", -250), "-$2.50");
    }

    #[test]
    fn plain_amounts_are_major_units_with_a_dot() {
        assert_eq!(Currency::find("EUR").unwrap().plain(123_450), "1234.50");
        assert_eq!(Currency::find("JPY").unwrap().plain(1500), "1500");
        assert_eq!(Currency::find("usd").unwrap().code, "USD");
        assert!(Currency::parse("XYZ").is_err());
    }
}
