//! Stripe's v1 form encoding: `expand[]=a&expand[]=b`, `metadata[k]=v`, `items[0][price]=x`.
//!
//! serde_urlencoded only yields flat pairs, so the bracket syntax is folded into a JSON
//! tree here. Numeric indices stay object keys in the tree and are turned into arrays by
//! [`Params::list`], because whether `x[0]` is an array or a hash key depends on the
//! parameter (a `metadata[0]` key is legal).

use crate::errors::ApiError;
use serde_json::{Map, Value};

/// Deeper nesting than any Stripe parameter needs is refused rather than recursed into.
const MAX_DEPTH: usize = 8;

#[derive(Debug, PartialEq)]
enum Segment {
    Append,
    Key(String),
}

pub fn parse_pairs(bytes: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).map_err(|_| {
        ApiError::invalid(
            "Invalid request: the body must be form-encoded (application/x-www-form-urlencoded).",
        )
        .not_replayable()
    })
}

/// Splits `a[b][]` into `("a", [Key("b"), Append])`; `None` when the brackets do not nest.
fn split_key(key: &str) -> Option<(&str, Vec<Segment>)> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() || head.contains(']') {
        return None;
    }
    let mut segments = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        let name = &inner[..close];
        if name.contains('[') {
            return None;
        }
        segments.push(if name.is_empty() {
            Segment::Append
        } else {
            Segment::Key(name.to_string())
        });
        rest = &inner[close + 1..];
    }
    Some((head, segments))
}

fn shape_error(key: &str) -> ApiError {
    ApiError::invalid_param(
        key,
        format!("Invalid parameter: `{key}` mixes a value, a hash and an array."),
    )
}

