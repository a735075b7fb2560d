//! `json::parse(text)` and `json::stringify(value)`, and the conversions between JSON and Rhai values.

use super::at_call;
use rhai::{Array, Dynamic, EvalAltResult, FuncRegistration, ImmutableString, Map, Module, NativeCallContext};
use serde_json::Value;

/// Deepest nesting converted either way.
const MAX_DEPTH: usize = 128;

pub(crate) fn module() -> Module {
    let mut module = Module::new();
    FuncRegistration::new("parse").set_into_module(&mut module, parse);
    FuncRegistration::new("stringify").set_into_module(&mut module, stringify);
    module
}

/// `json::parse(text)`: the value of a JSON text (map, array, string, int, float, bool or `()` for null).
fn parse(ctx: NativeCallContext, text: ImmutableString) -> Result<Dynamic, Box<EvalAltResult>> {
    let value: Value = serde_json::from_str(&text).map_err(|e| at_call(&ctx, format!("json::parse: {e}")))?;
    json_to_dynamic(&value).map_err(|e| at_call(&ctx, format!("json::parse: {e}")))
}

/// `json::stringify(value)`: the compact JSON text of a value.
fn stringify(ctx: NativeCallContext, value: Dynamic) -> Result<String, Box<EvalAltResult>> {
    let json = dynamic_to_json(&value).map_err(|e| at_call(&ctx, format!("json::stringify: {e}")))?;
    Ok(json.to_string())
}

/// A JSON value as a Rhai value: objects → maps, arrays → arrays, integers → int (floats when
/// they do not fit), null → `()`.
pub fn json_to_dynamic(value: &Value) -> Result<Dynamic, String> {
    to_dynamic(value, 0)
}

fn to_dynamic(value: &Value, depth: usize) -> Result<Dynamic, String> {
    if depth > MAX_DEPTH {
        return Err(format!("nested deeper than {MAX_DEPTH} levels"));
    }
    Ok(match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Dynamic::from(s.clone()),
        Value::Array(items) => {
            Dynamic::from_array(items.iter().map(|item| to_dynamic(item, depth + 1)).collect::<Result<Array, _>>()?)
        }
        Value::Object(entries) => {
            let mut map = Map::new();
            for (key, item) in entries {
                map.insert(key.as_str().into(), to_dynamic(item, depth + 1)?);
            }
            Dynamic::from_map(map)
        }
    })
}

/// A Rhai value as JSON: `()` → null, maps → objects, arrays → arrays, chars → strings,
/// non-finite floats → null. Other types (functions, timestamps, custom types) are an error.
pub fn dynamic_to_json(value: &Dynamic) -> Result<Value, String> {
    to_json(value, 0)
}

fn to_json(value: &Dynamic, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("nested deeper than {MAX_DEPTH} levels"));
    }
    if value.is_shared() {
        return to_json(&value.flatten_clone(), depth);
    }
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Ok(Value::from(i));
    }
    if let Ok(f) = value.as_float() {
        return Ok(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number));
    }
    if let Ok(c) = value.as_char() {
        return Ok(Value::String(c.to_string()));
    }
    if let Ok(s) = value.as_immutable_string_ref() {
        return Ok(Value::String(s.to_string()));
    }
    if let Ok(items) = value.as_array_ref() {
        return items.iter().map(|item| to_json(item, depth + 1)).collect::<Result<Vec<_>, _>>().map(Value::Array);
    }
    if let Ok(map) = value.as_map_ref() {
        let mut object = serde_json::Map::new();
        for (key, item) in map.iter() {
            object.insert(key.to_string(), to_json(item, depth + 1)?);
        }
        return Ok(Value::Object(object));
    }
    Err(format!("cannot convert a {} to JSON", value.type_name()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::{compile, null_sink, Sandbox, ScriptLimits, ScriptOutcome, ScriptVariables};

    fn eval(source: &str) -> Result<Dynamic, ScriptOutcome> {
        let sb = Sandbox::new(ScriptLimits::default(), null_sink());
        sb.eval(&compile(source).expect("compiles"), &ScriptVariables::new())
    }

    fn text(source: &str) -> String {
        match eval(source) {
            Ok(v) => v.to_string(),
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn parse_values() {
        assert_eq!(text(r#"let v = json::parse(`{"a": [1, 2.5, "x", null, true]}`); v.a[0] + 1"#), "2");
        assert_eq!(text(r#"json::parse(`{"a": [1, 2.5]}`).a[1]"#), "2.5");
        assert_eq!(text(r#"json::parse(`{"a": null}`).a == ()"#), "true");
        assert_eq!(text(r#"json::parse("[1,2,3]").len()"#), "3");
        assert_eq!(text(r#"json::parse("\"s\"")"#), "s");
        assert_eq!(text(r#"type_of(json::parse("18446744073709551615"))"#), "f64");
    }

    #[test]
    fn parse_error_is_runtime_error() {
        match eval("let x = 1;\njson::parse(\"{nope\")") {
            Err(ScriptOutcome::Error(e)) => {
                assert!(e.message.starts_with("json::parse:"), "{}", e.message);
                assert_eq!(e.line, Some(2));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stringify_values() {
        assert_eq!(
            text(r#"json::stringify(#{b: [1, "x", (), true, 'c'], a: 1.5})"#),
            r#"{"a":1.5,"b":[1,"x",null,true,"c"]}"#
        );
        assert_eq!(text(r#"json::stringify("q\"")"#), r#""q\"""#);
        assert!(text("json::stringify(Fn(\"x\"))").starts_with("ERR"));
        // Round trip.
        assert_eq!(text(r#"json::stringify(json::parse(`{"k":[{"x":1}]}`))"#), r#"{"k":[{"x":1}]}"#);
    }

    #[test]
    fn too_deep_is_an_error() {
        let mut json = Value::from(1);
        let mut nested = Dynamic::from_int(1);
        for _ in 0..200 {
            json = Value::Array(vec![json]);
            nested = Dynamic::from_array(vec![nested]);
        }
        assert!(json_to_dynamic(&json).is_err());
        assert!(dynamic_to_json(&nested).is_err());
    }
}
