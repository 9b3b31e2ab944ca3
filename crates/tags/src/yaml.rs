//! YAML for tag files, built from saphyr-parser's events into small nodes that keep their
//! line.
//!
//! Scalars are kept as the source wrote them: an unquoted `0x098B…` address or a label such as
//! `2014` stays the text it is, where the YAML 1.2 core schema would have turned it into a
//! number. Nodes are built from the event stream one entry at a time ([`Events::node`]), so a
//! TagPack of any size is read in the memory of its largest tag, from a file read through a
//! buffer ([`Events::from_reader`]) rather than whole.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;
use std::rc::Rc;

use saphyr_parser::{BufferedInput, Event, Input, Parser, ScalarStyle, StrInput};

/// Deepest nesting of sequences and mappings a tag file may have. A TagPack needs three
/// levels (the pack, its tags, a tag's fields) and four with a `concepts` list; nodes are
/// built by recursion, once per level.
pub(crate) const MAX_DEPTH: usize = 32;

/// Most nodes one entry built at once (a tag, a header field, with aliases expanded) may
/// hold: a tag has a few dozen. Bounds what an alias bomb ("billion laughs") or a giant list
/// costs before it is refused.
pub(crate) const MAX_ENTRY_NODES: u64 = 100_000;

/// A syntax error, a nesting or size limit, or a file that is not UTF-8: the 1-based line and
/// what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct YamlError {
    /// Where.
    pub line: u64,
    /// What.
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// One node with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    line: u64,
    data: Data,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Data {
    Null,
    Text { text: String, plain: bool },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// Nodes in this one, itself included.
    fn size(&self) -> u64 {
        1 + match &self.data {
            Data::Null | Data::Text { .. } => 0,
            Data::Seq(items) => items.iter().map(Node::size).sum(),
            Data::Map(pairs) => pairs.iter().map(|(k, v)| k.size() + v.size()).sum(),
        }
    }
}

/// What a node holds.
pub(crate) enum View<'n> {
    /// `~`, `null` or nothing at all.
    Null,
    /// A scalar as written; `plain` when unquoted.
    Text { text: &'n str, plain: bool },
    /// A sequence.
    Seq(&'n [Node]),
    /// A mapping, in document order.
    Map(Vec<(&'n Node, &'n Node)>),
}

/// The 1-based line where `node` starts.
pub(crate) fn line(node: &Node) -> u64 {
    node.line
}

/// What `node` holds.
pub(crate) fn view(node: &Node) -> View<'_> {
    match &node.data {
        Data::Null => View::Null,
        Data::Text { text, plain } => View::Text { text, plain: *plain },
        Data::Seq(items) => View::Seq(items),
        Data::Map(pairs) => View::Map(pairs.iter().map(|(k, v)| (k, v)).collect()),
    }
}

/// The text of a scalar key, or `None` for a complex or null key.
pub(crate) fn key_text(node: &Node) -> Option<&str> {
    match view(node) {
        View::Text { text, .. } => Some(text),
        _ => None,
    }
}

/// Loads every document of `text` (a file read whole: a taxonomy, an actor pack).
///
/// A document is one entry here, and GraphSense's actor pack holds thousands of actors
/// (over 100,000 nodes), so the node budget is the text's length when that is larger: a
/// node takes at least a byte of text unless an alias repeats it, so a file without
/// aliases always fits, and an alias bomb is still refused at a cost linear in the file.
///
/// # Errors
/// As [`Events::node`].
pub(crate) fn load(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut events = Events::from_str(text);
    let mut docs = Vec::new();
    let budget = MAX_ENTRY_NODES.max(text.len() as u64);
    while let Some((event, line)) = events.next_event()? {
        match event {
            Event::StreamStart | Event::DocumentStart(_) | Event::DocumentEnd => {}
            Event::StreamEnd => break,
            event => docs.push(events.node_within(event, line, 0, budget)?),
        }
    }
    Ok(docs)
}

