//! Request-body parsing that answers malformed input with a 4xx in the right shape.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use serde_json::{Map, Value};

use crate::error::{Error, ErrorShape};

/// The largest request body mock-link reads (larger ones get 413).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

/// Decoded `application/x-www-form-urlencoded` pairs, in order.
#[derive(Debug, Default, Clone)]
pub struct Form {
    pub pairs: Vec<(String, String)>,
}

impl Form {
    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }

    /// The first non-empty value of `key`.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|value| !value.is_empty())
    }
}

/// Parses a form body; an empty body is an empty form.
pub fn parse_form(headers: &HeaderMap, body: &Bytes, shape: ErrorShape) -> Result<Form, Error> {
    if body.is_empty() {
        return Ok(Form::default());
    }
    let kind = content_type(headers);
    if kind != "application/x-www-form-urlencoded" {
        return Err(Error::in_shape(
            shape,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_content_type",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .map(|pairs| Form { pairs })
        .map_err(|error| {
            Error::in_shape(
                shape,
                StatusCode::BAD_REQUEST,
                "invalid_form_body",
                &format!("the form body could not be parsed: {error}"),
            )
        })
}

/// Parses a JSON object body; an empty body is an empty object.
pub fn parse_json_object(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, Error> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    let kind = content_type(headers);
    if kind != "application/json" && !kind.ends_with("+json") {
        return Err(Error::api(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_content_type",
            "the body must be application/json",
        ));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(Error::api(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "the body must be a JSON object",
        )),
        Err(error) => Err(Error::api(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid JSON: {error}"),
        )),
    }
}

/// Decoded query-string pairs (`include=card&include[]=x`).
pub fn parse_query(query: Option<&str>) -> Result<Form, Error> {
    let Some(query) = query.filter(|query| !query.is_empty()) else {
        return Ok(Form::default());
    };
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .map(|pairs| Form { pairs })
        .map_err(|error| {
            Error::api(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("the query string could not be parsed: {error}"),
            )
        })
}
