//! The only module that touches the YAML library.
//!
//! Reading keeps the source position of every node, so validation errors can say
//! `file:line:column`; writing is deterministic (keys sorted, as `serde_json::Value` keeps them)
//! and quotes every string a YAML 1.1 reader such as kubectl could mistake for another type.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

/// A 1-based line and column in a YAML source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One YAML document as JSON, with the position of every node keyed by its path.
#[derive(Clone, Debug)]
pub struct Document {
    /// The document's content.
    pub value: Value,
    /// Where each node starts, keyed by JSON-pointer-like path segments joined with `/`
    /// (the root is the empty string).
    pub positions: BTreeMap<String, Position>,
}

impl Document {
    /// The position of the node at `path` (segments as in [`Document::positions`]), or of its
    /// nearest ancestor that has one.
    pub fn position_of(&self, path: &[String]) -> Position {
        let mut segments = path.to_vec();
        loop {
            if let Some(p) = self.positions.get(&segments.join("/")) {
                return *p;
            }
            if segments.pop().is_none() {
                return Position::default();
            }
        }
    }
}

/// A YAML syntax error with its position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// Where the parser stopped.
    pub position: Position,
    /// What the parser said, on one line.
    pub message: String,
}

/// Parses a multi-document YAML stream. Empty documents are skipped.
pub fn parse_documents(text: &str) -> Result<Vec<Document>, SyntaxError> {
    let options = serde_saphyr::options! { with_snippet: false };
    let nodes: Vec<Spanned<Node>> = serde_saphyr::from_str_multiple_with_options(text, options)
        .map_err(|e| {
            let position = e
                .location()
                .map(|l| Position {
                    line: l.line(),
                    column: l.column(),
                })
                .unwrap_or_default();
            SyntaxError {
                position,
                message: first_line(&e.to_string()),
            }
        })?;
    Ok(nodes
        .into_iter()
        .filter(|n| !matches!(n.value, Node::Null))
        .map(|n| {
            let mut positions = BTreeMap::new();
            let value =
                n.value
                    .into_json(&mut Vec::new(), position_of(&n.referenced), &mut positions);
            Document { value, positions }
        })
        .collect())
}

fn first_line(message: &str) -> String {
    // The library's message may carry a location suffix and a snippet; we print our own.
    let line = message.lines().next().unwrap_or(message).trim();
    match line.find(" at line ") {
        Some(i) => line[..i].to_string(),
        None => line.to_string(),
    }
}

fn position_of(location: &serde_saphyr::Location) -> Position {
    Position {
        line: location.line(),
        column: location.column(),
    }
}

/// Serialises one value as a YAML document (no leading `---`).
pub fn to_string<T: serde::Serialize>(value: &T) -> Result<String, String> {
    serde_saphyr::to_string(value).map_err(|e| e.to_string())
}

/// A YAML node with positions of its children, as read by serde-saphyr.
enum Node {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
}

impl Node {
    fn into_json(
        self,
        path: &mut Vec<String>,
        here: Position,
        positions: &mut BTreeMap<String, Position>,
    ) -> Value {
        positions.insert(path.join("/"), here);
        match self {
            Node::Null => Value::Null,
            Node::Bool(b) => Value::Bool(b),
            Node::Number(n) => Value::Number(n),
            Node::String(s) => Value::String(s),
            Node::Seq(items) => Value::Array(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| {
                        path.push(i.to_string());
                        let v =
                            item.value
                                .into_json(path, position_of(&item.referenced), positions);
                        path.pop();
                        v
                    })
                    .collect(),
            ),
            Node::Map(entries) => {
                let mut map = serde_json::Map::new();
                for (key, value) in entries {
                    let key_text = key.value.key_text();
                    path.push(key_text.clone());
                    // Point errors about a field at its key, where a reader looks first.
                    let v = value
                        .value
                        .into_json(path, position_of(&key.referenced), positions);
                    path.pop();
                    map.insert(key_text, v);
                }
                Value::Object(map)
            }
        }
    }

    fn key_text(&self) -> String {
        match self {
            Node::Null => "null".to_string(),
            Node::Bool(b) => b.to_string(),
            Node::Number(n) => n.to_string(),
            Node::String(s) => s.clone(),
            Node::Seq(_) | Node::Map(_) => "<complex key>".to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::String(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        Ok(Node::String(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(serde_json::Number::from_f64(v)
            .map_or_else(|| Node::String(v.to_string()), Node::Number))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::String(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Node>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_point_at_keys_and_items() {
        let docs = parse_documents("a: 1\nb:\n  - x\n  - c: true\n---\n---\nz: null\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(
            docs[0].value,
            serde_json::json!({"a": 1, "b": ["x", {"c": true}]})
        );
        assert_eq!(docs[0].positions["b/1/c"], Position { line: 4, column: 5 });
        assert_eq!(docs[0].positions["a"], Position { line: 1, column: 1 });
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse_documents("a: 1\nb: [1, 2\n").unwrap_err();
        assert!(err.position.line >= 2, "{err:?}");
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        let out =
            to_string(&serde_json::json!({"a": "yes", "b": "1", "c": "on", "d": "null"})).unwrap();
        assert!(!out.contains(": yes"), "{out}");
        assert!(!out.contains(": on"), "{out}");
        assert!(!out.contains(": 1\n"), "{out}");
    }
}
