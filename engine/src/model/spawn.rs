//! Phase 5.6: births. Candidates are served by descending energy, ties by ascending id,
//! until `max_births_per_step` or `max_nodes`; children draw their attributes from
//! `(step, Spawn, child id, 0..2)` and their parent edge's weight from
//! `(step, ChildWiring, child id, 0)`.

use crate::config::{DirectionRule, Params, SpawnFrom};
use crate::rng::{below, between, uniform_range, Rng, Stream};
use crate::store::{ones, Direction, EdgeId, EdgeKind, EdgeRecord, Fertility, NodeId, NodeKind, NodeRecord, Store};

use super::rules::subtype_from;

/// What phase 5.6 did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SpawnCounts {
    /// Children born.
    pub births: u64,
    /// Parent-child edges added.
    pub wired: u64,
    /// Energy paid by parents (energy units).
    pub paid: f64,
    /// Energy children start with.
    pub created: f64,
}

/// Run phase 5.6 on `store` at `step`, after deaths. `out_degree[r]` is node row `r`'s
/// current out-degree.
pub fn spawn(store: &mut Store, params: &Params, rng: &Rng, step: u64, out_degree: &[u32]) -> SpawnCounts {
    let served = candidates(store, params, out_degree);
    births(store, params, rng, step, out_degree, &served)
}

/// The candidates of 5.6 that will be served, in service order, with the children each
/// wants: the first part of [`spawn`], which only reads the store.
pub fn candidates(store: &Store, params: &Params, out_degree: &[u32]) -> Vec<(usize, u32)> {
    let sp = &params.spawn;
    let budget = birth_budget(store, params);
    if budget == 0 {
        return Vec::new();
    }
    let nodes = store.nodes();
    let energy = nodes.energy();
    let ids = nodes.ids();
    // Service order: descending energy, ties by ascending id (a total order: ids are unique).
    // Each served candidate gets at least one child, so at most `budget` are served: keep the
    // best `budget` in service order while scanning. Rows ascend by id, so a later candidate
    // with the same energy as the last kept one comes after it and is not kept.
    let served = usize::try_from(budget).unwrap_or(usize::MAX);
    let before = |a: &(usize, u32), b: &(usize, u32)| energy[b.0].total_cmp(&energy[a.0]).then(ids[a.0].cmp(&ids[b.0]));
    let mut cands: Vec<(usize, u32)> = Vec::with_capacity(served.min(nodes.len()) + 1);
    let (kinds, fertility, max_out) = (nodes.kinds(), nodes.fertility(), nodes.max_out_degree());
    // Once `budget` candidates are kept, `bar` is the energy of the last one.
    let mut bar = sp.spawn_threshold;
    let n = nodes.len().min(kinds.len()).min(fertility.len()).min(max_out.len()).min(out_degree.len());
    // Each test alone is unpredictable and few nodes pass them all: a mask per 64 rows of
    // those that pass them all (against the threshold) without branches, in a compiled form,
    // then the few that passed, their energy tested again against `bar` (which only rises).
    let cols = Columns {
        kinds: &kinds[..n],
        energy: &energy[..n],
        fertility: &fertility[..n],
        max_out: &max_out[..n],
        out_degree: &out_degree[..n],
    };
    let tests = Tests {
        dynamic_only: sp.spawn_from == SpawnFrom::Dynamic,
        threshold: bar,
        sterile: Fertility::Sterile.code(),
        free_slot: sp.spawn_requires_free_slot,
    };
    let mut masks = vec![0u64; n.div_ceil(64)];
    passing_fast(cols, tests, &mut masks);
    for (b, &m) in masks.iter().enumerate() {
        for r in ones(m).map(|k| b * 64 + k) {
            if !(energy[r] > bar) {
                continue;
            }
            let e = energy[r];
            let f = if fertility[r] == Fertility::Fertile.code() { 2 } else { 1 };
            let want = f.min((e / sp.spawn_cost).floor() as u32);
            if want == 0 {
                continue;
            }
            let c = (r, want);
            let at = cands.partition_point(|x| before(x, &c).is_lt());
            cands.insert(at, c);
            cands.truncate(served);
            if cands.len() == served {
                bar = bar.max(energy[cands[served - 1].0]);
            }
        }
    }

    cands
}

