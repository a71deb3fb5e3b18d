//! Chat transcripts in every common shape, turned into (role, content) turns:
//! - OpenAI `messages`: `content` a string or a list of parts, `tool_calls`;
//! - Anthropic content blocks: `{"type": "text"}`, `tool_use`, `tool_result`;
//! - ShareGPT `conversations`: `{"from": …, "value": …}`;
//! - a transcript held in one string: `"\n\nHuman: …\n\nAssistant: …"`.
//!
//! JSON objects are rewritten to `{"role", "content"}` turns with string content before
//! polars reads them (polars cannot build one column from string and list contents); the
//! rest reads any list-of-struct column, or a transcript string, back into turns.

use polars::prelude::*;
use serde_json::{Map, Value};

/// A turn: (role, content).
pub type Turn = (String, String);

/// Speaker names that start a turn in a transcript held in one string.
const TRANSCRIPT_ROLES: &[&str] = &["Human", "Assistant", "User", "System"];

/// Values sampled to decide whether a string column holds transcripts.
const TRANSCRIPT_SAMPLE: usize = 200;

fn str_of(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

/// The text of one content part (a string or a typed block).
fn part_text(part: &Value) -> String {
    let Some(o) = part.as_object() else {
        return content_text(part);
    };
    let text = || str_of(o.get("text")).map(str::to_string);
    match str_of(o.get("type")) {
        Some("tool_use") => format!(
            "[tool_use {}: {}]",
            str_of(o.get("name")).unwrap_or("?"),
            o.get("input").map(Value::to_string).unwrap_or_default()
        ),
        Some("tool_result") => format!(
            "[tool_result: {}]",
            o.get("content").map(content_text).unwrap_or_default()
        ),
        Some("thinking") => str_of(o.get("thinking")).unwrap_or("").to_string(),
        Some(kind @ ("image" | "image_url" | "input_image" | "input_audio" | "file")) => {
            format!("[{kind}]")
        }
        Some(kind) => text().unwrap_or_else(|| format!("[{kind}]")),
        None => text().unwrap_or_else(|| part.to_string()),
    }
}

/// The text of a message's `content`: a string, a list of parts, or one part.
fn content_text(content: &Value) -> String {
    match content {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .map(part_text)
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Object(_) => part_text(content),
        other => other.to_string(),
    }
}

/// OpenAI `tool_calls` (and the older `function_call`) as `[tool call name(arguments)]`.
fn tool_calls_text(o: &Map<String, Value>) -> Vec<String> {
    let call = |c: &Value| {
        let f = c.get("function").unwrap_or(c);
        let args = match f.get("arguments") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        };
        format!(
            "[tool call {}({args})]",
            str_of(f.get("name")).unwrap_or("?")
        )
    };
    let mut out: Vec<String> = o
        .get("tool_calls")
        .and_then(Value::as_array)
        .map(|calls| calls.iter().map(call).collect())
        .unwrap_or_default();
    out.extend(o.get("function_call").map(call));
    out
}

/// One message object as a turn: role from `role` / `from`, content from `content` /
/// `value` / `text`, plus its tool calls.
pub(super) fn message_turn(message: &Value) -> Option<Turn> {
    let o = message.as_object()?;
    let role = str_of(o.get("role").or_else(|| o.get("from")))?.to_string();
    let content = o
        .get("content")
        .or_else(|| o.get("value"))
        .or_else(|| o.get("text"))
        .map(content_text)
        .unwrap_or_default();
    let pieces: Vec<String> = std::iter::once(content)
        .chain(tool_calls_text(o))
        .filter(|t| !t.is_empty())
        .collect();
    Some((role, pieces.join("\n")))
}

/// Whether `v` is a list of messages: objects each with a `role` or `from`.
fn is_message_list(v: &Value) -> bool {
    v.as_array().is_some_and(|items| {
        !items.is_empty()
            && items.iter().all(|m| {
                m.as_object().is_some_and(|o| {
                    o.get("role")
                        .or_else(|| o.get("from"))
                        .is_some_and(Value::is_string)
                })
            })
    })
}

/// Whether a message list already has the shape polars reads into one column: string role
/// and string (or missing) content, nothing to flatten.
fn is_plain(items: &[Value]) -> bool {
    items.iter().all(|m| {
        m.as_object().is_some_and(|o| {
            o.get("role").is_some_and(Value::is_string)
                && o.get("content")
                    .is_none_or(|c| c.is_string() || c.is_null())
                && !o.contains_key("tool_calls")
                && !o.contains_key("function_call")
        })
    })
}

