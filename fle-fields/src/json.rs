//! JSON selectors: JSON Pointers (RFC 6901: `/card/number`, `~1` for `/`, `~0` for `~`) whose
//! segments may also be `*`, any member of an object or any element of an array
//! (`/payments/*/iban`). A numeric segment names an array element or an object member of that
//! name.
//!
//! Selectors may not overlap (one picking a value inside another's): the inner one could not
//! be told apart from a value that was never encrypted.

use serde_json::Value;

use crate::Error;

/// Most selectors in one configuration.
const MAX_SELECTORS: usize = 64;
/// Most segments in one selector.
const MAX_DEPTH: usize = 32;

/// One segment of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// An object member of this name, or (when it is a canonical decimal index) an array
    /// element.
    Name(String),
    /// `*`: every member of an object, every element of an array.
    Any,
}

impl Segment {
    /// Whether two segments can pick the same member or element.
    fn meets(&self, other: &Segment) -> bool {
        match (self, other) {
            (Segment::Name(a), Segment::Name(b)) => a == b,
            _ => true,
        }
    }
}

/// The JSON selectors of a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonSelectors {
    selectors: Vec<Vec<Segment>>,
    text: Vec<String>,
}

impl JsonSelectors {
    /// Comma-separated selectors, e.g. `/card/number,/payments/*/iban`.
    ///
    /// # Errors
    /// [`Error::InvalidJson`] for an empty list, a selector that is not a pointer, a bad `~`
    /// escape, too many or too deep selectors, or two that overlap.
    pub fn parse(list: &str) -> Result<Self, Error> {
        Self::new(list.split(',').map(str::trim).filter(|s| !s.is_empty()))
    }

    /// The selectors one by one.
    ///
    /// # Errors
    /// As [`JsonSelectors::parse`].
    pub fn new<'s>(selectors: impl IntoIterator<Item = &'s str>) -> Result<Self, Error> {
        let mut out = Self {
            selectors: Vec::new(),
            text: Vec::new(),
        };
        for s in selectors {
            if out.selectors.len() >= MAX_SELECTORS {
                return Err(Error::InvalidJson("more than 64 selectors"));
            }
            let parsed = parse_selector(s)?;
            if out.selectors.iter().any(|other| overlap(other, &parsed)) {
                return Err(Error::InvalidJson(
                    "two selectors overlap (one picks a value inside the other's)",
                ));
            }
            out.selectors.push(parsed);
            out.text.push(s.to_owned());
        }
        if out.selectors.is_empty() {
            return Err(Error::InvalidJson("no selector"));
        }
        Ok(out)
    }

    /// The selectors as given.
    pub fn to_strings(&self) -> Vec<String> {
        self.text.clone()
    }

    /// The parsed selectors, for a caller that walks a document of its own (the edge walks the
    /// raw JSON text to keep every byte it does not encrypt).
    pub fn segments(&self) -> impl Iterator<Item = &[Segment]> {
        self.selectors.iter().map(Vec::as_slice)
    }

    /// Calls `f` on every value the selectors pick in `doc`, with its concrete path
    /// (`/payments/0/iban`): selector by selector, each in document order. A selected value
    /// that is absent is skipped.
    ///
    /// # Errors
    /// The first error `f` returns.
    pub fn for_each_pick<E>(
        &self,
        doc: &mut Value,
        mut f: impl FnMut(&str, &mut Value) -> Result<(), E>,
    ) -> Result<(), E> {
        for selector in &self.selectors {
            visit(doc, selector, &mut String::new(), &mut f)?;
        }
        Ok(())
    }
}

