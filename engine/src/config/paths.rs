//! Data paths of a configuration (input images, the initial graph, the run directory):
//! resolved relative to the configuration file, and refused when they leave its directory
//! tree. A path given on the command line is taken as it is (relative to the working
//! directory), since the person running the tool chose it.

use super::{Config, ConfigIssue};
use std::path::{Component, Path, PathBuf};

impl Config {
    /// The data path fields, by dotted name; empty values mean "not set".
    pub fn data_paths_mut(&mut self) -> [(&'static str, &mut String); 3] {
        [
            ("input.path", &mut self.input.path),
            ("graph.initial_graph", &mut self.graph.initial_graph),
            ("output.dir", &mut self.output.dir),
        ]
    }

    /// Resolve every set data path not named in `given` (fields set from the command line)
    /// against `base`, the directory of the configuration file, in place (as absolute paths,
    /// so the resolved configuration a run writes names the same files). A path that leaves
    /// `base`'s tree (through `..`, an absolute path or a symbolic link) is left as it is and
    /// reported.
    pub fn resolve_paths(&mut self, base: &Path, given: &[&str]) -> Vec<ConfigIssue> {
        let root = absolute(base);
        let root_real = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
        let mut issues = Vec::new();
        for (field, value) in self.data_paths_mut() {
            if value.is_empty() || given.contains(&field) {
                continue;
            }
            let joined = normalise(&root.join(&*value));
            // Symbolic links count where they lead: compare real paths where the path exists
            // (an output directory usually does not exist yet).
            let inside = match std::fs::canonicalize(&joined) {
                Ok(real) => real.starts_with(&root_real),
                Err(_) => joined.starts_with(&root),
            };
            if inside {
                *value = joined.display().to_string();
            } else {
                issues.push(ConfigIssue {
                    field: field.into(),
                    value: format!("{value:?}"),
                    allowed: format!(
                        "a path inside {} (the configuration's directory tree); give a path elsewhere on the command line",
                        root.display()
                    ),
                    unit: "",
                });
            }
        }
        issues
    }
}

/// `p` made absolute against the working directory (without resolving links).
pub fn absolute(p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf())
    };
    normalise(&joined)
}

/// Remove `.` and resolve `..` lexically.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_inside_and_are_refused_outside() {
        let dir = tempfile::tempdir().expect("tempdir");
        let exp = dir.path().join("exp");
        std::fs::create_dir_all(exp.join("frames")).expect("mkdir");
        let mut c = Config::default();
        c.input.path = "frames".into();
        c.output.dir = "./runs/../out".into();
        assert!(c.resolve_paths(&exp, &[]).is_empty());
        assert_eq!(Path::new(&c.input.path), exp.join("frames"));
        assert_eq!(Path::new(&c.output.dir), exp.join("out"));

        let mut c = Config::default();
        c.input.path = "../elsewhere.png".into();
        c.graph.initial_graph = "/etc/passwd".into();
        c.output.dir = "frames/../../x".into();
        let issues = c.resolve_paths(&exp, &[]);
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, ["input.path", "graph.initial_graph", "output.dir"]);
        assert!(issues[0].to_string().contains("a path inside"), "{}", issues[0]);
        assert_eq!(c.input.path, "../elsewhere.png");
        // Given on the command line: not checked.
        assert!(c.resolve_paths(&exp, &["input.path", "graph.initial_graph", "output.dir"]).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_out_of_the_tree_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let exp = dir.path().join("exp");
        std::fs::create_dir_all(&exp).expect("mkdir");
        std::fs::write(dir.path().join("secret.png"), "x").expect("write");
        std::os::unix::fs::symlink(dir.path().join("secret.png"), exp.join("link.png")).expect("symlink");
        let mut c = Config::default();
        c.input.path = "link.png".into();
        assert_eq!(c.resolve_paths(&exp, &[]).len(), 1);
    }
}