/// Rewrite every message-list field of a JSON object to `[{"role", "content"}]` with string
/// content, unless it already is one. Returns whether anything changed.
pub(super) fn canonicalize(object: &mut Map<String, Value>) -> bool {
    let mut changed = false;
    for value in object.values_mut() {
        if !is_message_list(value) || is_plain(value.as_array().map_or(&[], |a| a)) {
            continue;
        }
        let turns: Vec<Value> = value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(message_turn)
            .map(|(role, content)| serde_json::json!({"role": role, "content": content}))
            .collect();
        *value = Value::Array(turns);
        changed = true;
    }
    changed
}

/// Keys whose presence marks a line for [`may_need_rewrite`]; `"content"` only when its value
/// is a list or an object.
const REWRITE_KEYS: [&str; 4] = [
    "\"content\"",
    "\"tool_calls\"",
    "\"function_call\"",
    "\"from\"",
];

/// A cheap test on a JSON line's bytes (one pass): could it hold a chat shape polars cannot
/// read as is (list content, tool calls, ShareGPT)? Only such lines are parsed and rewritten.
pub(super) fn may_need_rewrite(line: &[u8]) -> bool {
    static KEYS: std::sync::LazyLock<aho_corasick::AhoCorasick> = std::sync::LazyLock::new(|| {
        // Invariant: four literal patterns always build.
        aho_corasick::AhoCorasick::new(REWRITE_KEYS).expect("literal patterns")
    });
    KEYS.find_iter(line).any(|m| {
        m.pattern().as_usize() != 0
            || line[m.end()..]
                .iter()
                .find(|b| !b.is_ascii_whitespace() && **b != b':')
                .is_some_and(|b| *b == b'[' || *b == b'{')
    })
}

/// Where a transcript string's turns start: (byte offset of the role, role, content start).
fn turn_starts(text: &str) -> Vec<(usize, &'static str, usize)> {
    let mut starts = Vec::new();
    for role in TRANSCRIPT_ROLES {
        let marker = format!("{role}:");
        for (i, _) in text.match_indices(&marker) {
            let at_turn_start = i == 0 || text[..i].ends_with("\n\n");
            if at_turn_start {
                starts.push((i, *role, i + marker.len()));
            }
        }
    }
    starts.sort_unstable();
    starts
}

/// The turns of a transcript held in one string, or `None` when it has no Human/User and
/// Assistant turns.
pub(super) fn parse_transcript(text: &str) -> Option<Vec<Turn>> {
    let starts = turn_starts(text);
    let has = |roles: &[&str]| starts.iter().any(|(_, r, _)| roles.contains(r));
    if !has(&["Human", "User"]) || !has(&["Assistant"]) {
        return None;
    }
    let mut turns = Vec::with_capacity(starts.len() + 1);
    let lead = text[..starts[0].0].trim();
    if !lead.is_empty() {
        turns.push(("text".to_string(), lead.to_string()));
    }
    for (k, &(_, role, content_start)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(text.len(), |s| s.0);
        turns.push((
            role.to_string(),
            text[content_start..end].trim().to_string(),
        ));
    }
    Some(turns)
}

/// Whether a string column holds transcripts: nine in ten of its first non-empty values
/// parse as one.
pub(super) fn is_transcript_column(ca: &StringChunked) -> bool {
    let sample: Vec<&str> = ca
        .iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .take(TRANSCRIPT_SAMPLE)
        .collect();
    let parsed = sample
        .iter()
        .filter(|s| parse_transcript(s).is_some())
        .count();
    !sample.is_empty() && parsed * 10 >= sample.len() * 9
}

/// Whether a column's type is a list of messages (structs with a role and a content).
pub(super) fn is_chat_dtype(dtype: &DataType) -> bool {
    let DataType::List(inner) = dtype else {
        return false;
    };
    let DataType::Struct(fields) = inner.as_ref() else {
        return false;
    };
    let has = |names: &[&str]| fields.iter().any(|f| names.contains(&f.name().as_str()));
    has(&["role", "from"]) && has(&["content", "value", "text"])
}

/// The values of a series as JSON (structs as objects, lists as arrays), for turning a
/// list-of-struct row of any shape into turns.
fn series_to_json(s: &Series) -> Vec<Value> {
    let n = s.len();
    match s.dtype() {
        DataType::Struct(_) => {
            // Invariant: the dtype is Struct.
            let st = s.struct_().expect("struct");
            let fields: Vec<(String, Vec<Value>)> = st
                .fields_as_series()
                .iter()
                .map(|f| (f.name().to_string(), series_to_json(f)))
                .collect();
            let nulls = s.is_null();
            (0..n)
                .map(|i| {
                    if nulls.get(i) == Some(true) {
                        return Value::Null;
                    }
                    Value::Object(
                        fields
                            .iter()
                            .map(|(k, v)| (k.clone(), v[i].clone()))
                            .collect(),
                    )
                })
                .collect()
        }
        DataType::List(_) => {
            let list = s.list().expect("list");
            (0..n)
                .map(|i| {
                    list.get_as_series(i)
                        .map_or(Value::Null, |row| Value::Array(series_to_json(&row)))
                })
                .collect()
        }
        DataType::Boolean => s
            .bool()
            .expect("bool")
            .iter()
            .map(|v| v.map_or(Value::Null, Value::Bool))
            .collect(),
        d if d.is_primitive_numeric() => match s.cast(&DataType::Float64) {
            Ok(f) => f
                .f64()
                .expect("cast to f64")
                .iter()
                .map(|v| {
                    v.and_then(serde_json::Number::from_f64)
                        .map_or(Value::Null, Value::Number)
                })
                .collect(),
            Err(_) => vec![Value::Null; n],
        },
        _ => match s.cast(&DataType::String) {
            Ok(t) => t
                .str()
                .expect("cast to string")
                .iter()
                .map(|v| v.map_or(Value::Null, |v| Value::String(v.to_string())))
                .collect(),
            Err(_) => vec![Value::Null; n],
        },
    }
}

