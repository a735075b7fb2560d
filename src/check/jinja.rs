//! Jinja2 templates (`template "x.j2" to "..."`), rendered with minijinja
//! so Ansible users keep their `.j2` files: filters (`default`, `join`,
//! `upper`, ...), loops and conditionals work. Undefined variables are
//! errors (never an empty string in a config file), named with the
//! template and the line.

use std::collections::BTreeSet;

use minijinja::{Environment, ErrorKind, UndefinedBehavior};

fn environment() -> Environment<'static> {
    let mut environment = Environment::new();
    environment.set_undefined_behavior(UndefinedBehavior::Strict);
    // As Ansible's `template` sets Jinja2 up: a block tag eats the newline
    // after it, and the file's last newline is kept.
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder().trim_blocks(true).keep_trailing_newline(true).build()
    {
        environment.set_syntax(syntax);
    }
    environment
}

/// The top-level variables `source` reads (for the check before a run).
pub fn variables(name: &str, source: &str) -> Result<BTreeSet<String>, String> {
    let environment = environment();
    let template = environment.template_from_named_str(name, source).map_err(|error| describe(name, &error))?;
    Ok(template.undeclared_variables(false).into_iter().collect())
}

/// Renders `source` (named `name` in messages) with `context`.
pub fn render(
    name: &str,
    source: &str,
    context: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, String> {
    let environment = environment();
    let template = environment.template_from_named_str(name, source).map_err(|error| describe(name, &error))?;
    template.render(minijinja::Value::from(minijinja::value::Serde(context))).map_err(|error| {
        if error.kind() == ErrorKind::UndefinedError {
            let missing: Vec<String> = template
                .undeclared_variables(false)
                .into_iter()
                .filter(|variable| !context.contains_key(variable))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if !missing.is_empty() {
                let line = error.line().map(|line| format!(" line {line}")).unwrap_or_default();
                let names: Vec<String> = missing.iter().map(|m| format!("`{m}`")).collect();
                return format!("template {name}{line}: undefined variable {}", names.join(", "));
            }
        }
        describe(name, &error)
    })
}

fn describe(name: &str, error: &minijinja::Error) -> String {
    let line = error.line().map(|line| format!(" line {line}")).unwrap_or_default();
    let what = match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    };
    format!("template {name}{line}: {what}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn ansible_templates_render() {
        let source = "server {{ host.name | upper }}:{{ http_port }};\n\
                      {% for u in upstreams %}up {{ u }}\n{% endfor %}\
                      {{ missing | default('none') }} {{ upstreams | join(',') }}\n\
                      {% if role == 'primary' %}primary{% else %}replica{% endif %}\n";
        let ctx =
            context(json!({"host": {"name": "web-1"}, "http_port": 8080, "upstreams": ["a", "b"], "role": "primary"}));
        assert_eq!(render("t.j2", source, &ctx).unwrap(), "server WEB-1:8080;\nup a\nup b\nnone a,b\nprimary");
    }

    #[test]
    fn a_missing_variable_names_template_line_and_variable() {
        let error = render("nginx.conf.j2", "a\nlisten {{ http_port }};\n", &context(json!({}))).unwrap_err();
        assert_eq!(error, "template nginx.conf.j2 line 2: undefined variable `http_port`");
        let error = render("x.j2", "{% if %}", &context(json!({}))).unwrap_err();
        assert!(error.starts_with("template x.j2 line 1: syntax error"), "{error}");
        let vars = variables("x.j2", "{{ a }} {% for i in b %}{{ i }}{% endfor %} {{ host.role }}").unwrap();
        assert_eq!(vars.into_iter().collect::<Vec<_>>(), ["a", "b", "host"]);
    }
}
