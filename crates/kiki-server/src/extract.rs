//! Extractors that reject with our envelope instead of axum's plain text:
//! `Json<T>` (400 for malformed JSON naming line and column, 422 for a body
//! whose fields do not fit, naming the field path, 415 without a JSON content
//! type, 413 over the body limit), `Valid<Json<T>>` (garde validation → 422
//! listing each field), and `Query<T>` / `Path<T>` (400 naming the parameter).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use kiki_core::{ErrorCode, FieldError};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON body, rejected with the envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                let mime = ct
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "Send the body as JSON with `Content-Type: application/json`.",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                crate::error::envelope_for_status(rej.status())
            } else {
                ApiError::bad_request(format!("The body could not be read: {}", rej.body_text()))
            }
        })?;
        parse_json(&bytes).map(Json)
    }
}

/// Parses a request body with the failing field's path in the error. Every
/// request body of the API is a JSON object: a top-level array (which serde
/// would otherwise read into a struct field by field) is refused, and so is
/// anything after the object but whitespace.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    // `null` is read as such: an optional body takes it as "none", a struct
    // refuses it naming the body.
    if first.is_some() && first != Some(b'{') && first != Some(b'n') {
        // Report real syntax errors as such; a well-formed non-object is a 422.
        return match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Err(e) => Err(syntax_error(&e)),
            Ok(_) => Err(ApiError::validation(vec![FieldError::new(
                "body",
                "The body must be a JSON object.",
            )])),
        };
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(integral::Integral(&mut *de)) {
        Ok(v) => match de.end() {
            Ok(()) => Ok(v),
            Err(e) => Err(syntax_error(&e)),
        },
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            use serde_json::error::Category;
            match inner.classify() {
                Category::Syntax | Category::Eof | Category::Io => Err(syntax_error(&inner)),
                Category::Data => {
                    let field = if path == "." { "body".to_owned() } else { path };
                    Err(ApiError::validation(vec![FieldError::new(
                        field,
                        sentence(&strip_position(&inner.to_string())),
                    )]))
                }
            }
        }
    }
}

fn syntax_error(e: &serde_json::Error) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidJson,
        format!(
            "The body is not valid JSON: {} at line {} column {}.",
            strip_position(&e.to_string()),
            e.line(),
            e.column()
        ),
    )
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

fn sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => {
            let mut out = f.to_uppercase().collect::<String>() + c.as_str();
            if !out.ends_with('.') {
                out.push('.');
            }
            out
        }
        None => String::new(),
    }
}

/// A JSON body that must also pass its `garde` rules; each failure is listed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Valid<T>(pub T);

impl<T, S> FromRequest<S> for Valid<Json<T>>
where
    T: DeserializeOwned + garde::Validate,
    <T as garde::Validate>::Context: Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        validate(&value)?;
        Ok(Valid(Json(value)))
    }
}

/// Runs garde's rules, turning a report into a 422 listing every field.
pub fn validate<T: garde::Validate>(value: &T) -> Result<(), ApiError>
where
    T::Context: Default,
{
    value.validate().map_err(|report| {
        let fields = report
            .iter()
            .map(|(path, err)| {
                let p = path.to_string();
                FieldError::new(
                    if p.is_empty() { "body".into() } else { p },
                    sentence(err.message()),
                )
            })
            .collect();
        ApiError::validation(fields)
    })
}

/// Query string parameters, 400 naming the parameter on failure.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // A parameter given empty (`?format=`) is read as not given: forms
        // and link builders send empty fields, and no parameter of this API
        // means anything by an empty value.
        let query = parts.uri.query().unwrap_or("");
        let given: Vec<&str> = query
            .split('&')
            .filter(|pair| pair.split_once('=').is_some_and(|(_, v)| !v.is_empty()))
            .collect();
        serde_urlencoded::from_str::<T>(&given.join("&"))
            .map(Query)
            .map_err(|e| ApiError::bad_request(format!("The query string is invalid: {e}.")))
    }
}

