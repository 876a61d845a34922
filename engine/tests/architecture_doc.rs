//! Contract: every path that `docs/ARCHITECTURE.md` names in backticks exists.

#[test]
fn architecture_doc_paths_exist() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).expect("docs/ARCHITECTURE.md");
    let mut checked = 0;
    for (i, part) in doc.split('`').enumerate() {
        let looks_like_path = i % 2 == 1
            && !part.contains(' ')
            && (part.ends_with('/')
                || part.contains(".rs")
                || part.contains(".toml")
                || part.contains(".csv")
                || part.starts_with('.'));
        if looks_like_path && part.contains('/') {
            assert!(root.join(part).exists(), "docs/ARCHITECTURE.md names {part}, which does not exist");
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} paths found");
}