/// A `char` iterator over a reader's UTF-8 text, read in blocks. An I/O error or bytes that are
/// not UTF-8 end the iteration and are left in `failure`, which [`Events`] checks.
struct Utf8Chars<R> {
    reader: R,
    text: String,
    pos: usize,
    /// Bytes of a character cut by the end of the last block.
    carry: Vec<u8>,
    /// Newlines before `text`, for the error's line.
    lines_before: u64,
    failure: Rc<RefCell<Option<YamlError>>>,
    done: bool,
}

impl<R: Read> Utf8Chars<R> {
    const BLOCK: usize = 64 << 10;

    fn refill(&mut self) -> bool {
        self.lines_before += self.text.bytes().filter(|&b| b == b'\n').count() as u64;
        self.text.clear();
        self.pos = 0;
        let mut block = std::mem::take(&mut self.carry);
        let start = block.len();
        block.resize(start + Self::BLOCK, 0);
        let n = loop {
            match self.reader.read(&mut block[start..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(0, format!("reading the file: {e}")),
            }
        };
        block.truncate(start + n);
        if n == 0 {
            if !block.is_empty() {
                self.fail(0, "the file ends inside a UTF-8 character; convert it to UTF-8".into());
            }
            return false;
        }
        match std::str::from_utf8(&block) {
            Ok(text) => self.text.push_str(text),
            Err(e) => {
                let valid = e.valid_up_to();
                self.text.push_str(std::str::from_utf8(&block[..valid]).expect("valid prefix"));
                if e.error_len().is_some() {
                    let lines = self.text.bytes().filter(|&b| b == b'\n').count() as u64;
                    self.fail(lines, "the file is not UTF-8 text; convert it to UTF-8".into());
                    return !self.text.is_empty();
                }
                self.carry = block[valid..].to_vec();
            }
        }
        true
    }

    fn fail(&mut self, lines: u64, message: String) -> bool {
        let line = self.lines_before + lines + 1;
        self.failure.borrow_mut().get_or_insert(YamlError { line, message });
        self.done = true;
        false
    }
}

impl<R: Read> Iterator for Utf8Chars<R> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        loop {
            if let Some(c) = self.text[self.pos..].chars().next() {
                self.pos += c.len_utf8();
                return Some(c);
            }
            if self.done || !self.refill() {
                self.done = true;
                return None;
            }
        }
    }
}

/// saphyr-parser's events with their lines, and the nodes built from them.
pub(crate) struct Events<'i, T: Input> {
    parser: Parser<'i, T>,
    /// Anchored nodes, for their aliases, with their sizes.
    anchors: HashMap<usize, (Node, u64)>,
    /// What stopped the reader under the parser, if anything did.
    failure: Rc<RefCell<Option<YamlError>>>,
    /// The node budget of the entry being built, for its error.
    limit: u64,
}

impl<'i> Events<'i, StrInput<'i>> {
    /// Events of a text in memory.
    pub(crate) fn from_str(text: &'i str) -> Self {
        Events {
            parser: Parser::new_from_str(text),
            anchors: HashMap::new(),
            failure: Rc::default(),
            limit: MAX_ENTRY_NODES,
        }
    }
}

/// The parser's input from a reader.
pub(crate) type ReaderInput = BufferedInput<Box<dyn Iterator<Item = char>>>;

impl Events<'static, ReaderInput> {
    /// Events of a file read through a buffer, never whole.
    pub(crate) fn from_reader(reader: impl Read + 'static) -> Self {
        let failure = Rc::<RefCell<Option<YamlError>>>::default();
        let chars = Utf8Chars {
            reader,
            text: String::new(),
            pos: 0,
            carry: Vec::new(),
            lines_before: 0,
            failure: failure.clone(),
            done: false,
        };
        let chars: Box<dyn Iterator<Item = char>> = Box::new(chars);
        Events { parser: Parser::new_from_iter(chars), anchors: HashMap::new(), failure, limit: MAX_ENTRY_NODES }
    }
}

