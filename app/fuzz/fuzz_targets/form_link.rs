//! The kept-input and error parameters of a page's URL: any query parses; nothing a form post
//! carries survives `without_carried`; an `__err` value decodes to an error or to nothing.
#![no_main]
use app::models::form_link::{carried, carried_pairs, decode_error, value_of, without_carried};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|query: &str| {
    for (k, _) in carried_pairs(query) {
        assert!(carried(&k));
    }
    let rest = without_carried(query);
    assert!(carried_pairs(&rest).is_empty(), "{rest:?}");
    if let Some(err) = value_of(query, "__err") {
        if let Some(e) = decode_error(&err) {
            let _ = (e.form_message(), e.field_message("login"), e.status());
        }
    }
});