fn insert(
    map: &mut Map<String, Value>,
    key: &str,
    rest: &[Segment],
    value: String,
    raw: &str,
) -> Result<(), ApiError> {
    match rest.split_first() {
        None => {
            // A repeated scalar keeps the last value (Rack's rule); a scalar over a hash
            // or array is a shape error.
            match map.get(key) {
                Some(Value::Object(_) | Value::Array(_)) => Err(shape_error(raw)),
                _ => {
                    map.insert(key.to_string(), Value::String(value));
                    Ok(())
                }
            }
        }
        Some((Segment::Key(next), tail)) => {
            let child = map
                .entry(key.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            match child {
                Value::Object(inner) => insert(inner, next, tail, value, raw),
                _ => Err(shape_error(raw)),
            }
        }
        Some((Segment::Append, tail)) => {
            let child = map
                .entry(key.to_string())
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(items) = child else {
                return Err(shape_error(raw));
            };
            match tail.split_first() {
                None => {
                    items.push(Value::String(value));
                    Ok(())
                }
                Some((Segment::Key(field), tail2)) => {
                    // `items[][a]=1&items[][b]=2` fills one element until a field repeats.
                    let reuse = matches!(items.last(), Some(Value::Object(last)) if !last.contains_key(field));
                    if !reuse {
                        items.push(Value::Object(Map::new()));
                    }
                    match items.last_mut() {
                        Some(Value::Object(last)) => insert(last, field, tail2, value, raw),
                        _ => Err(shape_error(raw)),
                    }
                }
                Some((Segment::Append, _)) => Err(shape_error(raw)),
            }
        }
    }
}

/// Folds form pairs into a JSON object of strings, hashes and arrays.
pub fn build(pairs: Vec<(String, String)>) -> Result<Map<String, Value>, ApiError> {
    let mut root = Map::new();
    for (key, value) in pairs {
        let Some((head, segments)) = split_key(&key) else {
            return Err(ApiError::invalid_param(
                &key,
                format!("Invalid parameter name: `{key}`."),
            ));
        };
        if segments.len() > MAX_DEPTH {
            return Err(ApiError::invalid_param(
                &key,
                format!("Invalid parameter: `{key}` is nested too deeply."),
            ));
        }
        insert(&mut root, head, &segments, value, &key)?;
    }
    Ok(root)
}

/// Request parameters (query string and form body merged) with Stripe's typed readers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub Map<String, Value>);

impl Params {
    pub fn parse(query: Option<&str>, body: &[u8]) -> Result<Self, ApiError> {
        let mut pairs = parse_pairs(query.unwrap_or("").as_bytes())?;
        pairs.extend(parse_pairs(body)?);
        Ok(Self(build(pairs)?))
    }

    /// Stripe refuses parameters an endpoint does not know, which catches typos in clients.
    pub fn allow(&self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(unknown) => Err(ApiError::unknown_param(unknown)),
            None => Ok(()),
        }
    }

    pub fn str(&self, key: &str) -> Result<Option<&str>, ApiError> {
        match self.0.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(ApiError::invalid_param(
                key,
                format!("Invalid string: `{key}` must be a string, not a hash or an array."),
            )),
        }
    }

    /// Empty strings count as absent, which is how Stripe treats `param=` for optional values.
    pub fn non_empty_str(&self, key: &str) -> Result<Option<&str>, ApiError> {
        Ok(self.str(key)?.filter(|s| !s.is_empty()))
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.non_empty_str(key)? {
            None => Ok(None),
            Some(raw) => raw.parse::<i64>().map(Some).map_err(|_| {
                ApiError::invalid_param(key, format!("Invalid integer: {raw}"))
                    .code("parameter_invalid_integer")
            }),
        }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.non_empty_str(key)? {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(raw) => Err(ApiError::invalid_param(
                key,
                format!("Invalid boolean: {raw}"),
            )),
        }
    }

    /// An array of strings, given as `k[]=a` or `k[0]=a`.
    pub fn list(&self, key: &str) -> Result<Vec<String>, ApiError> {
        let invalid = || {
            ApiError::invalid_param(
                key,
                format!("Invalid array: `{key}` must be an array of strings."),
            )
        };
        match self.0.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(invalid))
                .collect(),
            Some(Value::Object(indexed)) => {
                let mut items = indexed
                    .iter()
                    .map(|(k, v)| match (k.parse::<usize>(), v.as_str()) {
                        (Ok(i), Some(s)) => Ok((i, s.to_string())),
                        _ => Err(invalid()),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                items.sort_by_key(|(i, _)| *i);
                Ok(items.into_iter().map(|(_, s)| s).collect())
            }
            Some(_) => Err(invalid()),
        }
    }

    /// `metadata[k]=v` pairs. Stripe caps keys at 40 and values at 500 characters.
    pub fn metadata(&self, key: &str) -> Result<Map<String, Value>, ApiError> {
        match self.0.get(key) {
            None => Ok(Map::new()),
            Some(Value::String(s)) if s.is_empty() => Ok(Map::new()),
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    let Some(v) = v.as_str() else {
                        return Err(ApiError::invalid_param(
                            &format!("{key}[{k}]"),
                            "Invalid metadata: values must be strings.",
                        ));
                    };
                    if k.chars().count() > 40 || v.chars().count() > 500 {
                        return Err(ApiError::invalid_param(
                            &format!("{key}[{k}]"),
                            "Metadata keys can be at most 40 characters and values at most 500 characters.",
                        ));
                    }
                }
                Ok(map.clone())
            }
            Some(_) => Err(ApiError::invalid_param(
                key,
                "Invalid hash: metadata must be a hash of strings.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(input: &str) -> Result<Value, ApiError> {
        Params::parse(None, input.as_bytes()).map(|p| Value::Object(p.0))
    }

    #[test]
    fn brackets_become_arrays_and_hashes() {
        let v =
            parse("expand[]=a&expand[]=b.c&metadata[order]=42&metadata[note]=hi+there&amount=100")
                .unwrap_or_default();
        assert_eq!(
            v,
            json!({"expand": ["a", "b.c"], "metadata": {"order": "42", "note": "hi there"}, "amount": "100"})
        );
    }

    #[test]
    fn appended_hashes_split_on_repeated_field() {
        let v =
            parse("items[][price]=p1&items[][quantity]=1&items[][price]=p2").unwrap_or_default();
        assert_eq!(
            v,
            json!({"items": [{"price": "p1", "quantity": "1"}, {"price": "p2"}]})
        );
    }

    #[test]
    fn indexed_lists_are_read_in_index_order() {
        let p =
            Params::parse(Some("expand[10]=k&expand[2]=b&expand[0]=a"), b"").unwrap_or_default();
        assert_eq!(p.list("expand").unwrap_or_default(), vec!["a", "b", "k"]);
    }

    #[test]
    fn query_and_body_merge() {
        let p = Params::parse(Some("expand[]=x"), b"amount=5").unwrap_or_default();
        assert_eq!(p.int("amount").ok().flatten(), Some(5));
        assert_eq!(p.list("expand").unwrap_or_default(), vec!["x"]);
    }

    #[test]
    fn malformed_keys_are_errors_not_panics() {
        for bad in [
            "a[b=1",
            "[x]=1",
            "a]b=1",
            "a[b]c=1",
            "a[[b]]=1",
            "a[][]=1",
            "a=1&a[b]=2",
            "a[b]=1&a=2",
            "a[]=1&a[b]=2",
        ] {
            let err = parse(bad).err();
            assert!(err.is_some(), "{bad} should fail");
            assert_eq!(err.map(|e| e.status.as_u16()), Some(400));
        }
        let deep = format!("a{}=1", "[x]".repeat(20));
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn typed_readers_reject_wrong_shapes() {
        let p =
            Params::parse(None, b"amount=12x&reason[a]=b&metadata=x&flag=yes").unwrap_or_default();
        let err = p.int("amount").err().map(|e| (e.message, e.param));
        assert_eq!(
            err,
            Some(("Invalid integer: 12x".into(), Some("amount".into())))
        );
        assert!(p.str("reason").is_err());
        assert!(p.metadata("metadata").is_err());
        assert!(p.bool("flag").is_err());
        assert!(p.list("amount").is_err());
    }

    #[test]
    fn unknown_parameters_are_named() {
        let p = Params::parse(None, b"amount=1&amout=2").unwrap_or_default();
        let err = p.allow(&["amount"]).err();
        assert_eq!(
            err.as_ref().map(|e| e.message.as_str()),
            Some("Received unknown parameter: amout")
        );
        assert_eq!(err.and_then(|e| e.code), Some("parameter_unknown".into()));
    }

    #[test]
    fn invalid_utf8_and_percent_garbage_do_not_panic() {
        // Lossy decoding is fine; the point is that odd bytes yield a value or a 400.
        for input in [&b"a=%ff%fe"[..], &[0xff, 0x3d, 0x80][..], b"&&=&=="] {
            if let Err(err) = Params::parse(None, input) {
                assert_eq!(err.status.as_u16(), 400);
            }
        }
    }
}