/// Path parameters, 400 naming the parameter on failure (a malformed id is
/// a bad request, not a missing resource).
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|rej| {
                ApiError::bad_request(format!("A path parameter is invalid: {}.", rej.body_text()))
            })
    }
}

/// A body sent as `application/x-www-form-urlencoded` (what OAuth2 clients
/// send, RFC 6749 §4.3.2) or as JSON; rejected with the envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct FormOrJson<T>(pub T);

impl<T, S> FromRequest<S> for FormOrJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mime = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|ct| {
                ct.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        if mime != "application/x-www-form-urlencoded" {
            return Json::<T>::from_request(req, state)
                .await
                .map(|j| FormOrJson(j.0));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                crate::error::envelope_for_status(rej.status())
            } else {
                ApiError::bad_request(format!("The body could not be read: {}", rej.body_text()))
            }
        })?;
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(&bytes));
        serde_path_to_error::deserialize(de)
            .map(FormOrJson)
            .map_err(|e| {
                let field = e.path().to_string();
                let field = if field == "." { String::new() } else { field };
                let message = e.into_inner().to_string();
                // serde names a missing field in its message: "missing field `x`".
                let field = if field.is_empty() {
                    message
                        .split('`')
                        .nth(1)
                        .map(str::to_owned)
                        .unwrap_or_else(|| "body".into())
                } else {
                    field
                };
                ApiError::validation(vec![FieldError::new(field, message)])
            })
    }
}

fn form_urlencoded_parse(bytes: &[u8]) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(bytes)
}

/// JSON Schema's `integer` is any number without a fractional part: `3.0`
/// is an integer to a client that checks its body against the API document,
/// while serde reads `3.0` only into a float. [`Integral`] wraps a
/// deserializer and hands every integral float within the 64-bit range to the
/// visitor as an integer (a float field still reads it as a float), so the
/// body is read as the document says.
mod integral {
    use serde::de::{
        self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess,
        Visitor,
    };
    use std::fmt;

    /// A deserializer whose integral floats read as integers.
    pub struct Integral<D>(pub D);