/// The turns of row `row` of a chat column (a list of messages, or transcript strings).
pub(super) fn turns_at(series: &Series, row: usize) -> Option<Vec<Turn>> {
    match series.dtype() {
        DataType::String => parse_transcript(series.str().ok()?.get(row)?),
        _ => {
            let messages = series.list().ok()?.get_as_series(row)?;
            Some(
                series_to_json(&messages)
                    .iter()
                    .filter_map(message_turn)
                    .collect(),
            )
        }
    }
}

/// `role: content` lines, the text embedded for a chat.
pub(super) fn flatten(turns: &[Turn]) -> String {
    turns
        .iter()
        .map(|(role, content)| format!("{role}: {content}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every row of a chat column flattened to text (a transcript string that does not parse
/// is kept as it is; a row without turns is empty).
pub(super) fn flatten_column(series: &Series) -> Vec<String> {
    let strings = series.str().ok();
    (0..series.len())
        .map(|i| match turns_at(series, i) {
            Some(turns) => flatten(&turns),
            None => strings
                .and_then(|s| s.get(i))
                .unwrap_or_default()
                .to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rewrite(v: Value) -> Value {
        let mut o = v.as_object().unwrap().clone();
        canonicalize(&mut o);
        Value::Object(o)
    }

    #[test]
    fn openai_parts_and_tool_calls() {
        let v = rewrite(json!({"messages": [
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "18C"},
            {"role": "assistant", "content": "It is 18C."}
        ]}));
        assert_eq!(
            v["messages"][0],
            json!({"role": "user", "content": "Weather in Paris?"})
        );
        assert_eq!(
            v["messages"][1]["content"],
            "[tool call get_weather({\"city\":\"Paris\"})]"
        );
        assert_eq!(v["messages"][3]["content"], "It is 18C.");
    }

    #[test]
    fn anthropic_blocks_and_sharegpt() {
        let v = rewrite(json!({"messages": [
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "t1", "name": "search", "input": {"q": "rust"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                "content": [{"type": "text", "text": "found"}]}]}
        ]}));
        assert_eq!(
            v["messages"][0]["content"],
            "Let me look.\n[tool_use search: {\"q\":\"rust\"}]"
        );
        assert_eq!(v["messages"][1]["content"], "[tool_result: found]");
        let v = rewrite(
            json!({"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}),
        );
        assert_eq!(
            v["conversations"][1],
            json!({"role": "gpt", "content": "hello"})
        );
        // Already plain: untouched (extra keys kept).
        let plain = json!({"messages": [{"role": "user", "content": "x", "name": "a"}]});
        assert_eq!(rewrite(plain.clone()), plain);
    }

    #[test]
    fn cheap_test_finds_the_shapes() {
        assert!(may_need_rewrite(
            br#"{"messages":[{"role":"user","content": [{"type":"text"}]}]}"#
        ));
        assert!(may_need_rewrite(br#"{"conversations":[{"from":"human"}]}"#));
        assert!(!may_need_rewrite(
            br#"{"messages":[{"role":"user","content":"[not a list]"}]}"#
        ));
    }

    #[test]
    fn transcripts_in_one_string() {
        let t = "\n\nHuman: What is 2+2?\n\nAssistant: 4.\n\nHuman: Sure?\n\nAssistant: Yes: 4.";
        let turns = parse_transcript(t).unwrap();
        assert_eq!(turns.len(), 4);
        assert_eq!(turns[0], ("Human".to_string(), "What is 2+2?".to_string()));
        assert_eq!(turns[3], ("Assistant".to_string(), "Yes: 4.".to_string()));
        assert_eq!(flatten(&turns[..2]), "Human: What is 2+2?\nAssistant: 4.");
        assert!(parse_transcript("Human: only one side").is_none());
        assert!(parse_transcript("A story where the Assistant: said hi").is_none());
    }
}
