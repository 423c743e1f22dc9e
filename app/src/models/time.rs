//! Showing millisecond timestamps without a date library (the same output on server and browser).

/// `2026-11-21 22:05 UTC` for a millisecond Unix timestamp.
pub fn format_utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", rem / 3600, rem % 3600 / 60)
}

/// `2026-11-21` for a millisecond Unix timestamp.
pub fn format_date(ms: i64) -> String {
    let (y, m, d) = civil_from_days(ms.div_euclid(1000).div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A calendar day, as the user picked it. Stored and compared as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Day {
    pub const FIELD: &'static str = "spent_on";

    /// A real date in `YYYY-MM-DD` form, years 1900 to 9999.
    pub fn parse(raw: &str) -> Result<Self, super::FieldError> {
        let bad = || super::FieldError::new(Self::FIELD, "Enter a date like 2026-01-31.");
        let s = raw.trim();
        let parts: Vec<&str> = s.split('-').collect();
        let [y, m, d] = parts.as_slice() else { return Err(bad()) };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let (year, month, day) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
        if !(1900..=9999).contains(&year) || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(bad());
        }
        Ok(Self { year, month, day })
    }

    /// The UTC calendar day of a millisecond timestamp.
    pub fn from_ms(ms: i64) -> Self {
        let (y, m, d) = civil_from_days(ms.div_euclid(1000).div_euclid(86_400));
        Self { year: y as i32, month: m, day: d }
    }

    pub fn first_of_month(self) -> Self {
        Self { day: 1, ..self }
    }

    pub fn last_of_month(self) -> Self {
        Self { day: days_in_month(self.year, self.month), ..self }
    }

    /// The first day of the month `n` months later (earlier when negative).
    pub fn add_months(self, n: i32) -> Self {
        let index = self.year * 12 + self.month as i32 - 1 + n;
        Self { year: index.div_euclid(12), month: index.rem_euclid(12) as u32 + 1, day: 1 }
    }

    /// The first day of the month named `YYYY-MM` in field `month`; `today`'s month when empty.
    pub fn parse_month(raw: Option<&str>, today: Day) -> Result<Self, super::FieldError> {
        match raw.map(str::trim).filter(|m| !m.is_empty()) {
            None => Ok(today.first_of_month()),
            Some(m) => Day::parse(&format!("{m}-01"))
                .map_err(|_| super::FieldError::new("month", "Choose a month like 2026-03.")),
        }
    }

    /// `YYYY-MM`.
    pub fn month_key(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// "November 2026".
    pub fn month_label(self) -> String {
        format!("{} {}", MONTHS[(self.month as usize).clamp(1, 12) - 1], self.year)
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

pub const MONTHS: [&str; 12] =
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

pub fn is_leap_year(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if is_leap_year(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The periods the expense filters offer, relative to `today`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    ThisMonth,
    LastMonth,
    ThisYear,
}

impl Period {
    /// First and last day, both included.
    pub fn range(self, today: Day) -> (Day, Day) {
        match self {
            Period::ThisMonth => (today.first_of_month(), today.last_of_month()),
            Period::LastMonth => {
                let start = today.add_months(-1);
                (start, start.last_of_month())
            }
            Period::ThisYear => (Day { year: today.year, month: 1, day: 1 }, Day { year: today.year, month: 12, day: 31 }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    #[test]
    fn days_parse_only_when_they_exist() {
        assert_eq!(day("2024-02-29").to_string(), "2024-02-29");
        for bad in ["2023-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "26-01-01", "2026-1-01", "", "2026-01-01x"] {
            assert!(Day::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Day::parse("2000-02-29").is_ok());
    }

    #[test]
    fn month_arithmetic_crosses_years_and_knows_month_ends() {
        assert_eq!(day("2026-01-31").add_months(-1), day("2025-12-01"));
        assert_eq!(day("2025-12-15").add_months(1), day("2026-01-01"));
        assert_eq!(day("2024-02-10").last_of_month(), day("2024-02-29"));
        assert_eq!(day("2025-02-10").last_of_month(), day("2025-02-28"));
        assert_eq!(Period::LastMonth.range(day("2026-03-31")), (day("2026-02-01"), day("2026-02-28")));
        assert_eq!(Period::ThisMonth.range(day("2026-04-15")), (day("2026-04-01"), day("2026-04-30")));
        assert_eq!(Period::ThisYear.range(day("2026-04-15")), (day("2026-01-01"), day("2026-12-31")));
    }

    #[test]
    fn a_month_parameter_names_its_first_day() {
        let today = day("2026-11-21");
        assert_eq!(Day::parse_month(None, today), Ok(day("2026-11-01")));
        assert_eq!(Day::parse_month(Some(" "), today), Ok(day("2026-11-01")));
        assert_eq!(Day::parse_month(Some("2024-02"), today), Ok(day("2024-02-01")));
        assert_eq!(Day::parse_month(Some("2024-13"), today).unwrap_err().field, "month");
    }

    #[test]
    fn a_timestamp_falls_on_its_utc_day() {
        assert_eq!(Day::from_ms(1_795_298_700_000), day("2026-11-21"));
        assert_eq!(Day::from_ms(-1), day("1969-12-31"));
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(1_795_298_700_000), "2026-11-21 22:05 UTC");
        assert_eq!(format_date(951_782_400_000), "2000-02-29");
        assert_eq!(format_date(-86_400_000), "1969-12-31");
    }
}
