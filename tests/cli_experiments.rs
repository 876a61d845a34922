//! Contract: the experiment tool. `validate` reports every problem at once; image inputs run
//! and a wrong-size frame is a clear error; a data path leaving the experiment's directory
//! is refused unless given on the command line; a sweep of 2 x 2 points x 2 seeds writes 8
//! run directories and 8 rows, and a re-run skips all 8; SIGINT saves the summary and exits
//! 130; plots, workspace images, the final graph and its statistics are written on request,
//! and a written GraphML graph loads back as an initial graph; a bad initial graph file is
//! refused naming its line.

mod common;
use common::{neuroflux, root, spawn_until_metrics, summary};
use std::path::Path;
use std::process::Command;

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8").to_string()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A small experiment directory: `exp.toml` (16x16 sensory grid) plus `extra` appended.
fn experiment(dir: &Path, extra: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let base = std::fs::read_to_string(root().join("sim-configs/small.toml")).expect("small.toml");
    let text = base.replace("[input]\npattern = \"moving_bar\"\nbar_width = 4\n", "");
    let path = dir.join("exp.toml");
    std::fs::write(&path, format!("{text}\n{extra}")).expect("write");
    path
}

/// Write `sweep.toml` in `dir` with small.toml as its base and `body` after the `base` line.
fn sweep_file(dir: &Path, body: &str) -> std::path::PathBuf {
    let sweep = dir.join("sweep.toml");
    std::fs::write(&sweep, format!("base = {:?}\n{body}", s(&root().join("sim-configs/small.toml")))).expect("write");
    sweep
}

fn png(path: &Path, w: u32, h: u32, shade: u8) {
    image::RgbImage::from_fn(w, h, |x, y| image::Rgb([shade, (x * 10) as u8, (y * 10) as u8])).save(path).expect("png");
}

