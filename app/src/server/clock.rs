//! The user's calendar: which day it is for them, in their time zone.

use crate::models::FieldError;
use crate::models::time::Day;
use jiff::tz::TimeZone;

/// The calendar day at `ms` (Unix milliseconds) in time zone `zone`; UTC for an unknown zone.
pub fn day_in_zone(ms: i64, zone: &str) -> Day {
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(ts) => {
            let date = ts.to_zoned(tz).date();
            Day { year: i32::from(date.year()), month: date.month() as u32, day: date.day() as u32 }
        }
        Err(_) => Day::from_ms(ms),
    }
}

/// How far `zone` is from UTC now, in minutes (times of day are shown with it).
pub fn offset_minutes_now(zone: &str) -> i32 {
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    tz.to_offset(jiff::Timestamp::now()).seconds() / 60
}

/// Today for a user in `zone`.
pub fn today_in(zone: &str) -> Day {
    day_in_zone(super::now_ms(), zone)
}

/// A time zone name the tz database knows, in its canonical spelling.
pub fn parse_zone(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    let known = TimeZone::get(name).is_ok() && jiff::tz::db().available().any(|z| z.as_str() == name || name == "UTC");
    if known { Ok(name.to_string()) } else { Err(FieldError::new("time_zone", "Choose a time zone from the list.")) }
}

/// Every time zone name, sorted.
pub fn zones() -> Vec<String> {
    let mut all: Vec<String> = jiff::tz::db().available().map(|z| z.as_str().to_string()).collect();
    all.sort();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    const LATE_EVENING_UTC: i64 = 1_795_303_800_000; // 2026-11-21 23:30 UTC

    #[test]
    fn the_day_follows_the_users_time_zone() {
        assert_eq!(day_in_zone(LATE_EVENING_UTC, "UTC").to_string(), "2026-11-21");
        assert_eq!(day_in_zone(LATE_EVENING_UTC, "Europe/Berlin").to_string(), "2026-11-22");
        assert_eq!(day_in_zone(LATE_EVENING_UTC, "America/New_York").to_string(), "2026-11-21");
        assert_eq!(day_in_zone(LATE_EVENING_UTC, "Not/AZone").to_string(), "2026-11-21");
    }

    #[test]
    fn month_and_year_ends_move_with_the_zone() {
        let new_year_utc = 1_798_761_600_000; // 2027-01-01 00:00 UTC
        assert_eq!(day_in_zone(new_year_utc, "America/Los_Angeles").to_string(), "2026-12-31");
        assert_eq!(day_in_zone(new_year_utc, "Asia/Tokyo").to_string(), "2027-01-01");
    }

    #[test]
    fn only_known_zones_are_accepted() {
        assert_eq!(parse_zone(" Europe/Berlin ").as_deref(), Ok("Europe/Berlin"));
        assert!(parse_zone("Mars/Olympus_Mons").is_err());
        assert!(parse_zone("").is_err());
        assert!(zones().contains(&"Asia/Kolkata".to_string()));
    }
}
