//! Contract: docs/CONFIG.md's field tables are generated from the configuration types (field
//! names and doc comments from `engine/src/config/sections.rs`, defaults from
//! `Config::default()`, allowed values and units from the validator's rules), so they cannot
//! drift: this test regenerates them and fails on any difference. Run it with
//! `NEUROFLUX_BLESS=1` to rewrite the generated part after changing the types.

use neuroflux::Config;
use std::collections::BTreeMap;
use std::path::Path;

const BEGIN: &str = "<!-- BEGIN GENERATED FIELDS (engine/tests/config_doc.rs) -->";
const END: &str = "<!-- END GENERATED FIELDS -->";

/// (field, type, doc comment).
type Field = (String, String, String);

/// Struct name -> (its doc, its fields) from Rust source.
fn structs(src: &str) -> BTreeMap<String, (String, Vec<Field>)> {
    let mut out = BTreeMap::new();
    let mut doc: Vec<String> = Vec::new();
    let mut current: Option<(String, String, Vec<Field>)> = None;
    for line in src.lines() {
        let t = line.trim();
        if let Some(d) = t.strip_prefix("///") {
            doc.push(d.trim().to_string());
            continue;
        }
        if t.starts_with("#[") {
            continue;
        }
        if let Some(rest) = t.strip_prefix("pub struct ") {
            let name = rest.split([' ', '{', '(']).next().unwrap_or("").to_string();
            if t.ends_with('{') {
                current = Some((name, doc.join(" "), Vec::new()));
            }
        } else if let Some((_, _, fields)) = current.as_mut() {
            if t == "}" {
                if let Some((name, d, f)) = current.take() {
                    out.insert(name, (d, f));
                }
            } else if let Some(rest) = t.strip_prefix("pub ") {
                if let Some((name, ty)) = rest.split_once(':') {
                    fields.push((name.trim().to_string(), ty.trim().trim_end_matches(',').to_string(), doc.join(" ")));
                }
            }
        }
        doc.clear();
    }
    out
}

/// A TOML value as written in a file, with the configuration's `f32` numbers in their
/// shortest form (0.05, not 0.05000000074505806).
fn render(v: &toml::Value) -> String {
    match v {
        toml::Value::Float(x) => {
            let s = format!("{}", *x as f32);
            if s.contains(['.', 'e', 'i', 'N']) {
                s
            } else {
                format!("{s}.0")
            }
        }
        toml::Value::Array(a) => format!("[{}]", a.iter().map(render).collect::<Vec<_>>().join(", ")),
        toml::Value::Table(t) => {
            format!("{{ {} }}", t.iter().map(|(k, v)| format!("{k} = {}", render(v))).collect::<Vec<_>>().join(", "))
        }
        other => other.to_string(),
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn generate(root: &Path) -> String {
    let read = |p: &str| std::fs::read_to_string(root.join(p)).expect("source file");
    let sections = structs(&read("engine/src/config/sections.rs"));
    let top = structs(&read("engine/src/config/mod.rs"));
    let (_, config_fields) = &top["Config"];
    let defaults = toml::Value::try_from(Config::default()).expect("defaults as TOML");
    let mut rules: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (field, allowed, unit) in Config::default().rules() {
        let text = if unit.is_empty() { allowed } else { format!("{allowed} ({unit})") };
        let list = rules.entry(field).or_default();
        if !list.contains(&text) {
            list.push(text);
        }
    }
    let rules_of = |name: &str| -> String {
        let mut parts: Vec<String> = Vec::new();
        for (f, list) in &rules {
            if f == name || f.starts_with(&format!("{name}[")) || f.starts_with(&format!("{name}.")) {
                // `[0].p`, `[1].p`, ... are one rule: `[i].p`.
                let sub: String = f[name.len()..]
                    .split('[')
                    .map(|p| p.trim_start_matches(|c: char| c.is_ascii_digit()))
                    .collect::<Vec<_>>()
                    .join("[i");
                let prefix = if f == name { String::new() } else { format!("`{sub}`: ") };
                for r in list {
                    let text = format!("{prefix}{r}");
                    if !parts.contains(&text) {
                        parts.push(text);
                    }
                }
            }
        }
        parts.join("; ")
    };
    let mut md = String::new();
    md.push_str(&format!("{BEGIN}\n\n"));
    md.push_str("| field | default | allowed (unit) | meaning |\n|---|---|---|---|\n");
    let fv = &defaults["format_version"];
    md.push_str(&format!(
        "| `format_version` | `{fv}` | {} | {} |\n\n",
        cell(&rules_of("format_version")),
        cell(&config_fields[0].2)
    ));
    for (section, ty, _) in config_fields.iter().skip(1) {
        let Some((sdoc, fields)) = sections.get(ty) else { panic!("no struct {ty} in sections.rs") };
        md.push_str(&format!("### `[{section}]`\n\n{}\n\n", sdoc));
        md.push_str("| field | default | allowed (unit) | meaning |\n|---|---|---|---|\n");
        for (name, _, doc) in fields {
            assert!(!doc.is_empty(), "{section}.{name} has no doc comment");
            let v = defaults[section.as_str()].get(name).map(render).unwrap_or_else(|| "(none)".into());
            let path = format!("{section}.{name}");
            md.push_str(&format!("| `{name}` | `{}` | {} | {} |\n", cell(&v), cell(&rules_of(&path)), cell(doc)));
        }
        md.push('\n');
    }
    md.push_str(END);
    md
}

#[test]
fn config_md_matches_the_types() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join("docs/CONFIG.md");
    let doc = std::fs::read_to_string(&path).expect("docs/CONFIG.md");
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        panic!("docs/CONFIG.md lacks the generated-fields markers")
    };
    let current = &doc[b..e + END.len()];
    let fresh = generate(&root);
    if current != fresh {
        if std::env::var_os("NEUROFLUX_BLESS").is_some() {
            std::fs::write(&path, format!("{}{fresh}{}", &doc[..b], &doc[e + END.len()..])).expect("write");
            return;
        }
        let diff: Vec<String> = fresh
            .lines()
            .zip(current.lines())
            .filter(|(a, b)| a != b)
            .take(5)
            .map(|(a, b)| format!("types: {a}\n  doc: {b}"))
            .collect();
        panic!(
            "docs/CONFIG.md's field tables differ from the configuration types; rerun with NEUROFLUX_BLESS=1 \
             (cargo test --test config_doc) and commit. First differences:\n{}",
            diff.join("\n")
        );
    }
}

#[test]
fn every_field_is_documented_and_every_documented_field_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let fresh = generate(&root);
    // Every leaf of the default configuration appears as a row of its section.
    let defaults = toml::Value::try_from(Config::default()).expect("defaults as TOML");
    for (section, table) in defaults.as_table().expect("table") {
        if let Some(t) = table.as_table() {
            for field in t.keys() {
                assert!(fresh.contains(&format!("### `[{section}]`")), "section {section} missing");
                assert!(fresh.contains(&format!("| `{field}` |")), "{section}.{field} is not documented");
            }
        }
    }
}