#[test]
fn validate_reports_all_three_problems_and_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = experiment(
        dir.path(),
        "[energy]\nnoise_sigma = -1.0\n[transfer]\ntransmission_loss = 1.5\n[growth]\ncull_every = 0\n",
    );
    let o = neuroflux(&["validate", &s(&cfg)]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("3 problems"), "{e}");
    for needle in [
        "energy.noise_sigma = -1.0: must be in [0, 1000000] (energy)",
        "transfer.transmission_loss = 1.5: must be in [0, 1]",
        "growth.cull_every = 0: must be in [1, 4294967295] (steps)",
    ] {
        assert!(e.contains(needle), "missing {needle:?} in:\n{e}");
    }
    let o = neuroflux(&["validate", "sim-configs/small.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn an_image_directory_plays_as_a_sequence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let frames = dir.path().join("frames");
    std::fs::create_dir_all(&frames).expect("mkdir");
    for (i, shade) in [0u8, 128, 255].iter().enumerate() {
        png(&frames.join(format!("f{i}.png")), 16, 16, *shade);
    }
    let cfg = experiment(dir.path(), "[input]\npattern = \"image\"\npath = \"frames\"\nframe_steps = 5\n");
    let o = neuroflux(&["validate", &s(&cfg)]);
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("3 input frame(s)"), "{}", stderr(&o));
    let out = dir.path().join("run");
    let o = neuroflux(&["run", &s(&cfg), "--steps", "30", "--out", &s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = summary(&out);
    assert_eq!(summary["step"], 30, "{summary}");
    // The resolved configuration names the frames by absolute path.
    let resolved = std::fs::read_to_string(out.join("config.toml")).expect("config.toml");
    assert!(resolved.contains(&s(&frames)), "{resolved}");
}

#[test]
fn a_frame_of_the_wrong_size_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    png(&dir.path().join("big.png"), 20, 12, 90);
    let cfg = experiment(dir.path(), "[input]\npattern = \"image\"\npath = \"big.png\"\n");
    let out = dir.path().join("run");
    let o = neuroflux(&["run", &s(&cfg), "--out", &s(&out)]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("big.png is 20x12 pixels but the sensory grid is 16x16"), "{e}");
    assert!(!out.exists(), "no run directory for a run that cannot start");
    // With resize it runs.
    let cfg = experiment(dir.path(), "[input]\npattern = \"image\"\npath = \"big.png\"\nresize = true\n");
    let o = neuroflux(&["run", &s(&cfg), "--steps", "5", "--out", &s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_path_leaving_the_experiment_directory_is_refused_unless_given_on_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outside = dir.path().join("outside.png");
    png(&outside, 16, 16, 200);
    let exp = dir.path().join("exp");
    let cfg =
        experiment(&exp, "[input]\npattern = \"image\"\npath = \"../outside.png\"\n[output]\ndir = \"../../x\"\n");
    let o = neuroflux(&["validate", &s(&cfg)]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("input.path = \"../outside.png\": must be a path inside"), "{e}");
    assert!(e.contains("output.dir = \"../../x\": must be a path inside"), "{e}");
    let out = dir.path().join("run");
    let o = neuroflux(&["run", &s(&cfg), "--out", &s(&out)]);
    assert!(!o.status.success() && stderr(&o).contains("input.path"), "{}", stderr(&o));
    // The same file given on the command line is the user's choice.
    let cfg = experiment(&exp, "[input]\npattern = \"moving_bar\"\n");
    let o = neuroflux(&["run", &s(&cfg), "--steps", "5", "--out", &s(&out), "--input", &s(&outside)]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_sweep_of_eight_points_writes_eight_runs_and_a_rerun_skips_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sweep = sweep_file(
        dir.path(),
        "seeds = [3, 4]\nsteps = 40\nthreads = 2\n[parameters]\n\"energy.noise_sigma\" = [0.0, 0.02]\n\"spawn.max_births_per_step\" = { from = 50, to = 100, step = 50 }\n",
    );
    let out = dir.path().join("out");
    let o = neuroflux(&["sweep", &s(&sweep), "--out", &s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let runs: Vec<_> = std::fs::read_dir(&out)
        .expect("out")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(runs.len(), 8, "{runs:?}");
    assert!(runs.contains(&"energy.noise_sigma=0.02_spawn.max_births_per_step=100_seed=4".to_string()), "{runs:?}");
    for r in &runs {
        assert!(out.join(r).join("summary.json").exists(), "{r} has no summary");
    }
    let csv = std::fs::read_to_string(out.join("sweep.csv")).expect("sweep.csv");
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 9, "{csv}");
    assert!(rows[0].starts_with("point,dir,energy.noise_sigma,spawn.max_births_per_step,seed,status,step,"), "{csv}");
    assert!(rows[1..].iter().all(|r| r.contains(",complete,40,")), "{csv}");
    // Same seed and values: the point's hash equals a plain run's.
    let single = dir.path().join("single");
    let point = out.join("energy.noise_sigma=0.0_spawn.max_births_per_step=50_seed=3");
    let cfg = point.join("config.toml");
    let o = neuroflux(&["run", &s(&cfg), "--out", &s(&single)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(summary(&point)["state_hash"], summary(&single)["state_hash"]);

    let o = neuroflux(&["sweep", &s(&sweep), "--out", &s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("0 run now, 8 complete before"), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).expect("sweep.csv");
    assert_eq!(csv.lines().filter(|l| l.contains(",complete (earlier sweep),40,")).count(), 8, "{csv}");
}

#[test]
fn an_invalid_sweep_point_stops_the_sweep_before_any_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sweep = sweep_file(
        dir.path(),
        "[parameters]\n\"transfer.transmission_loss\" = [0.5, 2.0]\n\"energy.no_such_field\" = [1]\n",
    );
    let out = dir.path().join("out");
    let o = neuroflux(&["sweep", &s(&sweep), "--out", &s(&out)]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("2 of 2 sweep points are not valid (nothing was run)"), "{e}");
    assert!(e.contains("unknown field `no_such_field`"), "{e}");
    assert!(!out.exists());
}

#[test]
fn sigint_writes_the_summary_and_exits_130() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = dir.path().join("run");
    let child =
        spawn_until_metrics(&["run", "sim-configs/small.toml", "--steps", "100000000", "--out", &s(&run)], &run, 100);
    let int = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill runs");
    assert!(int.success());
    let out = child.wait_with_output().expect("exits");
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = summary(&run);
    assert!(summary["step"].as_u64().is_some_and(|s| s >= 99), "{summary}");
}

#[test]
fn outputs_on_request_and_a_written_graph_loads_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let o = neuroflux(&[
        "run",
        "sim-configs/small.toml",
        "--steps",
        "60",
        "--out",
        &s(&out),
        "--plots",
        "svg",
        "--snapshot-every",
        "20",
        "--graph",
        "graphml",
        "--graph-stats",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["plots/nodes.svg", "plots/energy.svg", "workspace/step-000000000.png", "workspace/step-000000060.png"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let img = image::open(out.join("workspace/step-000000040.png")).expect("png");
    assert_eq!((img.width(), img.height()), (256, 256));
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("graph-stats.json")).expect("stats")).expect("json");
    let summary: serde_json::Value = summary(&out);
    assert_eq!(stats["edges"], summary["edges"]);
    assert!(stats["workspace_reachable_fraction"].as_f64().is_some_and(|f| (0.0..=1.0).contains(&f)));
    assert!(stats["degrees"]["dynamic"]["out_degree"].is_object());

    // The final graph as the next run's initial graph: same nodes, edges and energies.
    let again = dir.path().join("again");
    let graph = out.join("graph.graphml");
    let o = neuroflux(&[
        "run",
        "sim-configs/small.toml",
        "--steps",
        "0",
        "--out",
        &s(&again),
        "--initial-graph",
        &s(&graph),
        "--graph",
        "graphml",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let strip = |t: String| -> Vec<String> {
        // Node and edge ids are renumbered, and parents and birth steps dropped, on loading.
        let drop = |mut l: String, key: &str| {
            let open = format!("<data key=\"{key}\">");
            if let Some(a) = l.find(&open) {
                if let Some(b) = l[a..].find("</data>") {
                    l.replace_range(a..a + b + "</data>".len(), "");
                }
            }
            l
        };
        t.lines()
            .filter(|l| l.contains("<node") || l.contains("<edge "))
            .map(|l| {
                let data = l.find("<data").map_or(String::new(), |i| l[i..].to_string());
                ["n_parent", "n_born_step", "e_born_step"].iter().fold(data, |d, k| drop(d, k))
            })
            .collect()
    };
    let a = strip(std::fs::read_to_string(&graph).expect("graph"));
    let b = strip(std::fs::read_to_string(again.join("graph.graphml")).expect("graph"));
    assert_eq!(a.len(), b.len());
    if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
        panic!("element {i} differs after loading:\n{}\n{}", a[i], b[i]);
    }
}

#[test]
fn a_bad_initial_graph_names_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("# header\nsrc,dst,weight\n0,300,0.5\n300,300,0.1\n", "edges.csv:4: edge 300 -> 300 is a self-loop"),
        ("0 300\n0 300\n", "edges.txt:2: edge 0 -> 300 duplicates an earlier edge"),
        ("300 0\n300 857\n", "edges.txt:2: dynamic node 300 has out-edges to both a workspace and a sensory node"),
        ("856 300\n", "edges.txt:1: edge 856 -> 300 starts at a workspace node"),
        ("0 1\n", "edges.txt:1: edge 0 -> 1 is sensory -> sensory, which is not allowed"),
        ("0 9999\n", "edges.txt:1: node 9999 does not exist (the configuration builds nodes 0 to 871)"),
        ("0 300 0.5 excitatory sideways\n", "edges.txt:1: direction \"sideways\" is not one of"),
        ("0 300 -0.5 excitatory\n", "edges.txt:1: a excitatory edge cannot have weight -0.5"),
    ];
    for (text, want) in cases {
        let name = if want.starts_with("edges.csv") { "edges.csv" } else { "edges.txt" };
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let o = neuroflux(&["validate", "sim-configs/small.toml"]);
        assert!(o.status.success());
        let out = dir.path().join("run");
        let o = neuroflux(&[
            "run",
            "sim-configs/small.toml",
            "--steps",
            "1",
            "--out",
            &s(&out),
            "--initial-graph",
            &s(&path),
        ]);
        assert!(!o.status.success(), "{text:?} should be refused");
        assert!(stderr(&o).contains(want), "want {want:?} in:\n{}", stderr(&o));
    }
    let graphml = dir.path().join("g.graphml");
    std::fs::write(
        &graphml,
        "<?xml version=\"1.0\"?>\n<graphml>\n<key id=\"k\" for=\"node\" attr.name=\"kind\" attr.type=\"string\"/>\n<graph edgedefault=\"directed\">\n<node id=\"a\"><data key=\"k\">dynamic</data></node>\n<node id=\"b\"><data key=\"k\">martian</data></node>\n</graph></graphml>\n",
    )
    .expect("write");
    let o = neuroflux(&[
        "run",
        "sim-configs/small.toml",
        "--steps",
        "1",
        "--out",
        &s(&dir.path().join("r2")),
        "--initial-graph",
        &s(&graphml),
    ]);
    assert!(
        stderr(&o).contains("g.graphml:6: node kind \"martian\" is not one of sensory dynamic workspace"),
        "{}",
        stderr(&o)
    );
}
