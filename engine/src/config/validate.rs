//! The validation rules of MODEL.md section 2: ranges, relations, mixes.

use super::{Config, ConfigIssue, FORMAT_VERSION};

struct Check {
    issues: Vec<ConfigIssue>,
    /// Every rule checked (failing or not), when recording: (field, allowed, unit).
    rules: Vec<(String, String, &'static str)>,
}

impl Check {
    /// Record the rule of `field`; report it when `ok` is false.
    fn check(
        &mut self,
        ok: bool,
        field: &str,
        value: impl std::fmt::Debug,
        allowed: impl Into<String>,
        unit: &'static str,
    ) {
        let allowed = allowed.into();
        if !ok {
            self.issues.push(ConfigIssue {
                field: field.into(),
                value: format!("{value:?}"),
                allowed: allowed.clone(),
                unit,
            });
        }
        self.rules.push((field.into(), allowed, unit));
    }
    fn range_f(&mut self, field: &str, v: f32, min: f32, max: f32, unit: &'static str) {
        let allowed = if min == f32::MIN_POSITIVE { format!("in (0, {max}]") } else { format!("in [{min}, {max}]") };
        self.check(v.is_finite() && v >= min && v <= max, field, v, allowed, unit);
    }
    fn range_u(&mut self, field: &str, v: u64, min: u64, max: u64, unit: &'static str) {
        self.check(v >= min && v <= max, field, v, format!("in [{min}, {max}]"), unit);
    }
    fn prob(&mut self, field: &str, v: f32) {
        self.range_f(field, v, 0.0, 1.0, "");
    }
    fn pair_f(&mut self, field: &str, v: [f32; 2], min: f32, max: f32, unit: &'static str) {
        let ok = v[0].is_finite() && v[1].is_finite() && v[0] >= min && v[1] <= max && v[0] <= v[1];
        self.check(ok, field, v, format!("a range [lo, hi] with {min} <= lo <= hi <= {max}"), unit);
    }
    fn pair_u(&mut self, field: &str, v: [u32; 2], min: u32, max: u32, unit: &'static str) {
        let ok = v[0] >= min && v[1] <= max && v[0] <= v[1];
        self.check(ok, field, v, format!("a range [lo, hi] with {min} <= lo <= hi <= {max}"), unit);
    }
}

/// Every rule validation checks on `c`: (field, allowed, unit), in check order (a field may
/// have several). The allowed text of a relation names the values of `c`.
pub(super) fn rules(c: &Config) -> Vec<(String, String, &'static str)> {
    let mut k = Check { issues: Vec::new(), rules: Vec::new() };
    check_all(c, &mut k);
    k.rules
}

/// Every problem of `c`, in field order.
pub(super) fn issues(c: &Config) -> Vec<ConfigIssue> {
    let mut k = Check { issues: Vec::new(), rules: Vec::new() };
    check_all(c, &mut k);
    k.issues
}

fn check_all(c: &Config, k: &mut Check) {
    k.check(
        c.format_version == FORMAT_VERSION,
        "format_version",
        c.format_version,
        format!("{FORMAT_VERSION} (this engine's format)"),
        "",
    );
    let r = &c.run;
    k.range_u("run.steps", r.steps, 0, u64::from(u32::MAX), "steps");
    k.range_u("run.threads", u64::from(r.threads), 0, 1024, "threads");
    k.check(["inline", "thread"].contains(&r.worker.as_str()), "run.worker", &r.worker, "one of inline, thread", "");
    k.range_f("run.max_tombstone_fraction", r.max_tombstone_fraction, 0.0, 1.0, "");
    k.check(
        ["cpu", "wgpu", "hip", "auto"].contains(&r.backend.as_str()),
        "run.backend",
        &r.backend,
        "one of cpu, wgpu, hip, auto",
        "",
    );

    let g = &c.graph;
    k.range_u("graph.sensory_width", u64::from(g.sensory_width), 0, 65_536, "pixels");
    k.range_u("graph.sensory_height", u64::from(g.sensory_height), 0, 65_536, "pixels");
    k.range_u("graph.workspace_width", u64::from(g.workspace_width), 0, 65_536, "cells");
    k.range_u("graph.workspace_height", u64::from(g.workspace_height), 0, 65_536, "cells");
    k.range_u("graph.max_nodes", g.max_nodes, 1, u64::from(u32::MAX) / 2, "nodes");
    k.range_u("graph.max_edges", g.max_edges, 0, u64::from(u32::MAX) / 2, "edges");
    let n_s = u64::from(g.sensory_width) * u64::from(g.sensory_height);
    let n_w = u64::from(g.workspace_width) * u64::from(g.workspace_height);
    let n_d = u64::from(g.n_dynamic);
    k.check(
        n_s + n_d + n_w <= g.max_nodes,
        "graph.n_dynamic",
        g.n_dynamic,
        format!("such that all initial nodes ({}) fit in graph.max_nodes = {}", n_s + n_d + n_w, g.max_nodes),
        "nodes",
    );
    let n_e = n_s * u64::from(g.sensory_fanout)
        + n_w * u64::from(g.workspace_in_degree)
        + n_d * u64::from(g.dynamic_out_degree);
    k.check(
        n_e <= g.max_edges,
        "graph.max_edges",
        g.max_edges,
        format!("at least the initial edge count {n_e}"),
        "edges",
    );
    k.pair_u("graph.max_out_degree_initial", g.max_out_degree_initial, 0, 65_535, "edges");
    k.pair_u("graph.max_out_degree_child", g.max_out_degree_child, 0, 65_535, "edges");
    k.range_u("graph.sensory_max_out_degree", u64::from(g.sensory_max_out_degree), 0, 65_535, "edges");
    k.check(
        g.dynamic_out_degree <= g.max_out_degree_initial[0],
        "graph.dynamic_out_degree",
        g.dynamic_out_degree,
        format!("<= the smallest initial max_out_degree ({})", g.max_out_degree_initial[0]),
        "edges",
    );
    k.check(
        !(n_s > 0 && (g.sensory_fanout > g.sensory_max_out_degree || u64::from(g.sensory_fanout) > n_d)),
        "graph.sensory_fanout",
        g.sensory_fanout,
        format!("<= sensory_max_out_degree and <= n_dynamic ({n_d})"),
        "edges",
    );
    k.check(
        !(n_w > 0 && u64::from(g.workspace_in_degree) > n_d),
        "graph.workspace_in_degree",
        g.workspace_in_degree,
        format!("<= n_dynamic ({n_d})"),
        "edges",
    );
    k.check(
        !(n_w > 0 && g.workspace_in_degree > 0 && g.max_out_degree_initial[1] <= g.dynamic_out_degree),
        "graph.max_out_degree_initial",
        g.max_out_degree_initial,
        "to leave room above dynamic_out_degree for workspace in-edges",
        "edges",
    );
    k.check(
        !(n_d > 0 && u64::from(g.dynamic_out_degree) >= n_d.max(1)),
        "graph.dynamic_out_degree",
        g.dynamic_out_degree,
        format!("< n_dynamic ({n_d})"),
        "edges",
    );
    let e = &c.energy;
    k.range_f("energy.energy_cap", e.energy_cap, f32::MIN_POSITIVE, 1e9, "energy");
    k.check(
        e.energy_floor.is_finite() && e.energy_floor < e.energy_cap.min(0.0),
        "energy.energy_floor",
        e.energy_floor,
        format!("< min(0, energy_cap = {})", e.energy_cap),
        "energy",
    );
    k.pair_f("graph.initial_dynamic_energy", g.initial_dynamic_energy, e.energy_floor, e.energy_cap, "energy");
    k.pair_f("graph.initial_workspace_energy", g.initial_workspace_energy, e.energy_floor, e.energy_cap, "energy");
    k.pair_f("graph.weight_range", g.weight_range, 0.0, 1e6, "");
    k.pair_f("graph.sensory_weight_range", g.sensory_weight_range, 0.0, 1e6, "");
    let km = g.build_kind_mix;
    let kw = [km.excitatory, km.inhibitory, km.gated, km.plastic];
    k.check(
        !(kw.iter().any(|w| !(w.is_finite() && *w >= 0.0)) || kw.iter().sum::<f32>() <= 0.0),
        "graph.build_kind_mix",
        kw,
        "non-negative weights with a positive sum",
        "",
    );
    let dm = g.build_direction_mix;
    let dw = [dm.one_way_out, dm.one_way_in, dm.free_flow];
    k.check(
        !(dw.iter().any(|w| !(w.is_finite() && *w >= 0.0)) || dw.iter().sum::<f32>() <= 0.0),
        "graph.build_direction_mix",
        dw,
        "non-negative weights with a positive sum",
        "",
    );
    k.range_f("graph.gate_scale", g.gate_scale, 0.0, 1e9, "energy");
    k.pair_f("graph.plastic_lr_range", g.plastic_lr_range, 0.0, 1e3, "");
    k.range_f("energy.maintenance_per_out_edge", e.maintenance_per_out_edge, 0.0, 1e6, "energy");
    k.range_f("energy.maintenance_per_node", e.maintenance_per_node, 0.0, 1e6, "energy");
    k.check(
        !(e.connection_gain_values.is_empty()
            || e.connection_gain_values.len() > 254
            || e.connection_gain_values.iter().any(|v| !v.is_finite() || *v < 0.0)),
        "energy.connection_gain_values",
        &e.connection_gain_values,
        "1 to 254 finite non-negative values",
        "energy",
    );
    k.range_f("energy.noise_sigma", e.noise_sigma, 0.0, 1e6, "energy");
    k.range_f("energy.workspace_target", e.workspace_target, e.energy_floor, e.energy_cap, "energy");
    k.prob("energy.workspace_rate", e.workspace_rate);
    k.range_f("energy.workspace_min_active", e.workspace_min_active, -1e9, 1e9, "energy");

    let t = &c.transfer;
    k.range_f("transfer.transfer_capacity", t.transfer_capacity, 0.0, 1e6, "");
    k.prob("transfer.transmission_loss", t.transmission_loss);
    k.prob("transfer.max_outflow_fraction", t.max_outflow_fraction);
    for (name, s) in
        [("transfer.subtype_src_scale", t.subtype_src_scale), ("transfer.subtype_dst_scale", t.subtype_dst_scale)]
    {
        k.check(
            !(s.as_array().iter().any(|v| !(v.is_finite() && *v >= 0.0 && *v <= 1e6))),
            name,
            s.as_array(),
            "finite non-negative scales",
            "",
        );
    }
    k.range_f("transfer.sensory_burn", t.sensory_burn, 0.0, 1e6, "");
    k.pair_f("transfer.plastic_weight_range", t.plastic_weight_range, -1e6, 1e6, "");

    let s = &c.spawn;
    k.range_f("spawn.spawn_cost", s.spawn_cost, f32::MIN_POSITIVE, 1e9, "energy");
    k.check(
        s.spawn_threshold.is_finite() && s.spawn_threshold >= s.spawn_cost,
        "spawn.spawn_threshold",
        s.spawn_threshold,
        format!(">= spawn_cost ({})", s.spawn_cost),
        "energy",
    );
    k.prob("spawn.child_energy_fraction", s.child_energy_fraction);
    k.range_u("spawn.max_births_per_step", u64::from(s.max_births_per_step), 0, 1 << 24, "nodes");

    let gr = &c.growth;
    k.check(
        !(gr.classes.is_empty() || gr.classes.len() > 254),
        "growth.classes",
        gr.classes.len(),
        "1 to 254 classes",
        "",
    );
    for (i, cl) in gr.classes.iter().enumerate() {
        k.prob(&format!("growth.classes[{i}].p"), cl.p);
        k.range_u(&format!("growth.classes[{i}].every"), u64::from(cl.every), 1, u64::from(u32::MAX), "steps");
    }
    let m = gr.target_mix;
    for (n, v) in [("dynamic", m.dynamic), ("workspace", m.workspace), ("sensory", m.sensory)] {
        k.prob(&format!("growth.target_mix.{n}"), v);
    }
    let sum = f64::from(m.dynamic) + f64::from(m.workspace) + f64::from(m.sensory);
    k.check(
        !((sum - 1.0).abs() > 1e-6),
        "growth.target_mix",
        [m.dynamic, m.workspace, m.sensory],
        format!("shares summing to 1 within 1e-6 (they sum to {sum})"),
        "",
    );
    k.prob("growth.freeflow_p", gr.freeflow_p);
    k.prob("growth.sensory_growth_p", gr.sensory_growth_p);
    k.range_u("growth.cull_every", u64::from(gr.cull_every), 1, u64::from(u32::MAX), "steps");
    k.range_f("growth.cull_min_edges_per_dynamic", gr.cull_min_edges_per_dynamic, 0.0, 1e9, "edges");
    k.range_f("growth.min_abs_weight", gr.min_abs_weight, 0.0, 1e6, "");
    k.range_u("growth.worker_lag_steps", u64::from(gr.worker_lag_steps), 0, 1000, "steps");

    let i = &c.input;
    k.range_u("input.bar_width", u64::from(i.bar_width), 1, 65_536, "pixels");
    k.prob("input.value", i.value);
    k.range_u("input.square", u64::from(i.square), 1, 65_536, "pixels");
    k.range_u("input.frame_steps", u64::from(i.frame_steps), 1, u64::from(u32::MAX), "steps");
    k.check(
        !(i.pattern == super::Pattern::Image && i.path.is_empty()),
        "input.path",
        &i.path,
        "the image file or directory of the `image` pattern",
        "",
    );
    k.range_f("input.sensory_gain", i.sensory_gain, 0.0, 1e9, "energy");
    k.range_f("input.sensory_bias", i.sensory_bias, -1e9, 1e9, "energy");
    k.range_u("input.warmup_steps", u64::from(i.warmup_steps), 1, u64::from(u32::MAX), "steps");
    k.range_u("output.metrics_every", u64::from(c.output.metrics_every), 1, u64::from(u32::MAX), "steps");
    k.range_u("output.keep_last", u64::from(c.output.keep_last), 1, 1_000_000, "checkpoints");
    let w = &c.worker;
    k.range_u("worker.deadline_ms", w.deadline_ms, 1, 3_600_000, "ms");
    k.range_u("worker.max_restarts", u64::from(w.max_restarts), 0, 1_000_000, "restarts");
    k.range_u("worker.restart_window_steps", w.restart_window_steps, 1, u64::from(u32::MAX), "steps");
    k.check(
        ["continue", "stop"].contains(&w.when_exhausted.as_str()),
        "worker.when_exhausted",
        &w.when_exhausted,
        "one of continue, stop",
        "",
    );
    k.range_u("worker.backoff_ms", w.backoff_ms, 0, 60_000, "ms");
    k.range_u("worker.backoff_max_ms", w.backoff_max_ms, w.backoff_ms, 600_000, "ms");
    let p = c.faults.panic_probability;
    k.check((0.0..=1.0).contains(&p), "faults.panic_probability", p, "in [0, 1]", "");
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, ConfigError};

