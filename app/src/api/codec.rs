//! How server functions' answers travel: JSON, as with server_fn's own `Json`, read from text.
//!
//! server_fn's `JsonEncoding` reads an answer with `serde_json::from_slice`, while resources
//! restored during hydration and socket frames are read with `serde_json::from_str`. Every type
//! that arrives both ways was compiled into the browser bundle twice, once per reader (a
//! `ChatMessage` reader is 4 KB of wasm). Reading answers from text too leaves one reader per
//! type. The bytes on the wire are the same.

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::Serialize;
use serde::de::{DeserializeOwned, Error as _};

/// JSON in the body, decoded from UTF-8 text.
pub struct JsonText;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(|_| serde_json::Error::custom("the answer is not UTF-8"))?;
        serde_json::from_str(text)
    }
}

/// The answer encoding of every server function (`#[server(output = Json)]`).
pub type Json = Post<JsonText>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::AppError;

    #[test]
    fn answers_round_trip_and_bad_bytes_are_an_error() {
        let error = AppError::RateLimited { retry_after_secs: 7 };
        let bytes = <JsonText as Encodes<AppError>>::encode(&error).unwrap();
        assert_eq!(&bytes[..], br#"{"RateLimited":{"retry_after_secs":7}}"#);
        assert_eq!(<JsonText as Decodes<AppError>>::decode(bytes).unwrap(), error);
        assert!(<JsonText as Decodes<AppError>>::decode(Bytes::from_static(b"\"\xff\"")).is_err());
        assert!(<JsonText as Decodes<AppError>>::decode(Bytes::from_static(b"{")).is_err());
    }
}