impl<'i, T: Input> Events<'i, T> {
    /// The next event and its 1-based line; `None` after the stream's end.
    ///
    /// # Errors
    /// A syntax error, or the reader's failure (bytes that are not UTF-8, an I/O error),
    /// which comes first: the parser saw only the text before it.
    pub(crate) fn next_event(&mut self) -> Result<Option<(Event<'i>, u64)>, YamlError> {
        let next = self.parser.next();
        if let Some(failure) = self.failure.borrow().clone() {
            return Err(failure);
        }
        match next {
            None => Ok(None),
            Some(Ok((event, span))) => Ok(Some((event, span.start.line() as u64))),
            Some(Err(e)) => Err(YamlError { line: e.marker().line() as u64, message: e.to_string() }),
        }
    }

    /// The next event, which must exist: the parser ends a stream with `StreamEnd`.
    fn expect_event(&mut self) -> Result<(Event<'i>, u64), YamlError> {
        self.next_event()?.ok_or_else(|| YamlError { line: 0, message: "the YAML ends inside a node".into() })
    }

    /// Builds the node that `event` (on `line`) starts, reading the events up to its end.
    ///
    /// # Errors
    /// Syntax errors; nesting deeper than [`MAX_DEPTH`]; more than [`MAX_ENTRY_NODES`]
    /// nodes; a key given twice in one mapping.
    /// `depth` is how deep in the document the node stands.
    pub(crate) fn node(&mut self, event: Event<'i>, line: u64, depth: usize) -> Result<Node, YamlError> {
        self.node_within(event, line, depth, MAX_ENTRY_NODES)
    }

    /// As [`Events::node`], with a budget of `budget` nodes instead of [`MAX_ENTRY_NODES`].
    pub(crate) fn node_within(
        &mut self,
        event: Event<'i>,
        line: u64,
        depth: usize,
        mut budget: u64,
    ) -> Result<Node, YamlError> {
        self.limit = budget;
        self.build(event, line, depth, &mut budget)
    }

