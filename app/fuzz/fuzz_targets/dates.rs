//! Days, months and periods: any text gives a day or an error; a day prints back the same,
//! month arithmetic stays on real days, and every period range is ordered.
#![no_main]
use app::models::time::{Day, Period, format_date, format_utc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, i32, i64)| {
    let (text, months, ms) = input;
    let today = Day::from_ms(ms.clamp(-2_208_988_800_000, 253_402_300_799_000));
    let _ = format_utc(ms);
    let _ = format_date(ms);
    if let Ok(day) = Day::parse(text) {
        assert_eq!(Day::parse(&day.to_string()), Ok(day));
        let moved = day.add_months(months.clamp(-1200, 1200));
        assert!(moved.day >= 1 && moved.day <= app::models::time::days_in_month(moved.year, moved.month));
        for period in [Period::ThisMonth, Period::LastMonth, Period::ThisYear] {
            let (from, to) = period.range(day);
            assert!(from <= to);
        }
    }
    if let Ok(first) = Day::parse_month(Some(text), today) {
        assert_eq!(first.day, 1);
    }
});
