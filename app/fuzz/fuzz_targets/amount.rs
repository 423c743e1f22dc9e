//! Amounts: any text and currency gives minor units or a field error; an accepted amount is
//! positive, bounded, and reads back the same from its plain form.
#![no_main]
use app::models::money::{Amount, Currency};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u8, &str)| {
    let (pick, text) = input;
    let code = ["EUR", "USD", "JPY", "KWD", "GBP", "INR"][usize::from(pick) % 6];
    let Some(currency) = Currency::find(code) else { return };
    if let Ok(amount) = Amount::parse(text, currency.decimals) {
        assert!(amount.minor() > 0);
        assert!(amount.minor() <= 1_000_000_000 * 10i64.pow(currency.decimals));
        let plain = currency.plain(amount.minor());
        assert_eq!(Amount::parse(&plain, currency.decimals), Ok(amount), "{plain}");
        let _ = currency.format(amount.minor());
    }
});