    #[test]
    fn defaults_are_valid() {
        assert!(Config::default().validate().is_ok());
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let mut c = Config::default();
        c.energy.energy_cap = -1.0;
        c.transfer.transmission_loss = 1.5;
        c.growth.target_mix.dynamic = 0.5;
        c.run.max_tombstone_fraction = 1.25;
        let Err(ConfigError::Invalid(issues)) = c.validate() else { panic!("should be invalid") };
        let text = issues.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("\n");
        assert!(text.contains("energy.energy_cap = -1.0: must be in"), "{text}");
        assert!(text.contains("transfer.transmission_loss = 1.5: must be in [0, 1]"), "{text}");
        assert!(text.contains("run.max_tombstone_fraction = 1.25: must be in [0, 1]"), "{text}");
        assert!(text.contains("growth.target_mix"), "{text}");
        assert!(text.contains("(energy)"), "{text}");
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = Config::from_toml_str("[energy]\nenergy_capp = 3.0\n", "t").err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("unknown field `energy_capp`")));
    }

    #[test]
    fn round_trips_through_toml() {
        let c = Config::default();
        let text = c.to_toml_string().expect("writes");
        let back = Config::from_toml_str(&text, "t").ok();
        assert_eq!(back, Some(c));
        // The reals as written in MODEL.md, not widened to f64.
        for line in
            ["weight_range = [0.05, 0.2]", "noise_sigma = 0.01", "transfer_capacity = 0.3", "spawn_cost = 19.52"]
        {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }

    #[test]
    fn reals_written_short_read_back_as_the_same_bits() {
        // f32 values whose shortest decimals are long, tiny, huge or negative, and the one
        // f64 field, whose value is kept as it is even where it is exactly an f32.
        let mut c = Config::default();
        for (k, x) in [0.1f32 + f32::EPSILON, f32::MIN_POSITIVE, 3.0e38, -1.0e-7, 1.0 / 3.0].into_iter().enumerate() {
            c.energy.noise_sigma = x;
            c.graph.weight_range = [x, -x];
            c.faults.panic_probability = f64::from(0.1f32) + k as f64;
            let back = Config::from_toml_str(&c.to_toml_string().expect("writes"), "t").expect("it reads back");
            assert_eq!(back.energy.noise_sigma.to_bits(), x.to_bits(), "{x:e}");
            assert_eq!(back.graph.weight_range.map(f32::to_bits), [x, -x].map(f32::to_bits), "{x:e}");
            assert_eq!(back.faults.panic_probability.to_bits(), c.faults.panic_probability.to_bits(), "{x:e}");
        }
    }

    #[test]
    fn an_integer_toml_cannot_hold_is_an_error_when_written() {
        // Set from code (no file can hold it): writing the configuration fails with a
        // message, not a panic.
        let mut c = Config::default();
        c.run.seed = u64::MAX;
        let e = c.to_toml_string().expect_err("u64::MAX is above TOML's largest integer");
        assert!(matches!(e, ConfigError::Write(_)));
        assert!(e.to_string().starts_with("cannot write the configuration as TOML: "), "{e}");
        c.run.seed = i64::MAX as u64;
        let back = Config::from_toml_str(&c.to_toml_string().expect("writes"), "t").expect("reads back");
        assert_eq!(back.run.seed, i64::MAX as u64);
    }
}
