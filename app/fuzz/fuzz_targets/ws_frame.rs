//! The socket frame parser: any text gives a frame or an error code, never a panic; a frame
//! that parses survives a round trip unchanged.
#![no_main]
use app::models::ws::{ClientMsg, parse_client_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(msg) = parse_client_frame(text) {
        let again = serde_json::to_string(&msg).expect("a parsed frame serializes");
        let back: ClientMsg = serde_json::from_str(&again).expect("and parses back");
        assert_eq!(back, msg);
    }
});