    macro_rules! forward_deserialize {
        ($($method:ident),* $(,)?) => {$(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
                self.0.$method(Wrap(visitor))
            }
        )*};
    }

    impl<'de, D: Deserializer<'de>> Deserializer<'de> for Integral<D> {
        type Error = D::Error;

        forward_deserialize!(
            deserialize_any,
            deserialize_bool,
            deserialize_i8,
            deserialize_i16,
            deserialize_i32,
            deserialize_i64,
            deserialize_i128,
            deserialize_u8,
            deserialize_u16,
            deserialize_u32,
            deserialize_u64,
            deserialize_u128,
            deserialize_f32,
            deserialize_f64,
            deserialize_char,
            deserialize_str,
            deserialize_string,
            deserialize_bytes,
            deserialize_byte_buf,
            deserialize_option,
            deserialize_unit,
            deserialize_seq,
            deserialize_map,
            deserialize_identifier,
            deserialize_ignored_any,
        );

        fn deserialize_unit_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.deserialize_unit_struct(name, Wrap(visitor))
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.deserialize_newtype_struct(name, Wrap(visitor))
        }

        fn deserialize_tuple<V: Visitor<'de>>(
            self,
            len: usize,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.deserialize_tuple(len, Wrap(visitor))
        }

        fn deserialize_tuple_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            len: usize,
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.deserialize_tuple_struct(name, len, Wrap(visitor))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            name: &'static str,
            fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            // A struct is a JSON object: serde would also read one from an
            // array, field by field, which no client means.
            self.0
                .deserialize_struct(name, fields, Wrap(ObjectOnly(visitor)))
        }

        fn deserialize_enum<V: Visitor<'de>>(
            self,
            name: &'static str,
            variants: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.deserialize_enum(name, variants, Wrap(visitor))
        }

        fn is_human_readable(&self) -> bool {
            self.0.is_human_readable()
        }
    }

    /// A struct's visitor that takes a JSON object only; anything else is
    /// the "invalid type" error naming what was expected.
    struct ObjectOnly<V>(V);

    impl<'de, V: Visitor<'de>> Visitor<'de> for ObjectOnly<V> {
        type Value = V::Value;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.expecting(f)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            self.0.visit_map(map)
        }
    }

    /// A visitor that sees nested values through [`Integral`].
    struct Wrap<V>(V);

    macro_rules! forward_visit {
        ($($method:ident($ty:ty)),* $(,)?) => {$(
            fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
                self.0.$method(v)
            }
        )*};
    }

    impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
        type Value = V::Value;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.expecting(f)
        }

        forward_visit!(
            visit_bool(bool),
            visit_i8(i8),
            visit_i16(i16),
            visit_i32(i32),
            visit_i64(i64),
            visit_i128(i128),
            visit_u8(u8),
            visit_u16(u16),
            visit_u32(u32),
            visit_u64(u64),
            visit_u128(u128),
            visit_f32(f32),
            visit_char(char),
            visit_str(&str),
            visit_borrowed_str(&'de str),
            visit_string(String),
            visit_bytes(&[u8]),
            visit_borrowed_bytes(&'de [u8]),
            visit_byte_buf(Vec<u8>),
        );

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            // 2^64 and -2^63 are exact as floats.
            if v.is_finite() && v.fract() == 0.0 {
                if (0.0..18_446_744_073_709_551_616.0).contains(&v) {
                    return self.0.visit_u64(v as u64);
                }
                if (-9_223_372_036_854_775_808.0..0.0).contains(&v) {
                    return self.0.visit_i64(v as i64);
                }
            }
            self.0.visit_f64(v)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            self.0.visit_none()
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            self.0.visit_unit()
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            self.0.visit_some(Integral(d))
        }

        fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            self.0.visit_newtype_struct(Integral(d))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            self.0.visit_seq(Seq(seq))
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            self.0.visit_map(Map(map))
        }

        fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
            self.0.visit_enum(Enum(data))
        }
    }

    struct Seed<S>(S);

    impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Seed<S> {
        type Value = S::Value;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            self.0.deserialize(Integral(d))
        }
    }

    struct Seq<A>(A);

    impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Seq<A> {
        type Error = A::Error;

        fn next_element_seed<T: DeserializeSeed<'de>>(
            &mut self,
            seed: T,
        ) -> Result<Option<T::Value>, A::Error> {
            self.0.next_element_seed(Seed(seed))
        }

        fn size_hint(&self) -> Option<usize> {
            self.0.size_hint()
        }
    }

    struct Map<A>(A);

    impl<'de, A: MapAccess<'de>> MapAccess<'de> for Map<A> {
        type Error = A::Error;

        fn next_key_seed<K: DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, A::Error> {
            self.0.next_key_seed(Seed(seed))
        }

        fn next_value_seed<T: DeserializeSeed<'de>>(
            &mut self,
            seed: T,
        ) -> Result<T::Value, A::Error> {
            self.0.next_value_seed(Seed(seed))
        }

        fn size_hint(&self) -> Option<usize> {
            self.0.size_hint()
        }
    }

    struct Enum<A>(A);

    impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Enum<A> {
        type Error = A::Error;
        type Variant = Variant<A::Variant>;

        fn variant_seed<T: DeserializeSeed<'de>>(
            self,
            seed: T,
        ) -> Result<(T::Value, Self::Variant), A::Error> {
            let (v, variant) = self.0.variant_seed(Seed(seed))?;
            Ok((v, Variant(variant)))
        }
    }

    struct Variant<A>(A);

    impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Variant<A> {
        type Error = A::Error;

        fn unit_variant(self) -> Result<(), A::Error> {
            self.0.unit_variant()
        }

        fn newtype_variant_seed<T: DeserializeSeed<'de>>(
            self,
            seed: T,
        ) -> Result<T::Value, A::Error> {
            self.0.newtype_variant_seed(Seed(seed))
        }

        fn tuple_variant<V: Visitor<'de>>(
            self,
            len: usize,
            visitor: V,
        ) -> Result<V::Value, A::Error> {
            self.0.tuple_variant(len, Wrap(visitor))
        }

        fn struct_variant<V: Visitor<'de>>(
            self,
            fields: &'static [&'static str],
            visitor: V,
        ) -> Result<V::Value, A::Error> {
            self.0.struct_variant(fields, Wrap(visitor))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize)]
    struct AllOptional {
        #[serde(default)]
        threshold: Option<f64>,
    }

    fn code(bytes: &[u8]) -> &'static str {
        parse_json::<AllOptional>(bytes).unwrap_err().code.as_str()
    }

    #[test]
    fn an_object_body_parses() {
        let v = parse_json::<AllOptional>(b" {\"threshold\": 0.9} \n").unwrap();
        assert_eq!(v.threshold, Some(0.9));
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)] // read by serde only
    struct Outer {
        #[serde(default)]
        inner: Option<AllOptional>,
    }

    #[test]
    fn a_nested_struct_is_read_from_an_object_only() {
        let v = parse_json::<Outer>(b"{\"inner\": {\"threshold\": 1}}").unwrap();
        assert_eq!(v.inner.unwrap().threshold, Some(1.0));
        let e = parse_json::<Outer>(b"{\"inner\": [null]}").unwrap_err();
        assert_eq!(e.code.as_str(), "validation_failed");
        let text = format!("{e:?}");
        assert!(text.contains("inner"), "{text}");
        assert!(
            parse_json::<Outer>(b"{\"inner\": null}")
                .unwrap()
                .inner
                .is_none()
        );
    }

    #[derive(Debug, serde::Deserialize)]
    struct Counts {
        days: u32,
        offset: i16,
        rate: f64,
        nested: Vec<Option<u64>>,
        raw: serde_json::Value,
    }

    #[test]
    fn an_integral_float_reads_as_an_integer_anywhere_in_the_body() {
        let v = parse_json::<Counts>(
            br#"{"days": 23.0, "offset": -840.0, "rate": 2.0, "nested": [1.0, null, 1e3], "raw": 4.0}"#,
        )
        .unwrap();
        assert_eq!((v.days, v.offset, v.rate), (23, -840, 2.0));
        assert_eq!(v.nested, vec![Some(1), None, Some(1000)]);
        assert_eq!(v.raw, serde_json::json!(4));
        let e = parse_json::<Counts>(
            br#"{"days": 23.5, "offset": 0, "rate": 1, "nested": [], "raw": 0}"#,
        )
        .unwrap_err();
        assert_eq!(e.code.as_str(), "validation_failed");
        assert!(
            format!("{:?}", e.details).contains("days"),
            "{:?}",
            e.details
        );
    }

    #[test]
    fn trailing_garbage_after_the_body_is_a_syntax_error() {
        assert_eq!(code(b"{} garbage"), "invalid_json");
        assert_eq!(code(b"[] garbage"), "invalid_json");
        assert_eq!(code(b"{\"threshold\": 1} {}"), "invalid_json");
    }

    #[test]
    fn a_well_formed_body_that_is_not_an_object_is_refused() {
        // serde would read `[]` into a struct whose fields all default.
        assert_eq!(code(b"[]"), "validation_failed");
        assert_eq!(code(b"null"), "validation_failed");
        assert_eq!(code(b"nul"), "invalid_json");
        assert!(
            parse_json::<Option<AllOptional>>(b"null")
                .unwrap()
                .is_none()
        );
        assert_eq!(code(b"42"), "validation_failed");
        assert_eq!(code(b""), "invalid_json");
    }
}