    fn build(&mut self, event: Event<'i>, line: u64, depth: usize, budget: &mut u64) -> Result<Node, YamlError> {
        let limit = self.limit;
        let spend = |budget: &mut u64, n: u64| {
            *budget = budget.checked_sub(n).ok_or_else(|| YamlError {
                line,
                message: format!("an entry of more than {limit} nodes (aliases expanded); a tag has a few dozen"),
            })?;
            Ok::<(), YamlError>(())
        };
        let nested = |depth: usize| {
            if depth >= MAX_DEPTH {
                return Err(YamlError {
                    line,
                    message: format!("lists or mappings nested deeper than {MAX_DEPTH} levels; a TagPack needs 4"),
                });
            }
            Ok(())
        };
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                spend(budget, 1)?;
                let plain = style == ScalarStyle::Plain;
                let null = plain && tag.is_none() && matches!(text.as_ref(), "" | "~" | "null" | "Null" | "NULL");
                let data = if null { Data::Null } else { Data::Text { text: text.into_owned(), plain } };
                (Node { line, data }, anchor)
            }
            Event::SequenceStart(anchor, _) => {
                nested(depth)?;
                spend(budget, 1)?;
                let mut items = Vec::new();
                loop {
                    let (event, at) = self.expect_event()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.build(event, at, depth + 1, budget)?);
                }
                (Node { line, data: Data::Seq(items) }, anchor)
            }
            Event::MappingStart(anchor, _) => {
                nested(depth)?;
                spend(budget, 1)?;
                let mut pairs: Vec<(Node, Node)> = Vec::new();
                loop {
                    let (event, at) = self.expect_event()?;
                    if matches!(event, Event::MappingEnd) {
                        break;
                    }
                    let key = self.build(event, at, depth + 1, budget)?;
                    if let Some(name) = key_text(&key).filter(|k| pairs.iter().any(|(old, _)| key_text(old) == Some(k)))
                    {
                        return Err(YamlError { line: key.line, message: format!("key {name:?} is given twice") });
                    }
                    let (event, at) = self.expect_event()?;
                    let value = self.build(event, at, depth + 1, budget)?;
                    pairs.push((key, value));
                }
                (Node { line, data: Data::Map(pairs) }, anchor)
            }
            Event::Alias(anchor) => {
                let Some((node, size)) = self.anchors.get(&anchor) else {
                    return Err(YamlError { line, message: "an alias of an anchor not defined before it".into() });
                };
                spend(budget, *size)?;
                (Node { line, data: node.data.clone() }, 0)
            }
            other => return Err(YamlError { line, message: format!("unexpected YAML event {other:?}") }),
        };
        if anchor != 0 {
            let size = node.size();
            self.anchors.insert(anchor, (node.clone(), size));
        }
        Ok(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_scalars_as_written_with_lines() {
        let docs = load("a: 0x098B716B8Aaf21512996dC57EB0615e2383E2f96\nb: '2014'\nc:\nd: [x]\n").unwrap();
        let View::Map(entries) = view(&docs[0]) else { panic!("mapping expected") };
        let got: Vec<_> = entries.iter().map(|(k, v)| (key_text(k).unwrap(), line(v))).collect();
        assert_eq!(got, [("a", 1), ("b", 2), ("c", 3), ("d", 4)]);
        assert!(matches!(
            view(entries[0].1),
            View::Text { text: "0x098B716B8Aaf21512996dC57EB0615e2383E2f96", plain: true }
        ));
        assert!(matches!(view(entries[1].1), View::Text { text: "2014", plain: false }));
        assert!(matches!(view(entries[2].1), View::Null));
        assert!(matches!(view(entries[3].1), View::Seq(s) if s.len() == 1));
    }

    #[test]
    fn syntax_errors_carry_the_line() {
        let err = load("a: 1\nb: [unclosed\n").unwrap_err();
        assert!(err.line >= 2, "{err}");
        let err = load("a: 1\na: 2\n").unwrap_err();
        assert_eq!(err.line, 2, "duplicate keys are an error: {err}");
    }

    #[test]
    fn aliases_copy_their_anchor_and_count_against_the_entry() {
        let docs = load("a: &x [1, 2]\nb: *x\n").unwrap();
        let View::Map(entries) = view(&docs[0]) else { panic!("mapping expected") };
        assert!(matches!(view(entries[1].1), View::Seq(s) if s.len() == 2));
        // Nine levels of ten aliases each would be 10^9 nodes.
        let mut bomb = String::from("a: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let p = i - 1;
            bomb += &format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n");
        }
        let err = load(&bomb).unwrap_err();
        assert!(err.message.contains("more than 100000 nodes"), "{err}");
    }

    #[test]
    fn a_reader_is_decoded_across_blocks_and_bad_bytes_name_their_line() {
        // A three-byte character astride the 64 KiB block boundary.
        let mut text = "k: ".to_owned() + &"x".repeat(Utf8Chars::<&[u8]>::BLOCK - 4) + "€\n";
        text += "z: end\n";
        let mut events = Events::from_reader(std::io::Cursor::new(text.clone().into_bytes()));
        let mut scalars = Vec::new();
        while let Some((e, _)) = events.next_event().unwrap() {
            if let Event::Scalar(s, ..) = e {
                scalars.push(s.into_owned());
            }
        }
        assert_eq!(scalars[1], "x".repeat(Utf8Chars::<&[u8]>::BLOCK - 4) + "€");
        assert_eq!(scalars[3], "end");
        let mut bad = b"a: 1\nb: 2\nc: \xff\n".to_vec();
        bad.extend_from_slice(b"d: 4\n");
        let mut events = Events::from_reader(std::io::Cursor::new(bad));
        let err = loop {
            match events.next_event() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("bad bytes were read as text"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.line, 3, "{err}");
        assert!(err.message.contains("not UTF-8"), "{err}");
    }
}