/// The node columns the candidates' tests read, each as long as the node rows tested.
#[derive(Clone, Copy)]
struct Columns<'a> {
    kinds: &'a [u8],
    energy: &'a [f32],
    fertility: &'a [u8],
    max_out: &'a [u16],
    out_degree: &'a [u32],
}

/// The candidates' tests of 5.6: a dynamic node where only those spawn, energy above the
/// threshold, not sterile, and a free out-edge slot where one is required.
#[derive(Clone, Copy)]
struct Tests {
    dynamic_only: bool,
    threshold: f32,
    sterile: u8,
    free_slot: bool,
}

crate::rng::vector_forms!(passing_fast, passing, passing_avx512, passing_avx2,
    (c: Columns<'_>, t: Tests, masks: &mut [u64]) -> ());

/// Bit `r % 64` of `masks[r / 64]` set where row `r` passes every test, for each row of the
/// columns (`masks`: one word per 64 of them): a loop without branches per block of 64
/// rows, which the compiled forms vectorise.
#[inline(always)]
fn passing(c: Columns<'_>, t: Tests, masks: &mut [u64]) {
    let dynamic = NodeKind::Dynamic.code();
    for (b, m) in masks.iter_mut().enumerate() {
        let lo = b * 64;
        let hi = (lo + 64).min(c.kinds.len());
        let (k, e, f) = (&c.kinds[lo..hi], &c.energy[lo..hi], &c.fertility[lo..hi]);
        let (mo, d) = (&c.max_out[lo..hi], &c.out_degree[lo..hi]);
        let mut w = [0u8; 64];
        for i in 0..k.len().min(64) {
            let p = (!t.dynamic_only | (k[i] == dynamic))
                & (e[i] > t.threshold)
                & (f[i] != t.sterile)
                & (!t.free_slot | (d[i] < u32::from(mo[i])));
            w[i] = u8::from(p);
        }
        *m = crate::store::pack_bytes(&w);
    }
}

/// Births for a node table of the store's size: `max_births_per_step`, less where
/// `max_nodes` leaves less room.
fn birth_budget(store: &Store, params: &Params) -> u64 {
    let room = params.graph.max_nodes.saturating_sub(store.nodes().len() as u64);
    u64::from(params.spawn.max_births_per_step).min(room)
}

/// The second part of [`spawn`]: serve `served` (from [`candidates`] on this store) in order.
pub fn births(
    store: &mut Store,
    params: &Params,
    rng: &Rng,
    step: u64,
    out_degree: &[u32],
    served: &[(usize, u32)],
) -> SpawnCounts {
    let sp = &params.spawn;
    let mut c = SpawnCounts::default();
    let budget = birth_budget(store, params);
    let nodes = store.nodes();
    let g = &params.graph;
    let n_growth = params.growth.classes.len() as u32;
    let n_gain = params.energy.connection_gain_values.len() as u32;
    let child_energy = sp.child_energy_fraction * sp.spawn_cost;
    let mut next_id = store.next_node_id();
    let mut children: Vec<NodeRecord> = Vec::new();
    let mut edges: Vec<EdgeRecord> = Vec::new();
    let mut pay: Vec<(usize, f32)> = Vec::new();
    // Each child edge's endpoint rows: the parent's, and the child's (children are appended
    // after the store's rows, in order).
    let mut rows: Vec<(u32, u32)> = Vec::new();
    let first_child_row = nodes.len();
    let mut edge_count = store.edges().count() as u64;
    for &(r, want) in served {
        if c.births >= budget {
            break;
        }
        let n = u64::from(want).min(budget - c.births) as u32;
        let cost = sp.spawn_cost * n as f32;
        pay.push((r, cost));
        c.paid += f64::from(cost);
        let parent_id = nodes.ids()[r];
        let mut extra = 0u32;
        for _ in 0..n {
            let id = next_id;
            next_id += 1;
            let w = rng.words(step, Stream::Spawn, id, 0);
            let w1 = rng.words(step, Stream::Spawn, id, 1);
            children.push(NodeRecord {
                id: NodeId(id),
                kind: NodeKind::Dynamic,
                energy: child_energy,
                subtype: subtype_from(w[0]),
                fertility: below(w[1], 3) as u8,
                growth_class: below(w[2], n_growth) as u8,
                gain_class: below(w[3], n_gain) as u8,
                max_out_degree: between(w1[0], g.max_out_degree_child[0], g.max_out_degree_child[1]) as u16,
                parent: Some(NodeId(parent_id)),
                binding: 0,
                born_step: step,
            });
            c.created += f64::from(child_energy);
            c.births += 1;
            if sp.wire_children
                && out_degree[r] + extra < u32::from(nodes.max_out_degree()[r])
                && edge_count < g.max_edges
            {
                let ww = rng.words(step, Stream::ChildWiring, id, 0);
                let direction = match params.transfer.direction_rule {
                    DirectionRule::ByKind => Direction::FreeFlow,
                    DirectionRule::ByLineage => Direction::OneWayOut,
                };
                edges.push(EdgeRecord {
                    id: EdgeId(0),
                    src: NodeId(parent_id),
                    dst: NodeId(id),
                    kind: EdgeKind::Excitatory,
                    weight: uniform_range(ww[0], g.weight_range[0], g.weight_range[1]),
                    direction,
                    gate: 0.0,
                    plastic_lr: 0.0,
                    born_step: step,
                });
                rows.push((r as u32, (first_child_row + children.len() - 1) as u32));
                extra += 1;
                edge_count += 1;
            }
        }
    }
    let energy = store.node_values_mut().energy;
    for (r, cost) in pay {
        energy[r] -= cost;
    }
    store.add_nodes(&children);
    c.wired = edges.len() as u64;
    store.add_edges_at_rows(&edges, &rows);
    c
}

#[cfg(test)]
mod tests {
    use super::{passing, passing_avx2, passing_avx512, Columns, Tests};

    /// Every compiled form of the candidates' masks agrees with the portable one, which
    /// agrees with the tests row by row, over rows that do not fill the last word.
    #[test]
    fn the_masks_of_passing_rows_agree_in_every_form() {
        let mut next = crate::rng::test_words(99);
        let n = 1000;
        let words: Vec<u64> = (0..n).map(|_| next()).collect();
        let kinds: Vec<u8> = words.iter().map(|w| (w % 3) as u8).collect();
        let energy: Vec<f32> = words.iter().map(|w| ((w >> 8) % 100) as f32 / 10.0).collect();
        let fertility: Vec<u8> = words.iter().map(|w| ((w >> 16) % 3) as u8).collect();
        let max_out: Vec<u16> = words.iter().map(|w| ((w >> 24) % 8) as u16).collect();
        let out_degree: Vec<u32> = words.iter().map(|w| ((w >> 32) % 9) as u32).collect();
        let c = Columns {
            kinds: &kinds,
            energy: &energy,
            fertility: &fertility,
            max_out: &max_out,
            out_degree: &out_degree,
        };
        let dynamic = crate::store::NodeKind::Dynamic.code();
        for (dynamic_only, free_slot) in [(true, true), (false, false), (true, false)] {
            let t = Tests { dynamic_only, threshold: 4.0, sterile: 2, free_slot };
            let want: Vec<bool> = (0..n)
                .map(|r| {
                    (!dynamic_only || kinds[r] == dynamic)
                        && energy[r] > 4.0
                        && fertility[r] != 2
                        && (!free_slot || out_degree[r] < u32::from(max_out[r]))
                })
                .collect();
            let bits = |m: &[u64]| (0..n).map(|r| m[r / 64] >> (r % 64) & 1 == 1).collect::<Vec<bool>>();
            let mut m = vec![0u64; n.div_ceil(64)];
            passing(c, t, &mut m);
            assert_eq!(bits(&m), want, "portable");
            assert!(want.iter().any(|&p| p) && !want.iter().all(|&p| p));
            for form in crate::rng::forms_found() {
                let mut got = vec![0u64; n.div_ceil(64)];
                #[allow(unsafe_code)]
                // SAFETY: each form is called only where its feature was detected.
                unsafe {
                    if form == "avx2" {
                        passing_avx2(c, t, &mut got);
                    } else {
                        passing_avx512(c, t, &mut got);
                    }
                }
                assert_eq!(got, m, "{form}");
            }
        }
    }
}