fn parse_selector(s: &str) -> Result<Vec<Segment>, Error> {
    let rest = s
        .strip_prefix('/')
        .ok_or(Error::InvalidJson("a selector starts with '/'"))?;
    let mut segments = Vec::new();
    for raw in rest.split('/') {
        if segments.len() >= MAX_DEPTH {
            return Err(Error::InvalidJson("a selector is deeper than 32 segments"));
        }
        if raw == "*" {
            segments.push(Segment::Any);
            continue;
        }
        let mut name = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c != '~' {
                name.push(c);
                continue;
            }
            match chars.next() {
                Some('0') => name.push('~'),
                Some('1') => name.push('/'),
                _ => return Err(Error::InvalidJson("'~' in a selector is '~0' or '~1'")),
            }
        }
        segments.push(Segment::Name(name));
    }
    Ok(segments)
}

/// Whether one selector can pick a value inside (or equal to) what the other picks.
fn overlap(a: &[Segment], b: &[Segment]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.meets(y))
}

/// The array index a name segment stands for: canonical decimal only (RFC 6901: no leading
/// zeros, no sign).
pub fn array_index(name: &str) -> Option<usize> {
    name.parse::<usize>()
        .ok()
        .filter(|_| name == "0" || !name.starts_with('0'))
}

/// RFC 6901 form of one concrete segment (`~` → `~0`, `/` → `~1`).
pub fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Calls `f` on every value `selector` picks in `doc`, with its concrete path, in document
/// order.
fn visit<E>(
    doc: &mut Value,
    selector: &[Segment],
    path: &mut String,
    f: &mut dyn FnMut(&str, &mut Value) -> Result<(), E>,
) -> Result<(), E> {
    let Some((first, rest)) = selector.split_first() else {
        return f(path, doc);
    };
    let len = path.len();
    let mut step = |path: &mut String, key: &str, child: &mut Value| {
        path.push('/');
        path.push_str(&escape(key));
        let r = visit(child, rest, path, f);
        path.truncate(len);
        r
    };
    match (doc, first) {
        (Value::Object(map), Segment::Name(name)) => {
            if let Some(child) = map.get_mut(name) {
                step(path, name, child)?;
            }
        }
        (Value::Object(map), Segment::Any) => {
            for (key, child) in map.iter_mut() {
                step(path, key, child)?;
            }
        }
        (Value::Array(items), Segment::Name(name)) => {
            if let Some(child) = array_index(name).and_then(|i| items.get_mut(i)) {
                step(path, name, child)?;
            }
        }
        (Value::Array(items), Segment::Any) => {
            for (i, child) in items.iter_mut().enumerate() {
                step(path, &i.to_string(), child)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse_and_refuse() {
        let s = JsonSelectors::parse("/card/number, /payments/*/iban,/a~1b/~0c").unwrap();
        assert_eq!(
            s.to_strings(),
            ["/card/number", "/payments/*/iban", "/a~1b/~0c"]
        );
        for bad in ["", "card", "/a/~2", "/a,/a/b", "/*/x,/a/x", "/a/*,/a/b/c"] {
            assert!(JsonSelectors::parse(bad).is_err(), "{bad:?}");
        }
        assert!(JsonSelectors::parse("/a/x,/a/y").is_ok());
        let deep = format!("/{}", vec!["a"; 33].join("/"));
        assert!(JsonSelectors::parse(&deep).is_err());
    }

    #[test]
    fn visits_every_pick_in_document_order() {
        let mut doc: Value = serde_json::json!({
            "payments": [{"iban": "A"}, {"iban": "B", "x": 1}, {"no": 0}],
            "card": {"number": "4111"},
            "a/b": {"~c": true},
            "list": [10, 11, 12]
        });
        let sel = JsonSelectors::parse("/payments/*/iban,/card/number,/a~1b/~0c,/list/1,/list/01")
            .unwrap();
        let mut seen = Vec::new();
        sel.for_each_pick(&mut doc, |p, v| {
            seen.push((p.to_owned(), v.clone()));
            Ok::<_, ()>(())
        })
        .unwrap();
        let paths: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/payments/0/iban",
                "/payments/1/iban",
                "/card/number",
                "/a~1b/~0c",
                "/list/1"
            ]
        );
    }
}
