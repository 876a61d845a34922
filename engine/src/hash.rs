//! `state_hash`: 64-bit FNV-1a (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`)
//! over, in this order: the ASCII tag `neuroflux-state-v1`; the step (the number of steps
//! run); the next node id and next edge id; the node count, then each node column in
//! ascending id order (id, kind, energy, subtype, fertility, growth class, gain class,
//! max out-degree, parent, binding, born step); the edge count, then each edge column
//! (id, src, dst, kind, weight, direction, gate, plastic learning rate, born step); then
//! the pending proposals (count; per entry: due step, source step, cull count and ids,
//! addition count and each addition's fields; then, only for an entry that has removals queued
//! from outside the model, their count and ids). Integers and floats are little-endian, floats
//! as their bit patterns. Written as 16 lowercase hex digits.

use crate::growth::Pending;
use crate::store::Store;

/// The 64-bit FNV-1a hasher.
#[derive(Debug, Clone, Copy)]
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    /// Feed bytes.
    #[inline]
    pub fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
    /// Feed a u64.
    pub fn u64(&mut self, x: u64) {
        self.write(&x.to_le_bytes());
    }
    /// The hash value.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

trait LeBytes: Copy {
    fn feed(self, h: &mut Fnv64);
}
macro_rules! le {
    ($($t:ty),*) => {$(impl LeBytes for $t { #[inline] fn feed(self, h: &mut Fnv64) { h.write(&self.to_le_bytes()); } })*};
}
le!(u8, u16, u32, u64);
impl LeBytes for f32 {
    #[inline]
    fn feed(self, h: &mut Fnv64) {
        h.write(&self.to_bits().to_le_bytes());
    }
}

fn column<T: LeBytes>(h: &mut Fnv64, c: &[T]) {
    for &x in c {
        x.feed(h);
    }
}

/// The state hash of a store after `step` steps with the given pending proposals.
pub fn state_hash(store: &Store, step: u64, pending: &Pending) -> String {
    let mut h = Fnv64::default();
    h.write(b"neuroflux-state-v1");
    h.u64(step);
    h.u64(store.next_node_id());
    h.u64(store.next_edge_id());
    let n = store.nodes();
    h.u64(n.len() as u64);
    column(&mut h, n.ids());
    column(&mut h, n.kinds());
    column(&mut h, n.energy());
    column(&mut h, n.subtypes());
    column(&mut h, n.fertility());
    column(&mut h, n.growth_classes());
    column(&mut h, n.gain_classes());
    column(&mut h, n.max_out_degree());
    column(&mut h, n.parents());
    column(&mut h, n.bindings());
    for x in n.born_steps() {
        h.u64(x);
    }
    // Tombstoned edge rows are not state: the live edges, as a compacted table holds them.
    let compacted = store.compacted();
    let e = compacted.edges();
    h.u64(e.rows() as u64);
    for x in e.ids() {
        h.u64(x);
    }
    let nodes = compacted.nodes();
    for x in e.src_ids(nodes) {
        h.u64(x);
    }
    for x in e.dst_ids(nodes) {
        h.u64(x);
    }
    for x in e.kinds() {
        x.feed(&mut h);
    }
    column(&mut h, e.weights());
    for x in e.directions() {
        x.feed(&mut h);
    }
    for x in e.gates().chain(e.plastic_lrs()) {
        x.feed(&mut h);
    }
    for x in e.born_steps() {
        h.u64(x);
    }
    h.u64(pending.len() as u64);
    for (due, p) in pending.entries() {
        h.u64(*due);
        h.u64(p.from_step);
        h.u64(p.culls.len() as u64);
        for c in &p.culls {
            h.u64(c.0);
        }
        h.u64(p.adds.len() as u64);
        for a in &p.adds {
            h.u64(a.src.0);
            h.u64(a.dst.0);
            a.kind.code().feed(&mut h);
            a.weight.feed(&mut h);
            a.direction.code().feed(&mut h);
            a.gate.feed(&mut h);
            a.plastic_lr.feed(&mut h);
        }
        if !p.removes.is_empty() {
            h.u64(p.removes.len() as u64);
            for r in &p.removes {
                h.u64(r.0);
            }
        }
    }
    format!("{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::Fnv64;

    #[test]
    fn fnv1a_reference_values() {
        let mut h = Fnv64::default();
        assert_eq!(h.finish(), 0xcbf2_9ce4_8422_2325);
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
        let mut h = Fnv64::default();
        h.write(b"foobar");
        assert_eq!(h.finish(), 0x8594_4171_f739_67e8);
    }
}
