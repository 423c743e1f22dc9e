//! Enums written as one object whose first key names the variant, `{"type": "ack", ...fields}`,
//! read without buffering.
//!
//! serde's internally tagged enums (`#[serde(tag = "type")]`) accept the tag anywhere in the
//! object, so reading one first copies the whole object into serde's generic `Content` tree and
//! then reads the variant out of that copy. That costs a copy of every frame, and in the browser
//! the `Content` machinery plus a second decoder for every type inside the enum: about 90 KB of
//! the main wasm module (2026-11-29). For frames whose writer always puts the tag first (every
//! [`ServerMsg`](super::ws::ServerMsg) comes from our own server, written by the serializer
//! below), the fields are read straight from the JSON instead.
//!
//! Use with serde's `remote = "Self"`, which derives the externally tagged form as inherent
//! functions, and trait impls that wrap the (de)serializer in [`TagFirst`] (see
//! [`tag_first!`](crate::tag_first)).

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, VariantAccess, Visitor};
use serde::ser::{self, Impossible, Serialize, SerializeMap, SerializeStructVariant, Serializer};
use std::fmt;

/// A (de)serializer that writes and reads an enum's unit and struct variants as objects whose
/// first key is `tag`.
pub struct TagFirst<T> {
    tag: &'static str,
    inner: T,
}

impl<T> TagFirst<T> {
    pub fn new(tag: &'static str, inner: T) -> Self {
        Self { tag, inner }
    }
}

/// Implements `Serialize` and `Deserialize` for an enum that derives them with
/// `#[serde(remote = "Self")]`, as objects whose first key, `$tag`, names the variant.
#[macro_export]
macro_rules! tag_first {
    ($ty:ty, $tag:literal) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                <$ty>::serialize(self, $crate::models::tagged::TagFirst::new($tag, serializer))
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <$ty>::deserialize($crate::models::tagged::TagFirst::new($tag, deserializer))
            }
        }
    };
}

// ---- reading

impl<'de, D: Deserializer<'de>> Deserializer<'de> for TagFirst<D> {
    type Error = D::Error;

    fn deserialize_enum<V: Visitor<'de>>(self, _name: &'static str, _variants: &'static [&'static str], visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_map(TagThenFields { tag: self.tag, visitor })
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, D::Error> {
        Err(de::Error::custom("only an enum is read as a tagged object"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

struct TagThenFields<V> {
    tag: &'static str,
    visitor: V,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for TagThenFields<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an object whose first key is `{}`", self.tag)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V::Value, A::Error> {
        match map.next_key::<String>()? {
            Some(key) if key == self.tag => {}
            _ => return Err(de::Error::custom(format_args!("the first key must be `{}`", self.tag))),
        }
        let name: String = map.next_value()?;
        self.visitor.visit_enum(Variant { name, map })
    }
}

struct Variant<A> {
    name: String,
    map: A,
}

impl<'de, A: MapAccess<'de>> EnumAccess<'de> for Variant<A> {
    type Error = A::Error;
    type Variant = Fields<A>;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Fields<A>), A::Error> {
        let variant = seed.deserialize(self.name.into_deserializer())?;
        Ok((variant, Fields(self.map)))
    }
}

/// The keys after the tag: the variant's fields.
struct Fields<A>(A);

impl<'de, A: MapAccess<'de>> VariantAccess<'de> for Fields<A> {
    type Error = A::Error;

    fn unit_variant(mut self) -> Result<(), A::Error> {
        // Other keys are ignored, as unknown fields of a struct variant are.
        while self.0.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn struct_variant<V: Visitor<'de>>(self, _fields: &'static [&'static str], visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self.0)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _seed: T) -> Result<T::Value, A::Error> {
        Err(de::Error::custom("a newtype variant is not a tagged object"))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, _visitor: V) -> Result<V::Value, A::Error> {
        Err(de::Error::custom("a tuple variant is not a tagged object"))
    }
}

// ---- writing

/// The fields of a struct variant, written after its tag.
pub struct TaggedFields<M>(M);

impl<M: SerializeMap> SerializeStructVariant for TaggedFields<M> {
    type Ok = M::Ok;
    type Error = M::Error;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, value: &T) -> Result<(), M::Error> {
        self.0.serialize_entry(key, value)
    }

    fn end(self) -> Result<M::Ok, M::Error> {
        self.0.end()
    }
}

/// The serializer methods for what is not an enum variant: each refuses.
macro_rules! refuse {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<S::Ok, S::Error> {
            Err(ser::Error::custom("only an enum is written as a tagged object"))
        })*
    };
}

