//! Finding the JSON object in a model's answer. Models asked for JSON often
//! wrap it in a ```` ```json ```` fence or put a sentence before or after it;
//! the object itself is what the product wants, so it is cut out here rather
//! than the whole answer being refused. An answer with no object, with an
//! object cut off, or with several candidates is refused with a sentence the
//! repair round sends back to the model.

/// The one top-level JSON object in `content`, as a slice of it.
///
/// When a ```` ```json ```` fence (or a bare ```` ``` ```` fence) holds a
/// `{`, only the fence is searched; otherwise the whole answer. Inside the searched
/// text every balanced `{…}` span (quotes and escapes respected) that is valid
/// JSON counts; exactly one must be. When none is valid, the error is the
/// JSON syntax error of the first candidate, so the model learns what to fix.
pub fn extract_json_object(content: &str) -> Result<&str, String> {
    // A fence with no object in it (a stray or misplaced one) says nothing.
    let searched = fenced(content)
        .filter(|body| body.contains('{'))
        .unwrap_or(content);
    let spans = brace_spans(searched);
    let mut valid = Vec::new();
    let mut first_error = None;
    for span in &spans {
        let problem = match span {
            Span::Closed(text) => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(_) => {
                    valid.push(*text);
                    continue;
                }
                Err(e) => format!("The JSON is not valid: {e}."),
            },
            Span::Open => "The JSON object is not closed; the answer looks cut off.".to_owned(),
        };
        if first_error.is_none() {
            first_error = Some(problem);
        }
    }
    match valid.as_slice() {
        [one] => Ok(*one),
        [] => Err(first_error.unwrap_or_else(|| "The answer contains no JSON object.".to_owned())),
        many => Err(format!(
            "The answer contains {} JSON objects; it must contain exactly one.",
            many.len()
        )),
    }
}

/// The body of the first ```` ``` ```` fence: `json` fences first, then any.
fn fenced(content: &str) -> Option<&str> {
    // ASCII lower-casing keeps every byte offset.
    let lower = content.to_ascii_lowercase();
    if let Some(open) = lower.find("```json") {
        return fence_body(content, open + "```json".len());
    }
    let open = content.find("```")?;
    fence_body(content, open + "```".len())
}

/// What lies between the end of the opening fence's line (after `from`)
/// and the closing fence.
fn fence_body(content: &str, from: usize) -> Option<&str> {
    let after = &content[from..];
    // The rest of the opening line is the language tag; the body starts below it.
    let start = after.find('\n').map_or(0, |i| i + 1);
    let rest = &after[start..];
    let end = rest.find("```")?;
    Some(&rest[..end])
}

enum Span<'a> {
    /// A balanced `{…}` span.
    Closed(&'a str),
    /// A `{` whose `}` never comes.
    Open,
}

/// Every top-level balanced `{…}` span of `text`. Quotes only count inside a
/// span, so an apostrophe or a quoted word in the prose around the object
/// does not hide it.
fn brace_spans(text: &str) -> Vec<Span<'_>> {
    let mut spans = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (i, b) in text.bytes().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'{' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            b'}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    spans.push(Span::Closed(&text[start..=i]));
                }
            }
            b'"' if depth > 0 => in_string = true,
            _ => {}
        }
    }
    if depth > 0 {
        spans.push(Span::Open);
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(content: &str, want: Result<&str, &str>) {
        let got = extract_json_object(content);
        match (&got, want) {
            (Ok(got), Ok(want)) => assert_eq!(*got, want, "{content:?}"),
            (Err(got), Err(needle)) => assert!(got.contains(needle), "{content:?}: {got}"),
            _ => panic!("{content:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn the_object_is_found_bare_fenced_or_among_prose() {
        check(r#"{"a":1}"#, Ok(r#"{"a":1}"#));
        check("  \n{\"a\": 1}\n", Ok(r#"{"a": 1}"#));
        check(
            "```json\n{\"headline\": \"Fresh coffee\"}\n```",
            Ok(r#"{"headline": "Fresh coffee"}"#),
        );
        check(
            "Here you go:\n```JSON\n{\"a\": [1, 2]}\n```\nAnything else?",
            Ok(r#"{"a": [1, 2]}"#),
        );
        check("```\n{\"a\": 1}\n```", Ok(r#"{"a": 1}"#));
        check(
            r#"Sure! Here's the copy: {"a": {"b": "}"}} Hope it helps."#,
            Ok(r#"{"a": {"b": "}"}}"#),
        );
        // Braces and quotes in the prose are not the object.
        check(
            r#"The {placeholder} isn't JSON; this is: {"q": "say \"hi\" {now}"}"#,
            Ok(r#"{"q": "say \"hi\" {now}"}"#),
        );
        // An example object outside the fence does not compete with the fenced one.
        check(
            "Shape: {\"a\": 0}\n```json\n{\"a\": 1}\n```",
            Ok(r#"{"a": 1}"#),
        );
        check(
            "{\"emoji\": \"☕ ünïcode\"}",
            Ok("{\"emoji\": \"☕ ünïcode\"}"),
        );
        check("```{\"a\": 1}\n```", Ok(r#"{"a": 1}"#));
        check("``` \n{\"a\": 1}", Ok(r#"{"a": 1}"#));
    }

    #[test]
    fn an_answer_without_exactly_one_valid_object_is_refused_with_a_reason() {
        check("", Err("no JSON object"));
        check("I cannot help with that.", Err("no JSON object"));
        check("[1, 2, 3]", Err("no JSON object"));
        check("{\"a\": 1, \"b\": ", Err("not closed"));
        check("{'a': 1}", Err("not valid"));
        check("{\"a\": 1,}", Err("not valid"));
        check(r#"{"a": 1} and {"b": 2}"#, Err("2 JSON objects"));
        check("```json\n{\"a\": tru}\n```", Err("line 1 column"));
    }
}