impl<S: Serializer> Serializer for TagFirst<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Impossible<S::Ok, S::Error>;
    type SerializeTuple = Impossible<S::Ok, S::Error>;
    type SerializeTupleStruct = Impossible<S::Ok, S::Error>;
    type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
    type SerializeMap = Impossible<S::Ok, S::Error>;
    type SerializeStruct = Impossible<S::Ok, S::Error>;
    type SerializeStructVariant = TaggedFields<S::SerializeMap>;

    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<S::Ok, S::Error> {
        let mut map = self.inner.serialize_map(Some(1))?;
        map.serialize_entry(self.tag, variant)?;
        map.end()
    }

    fn serialize_struct_variant(self, _name: &'static str, _index: u32, variant: &'static str, len: usize) -> Result<Self::SerializeStructVariant, S::Error> {
        let mut map = self.inner.serialize_map(Some(len + 1))?;
        map.serialize_entry(self.tag, variant)?;
        Ok(TaggedFields(map))
    }

    refuse! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32), serialize_i64(i64),
        serialize_u8(u8), serialize_u16(u16), serialize_u32(u32), serialize_u64(u64), serialize_f32(f32),
        serialize_f64(f64), serialize_char(char), serialize_str(&str), serialize_bytes(&[u8]),
        serialize_none(), serialize_unit(), serialize_unit_struct(&'static str),
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _value: &T) -> Result<S::Ok, S::Error> {
        Err(ser::Error::custom("only an enum is written as a tagged object"))
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, _name: &'static str, _value: &T) -> Result<S::Ok, S::Error> {
        Err(ser::Error::custom("only an enum is written as a tagged object"))
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(self, _name: &'static str, _index: u32, _variant: &'static str, _value: &T) -> Result<S::Ok, S::Error> {
        Err(ser::Error::custom("a newtype variant is not a tagged object"))
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, S::Error> {
        Err(ser::Error::custom("only an enum is written as a tagged object"))
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, S::Error> {
        Err(ser::Error::custom("only an enum is written as a tagged object"))
    }

    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeTupleStruct, S::Error> {
        Err(ser::Error::custom("only an enum is written as a tagged object"))
    }

    fn serialize_tuple_variant(self, _name: &'static str, _index: u32, _variant: &'static str, _len: usize) -> Result<Self::SerializeTupleVariant, S::Error> {
        Err(ser::Error::custom("a tuple variant is not a tagged object"))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        Err(ser::Error::custom("only an enum is written as a tagged object"))
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, S::Error> {
        Err(ser::Error::custom("only an enum is written as a tagged object"))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(remote = "Self", rename_all = "snake_case")]
    enum Frame {
        Hello { name: String, #[serde(default, skip_serializing_if = "Option::is_none")] note: Option<String> },
        Ping,
    }
    crate::tag_first!(Frame, "type");

    /// The same enum as serde writes and reads it with `tag = "type"`: the reference.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Reference {
        Hello { name: String, #[serde(default, skip_serializing_if = "Option::is_none")] note: Option<String> },
        Ping,
    }

    #[test]
    fn writes_exactly_what_serde_writes_for_an_internally_tagged_enum() {
        let cases = [
            (Frame::Hello { name: "Ada".into(), note: None }, Reference::Hello { name: "Ada".into(), note: None }),
            (Frame::Hello { name: "\"x\"".into(), note: Some("n".into()) }, Reference::Hello { name: "\"x\"".into(), note: Some("n".into()) }),
            (Frame::Ping, Reference::Ping),
        ];
        for (frame, reference) in cases {
            let json = serde_json::to_string(&frame).unwrap();
            assert_eq!(json, serde_json::to_string(&reference).unwrap());
            assert_eq!(serde_json::from_str::<Frame>(&json).unwrap(), frame, "{json}");
        }
    }

    #[test]
    fn reads_fields_in_any_order_after_the_tag_and_ignores_unknown_keys() {
        let read = |s: &str| serde_json::from_str::<Frame>(s);
        assert_eq!(read(r#"{"type":"hello","note":"n","extra":[1,{"a":2}],"name":"Ada"}"#).unwrap(), Frame::Hello { name: "Ada".into(), note: Some("n".into()) });
        assert_eq!(read(r#"{"type":"ping","extra":{"deep":[true]}}"#).unwrap(), Frame::Ping);
        assert_eq!(read(r#"{"type":"hello","name":"A\u0064a"}"#).unwrap(), Frame::Hello { name: "Ada".into(), note: None });
    }

    #[test]
    fn refuses_what_is_not_a_tag_first_object_of_a_known_variant() {
        let err = |s: &str| serde_json::from_str::<Frame>(s).unwrap_err().to_string();
        assert!(err(r#"{"name":"Ada","type":"hello"}"#).contains("the first key must be `type`"));
        assert!(err(r#"{}"#).contains("the first key must be `type`"));
        assert!(err(r#"{"type":"launch"}"#).starts_with("unknown variant `launch`"));
        assert!(err(r#"{"type":"hello"}"#).contains("missing field `name`"));
        assert!(err(r#"{"type":"hello","name":3}"#).contains("invalid type"));
        assert!(err(r#"{"type":7}"#).contains("invalid type"));
        assert!(err(r#"["hello"]"#).contains("invalid type"));
        assert!(err(r#"{"type":"ping""#).contains("EOF"));
    }
}
