use super::*;

/// A made-up other endpoint per edge row (any function of the row will do).
fn other(key: &[u32]) -> Vec<u32> {
    (0..key.len() as u32).map(|e| e * 7 + 3).collect()
}

/// Pseudo-random numbers below `m` from `seed` (a linear congruential generator).
fn lcg(seed: u32) -> impl FnMut(u32) -> u32 {
    let mut x = seed;
    move |m| {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        (x >> 8) % m
    }
}

/// Where `c` holds other endpoints, they are those of its items.
fn ends_match(c: &Csr, key: &[u32]) -> bool {
    let o = other(key);
    (0..c.n_nodes()).all(|n| c.ends(n).is_none_or(|t| t.iter().zip(c.row(n)).all(|(&t, &e)| t == o[e as usize])))
}

#[test]
fn appending_and_removing_match_a_rebuild() {
    // Pseudo-random keys; append in several batches, with new node rows on the way.
    let mut next = lcg(12345);
    let mut key: Vec<u32> = (0..200).map(|_| next(50)).collect();
    for room in [false, true] {
        let mut c = Csr::default();
        if room {
            c.rebuild_live_with_room(50, &key, &other(&key), &[], None);
        } else {
            c.rebuild(50, &key);
        }
        let mut n = 50;
        for batch in [0usize, 1, 7, 30, 90] {
            n += batch / 3;
            let first = key.len();
            for _ in 0..batch {
                key.push(next(n as u32));
            }
            c.append(n, &key, &other(&key), first, &[], None);
            let want = Csr::build(n, &key);
            assert!(c.same_groups(&want), "groups after a batch of {batch} (room {room})");
            // A view edited after a packed build holds no endpoints until asked to.
            assert_eq!(c.ends(0).is_some(), room || batch > 0, "endpoints after a batch of {batch}");
            c.hold_ends(&other(&key));
            assert!(c.ends(0).is_some() && ends_match(&c, &key), "targets after a batch of {batch}");
            assert_eq!(c.count(), key.len());
        }
        assert!(c.holes > 0, "full groups moved");
        // Rows marked dead (one appended after), removed from the groups: the same as a
        // rebuild that leaves the marked rows out.
        let first = key.len();
        for _ in 0..40 {
            key.push(next(n as u32));
        }
        let mut dead = vec![0u64; key.len().div_ceil(64)];
        let marked: Vec<u32> = (0..key.len() as u32).filter(|e| e % 7 == 3 || *e == first as u32 + 5).collect();
        for &e in &marked {
            dead[e as usize / 64] |= 1 << (e % 64);
        }
        assert!(c.remove_rows(marked.iter().rev().copied().filter(|&e| (e as usize) < first), &key));
        c.append(n, &key, &other(&key), first, &dead, None);
        let want = Csr::build_live(n, &key, &dead);
        assert!(c.same_groups(&want), "groups after removals and appends (room {room})");
        assert!(ends_match(&c, &key), "targets after removals and appends (room {room})");
        assert_eq!(c.packed(), want.packed());
        assert_eq!(c.count(), want.count());
        // A row not in the view is refused.
        assert!(!c.remove_rows([marked[0]], &key));
        key.truncate(200);
    }
}

/// Where `c` holds side values, they are those of `q` and `f` for its items.
fn side_matches(c: &Csr, q: &[f32], f: &[u8]) -> bool {
    (0..c.n_nodes()).all(|n| {
        c.side(n).is_some_and(|(qs, fs)| {
            c.row(n).iter().zip(qs.iter().zip(fs)).all(|(&e, (&x, &y))| x == q[e as usize] && y == f[e as usize])
        })
    })
}

/// Side values of `len` edge rows (any function of the row will do).
fn side_of(len: usize) -> (Vec<f32>, Vec<u8>) {
    ((0..len).map(|e| e as f32 * 0.5 + 1.0).collect(), (0..len).map(|e| (e % 251) as u8).collect())
}

#[test]
fn side_values_follow_every_edit_and_a_compaction() {
    side_values_follow(true);
    // A view told not to hold the targets holds the side values alone, kept the same way.
    side_values_follow(false);
}

fn side_values_follow(targets: bool) {
    let mut next = lcg(4242);
    let n = 200usize;
    let mut key: Vec<u32> = (0..6000).map(|_| next(n as u32)).collect();
    let (q, f) = side_of(key.len());
    // Only a view that holds the other endpoints takes side values.
    let mut packed = Csr::build(n, &key);
    packed.hold_side(Side { q: &q, flags: &f });
    assert!(!packed.has_side() && packed.side(0).is_none());
    let mut c = Csr::default();
    c.set_targets(targets);
    c.rebuild_live_with_room(n, &key, &other(&key), &[], Some(Side { q: &q, flags: &f }));
    assert!(c.has_side() && side_matches(&c, &q, &f), "side values of a rebuild");
    assert_eq!(c.ends(0).is_some(), targets, "targets of a rebuild");
    // Removals, and appends that move full groups, given the values: kept.
    let first = key.len();
    key.extend((0..3000).map(|_| next(n as u32)));
    let (q, f) = side_of(key.len());
    let gone: Vec<u32> = (0..first as u32).filter(|e| e % 5 == 2).collect();
    assert!(c.remove_rows(gone.iter().copied(), &key));
    let mut dead = vec![0u64; key.len().div_ceil(64)];
    for &e in &gone {
        dead[e as usize / 64] |= 1 << (e % 64);
    }
    c.append(n, &key, &other(&key), first, &dead, Some(Side { q: &q, flags: &f }));
    assert!(c.holes > 0, "full groups moved");
    assert!(c.same_groups(&Csr::build_live(n, &key, &dead)), "groups after the edits");
    assert!(side_matches(&c, &q, &f), "side values after the edits");
    c.hold_ends(&other(&key));
    assert_eq!(c.ends(0).is_some(), targets, "targets asked for after the edits");
    assert!(!targets || ends_match(&c, &key));
    // Carried over a compaction of the removed rows: each edge keeps its values.
    assert!(c.carry_over(&Renumber::new(&gone, key.len())));
    let keep = |e: &usize| gone.binary_search(&(*e as u32)).is_err();
    let mut kept: Vec<u32> = (0..key.len()).filter(keep).map(|e| key[e]).collect();
    let mut kq: Vec<f32> = (0..key.len()).filter(keep).map(|e| q[e]).collect();
    let mut kf: Vec<u8> = (0..key.len()).filter(keep).map(|e| f[e]).collect();
    assert!(c.same_groups(&Csr::build(n, &kept)), "groups after the carry");
    assert!(side_matches(&c, &kq, &kf), "side values after the carry");
    // An append without the values drops them; they can be gathered again.
    let first = kept.len();
    kept.push(7);
    kq.push(9.0);
    kf.push(3);
    c.append(n, &kept, &other(&kept), first, &[], None);
    assert!(!c.has_side() && c.side(7).is_none());
    c.hold_side(Side { q: &kq, flags: &kf });
    assert!(c.has_side() && side_matches(&c, &kq, &kf), "side values gathered again");
    c.drop_side();
    assert!(!c.has_side());
    // Told to hold them again, a view without them gathers the targets when next asked.
    if !targets {
        c.set_targets(true);
        c.hold_ends(&other(&kept));
        assert!(c.ends(0).is_some() && ends_match(&c, &kept), "targets gathered again");
    }
}

#[test]
fn a_view_carried_over_a_compaction_matches_a_rebuild() {
    // Keys over 300 node rows, a view with room; rows removed (some before the view was
    // last complete, so still in it) and compacted away, rows appended before and after.
    let mut next = lcg(777);
    let n = 300;
    let mut key: Vec<u32> = (0..20_000).map(|_| next(n)).collect();
    // Endpoints that are a function of the row's key, as node rows are: a compaction
    // renumbers the edge rows, not the nodes.
    let ends_of = |key: &[u32]| key.iter().map(|&k| k * 3 + 1).collect::<Vec<u32>>();
    let mut c = Csr::default();
    c.rebuild_live_with_room(n as usize, &key, &ends_of(&key), &[], None);
    // Appended after the view was complete, and rows removed in both parts.
    let seen = key.len();
    key.extend((0..500).map(|_| next(n)));
    let removed: Vec<u32> = (0..key.len() as u32).filter(|e| e % 13 == 5 || *e == seen as u32 + 2).collect();
    let ren = Renumber::new(&removed, key.len());
    assert!(c.carry_over(&ren));
    let mut kept: Vec<u32> =
        key.iter().enumerate().filter(|(e, _)| removed.binary_search(&(*e as u32)).is_err()).map(|(_, &k)| k).collect();
    let first = seen - removed.partition_point(|&r| (r as usize) < seen);
    kept.extend((0..300).map(|_| next(n)));
    c.append(n as usize, &kept, &ends_of(&kept), first, &[], None);
    assert!(c.same_groups(&Csr::build(n as usize, &kept)), "groups after the carry");
    let ends = ends_of(&kept);
    assert!(
        (0..n as usize)
            .all(|m| c.ends(m).is_some_and(|t| t.iter().zip(c.row(m)).all(|(&t, &e)| t == ends[e as usize]))),
        "endpoints after the carry"
    );
    assert_eq!(c.count(), kept.len());
    // A row the compaction did not know is refused.
    let mut d = Csr::default();
    d.rebuild_live_with_room(n as usize, &key, &ends_of(&key), &[], None);
    assert!(!d.carry_over(&Renumber::new(&[5, 17], 100)));
    // A packed view is left for a rebuild.
    assert!(!Csr::build(n as usize, &key).carry_over(&ren));
}

#[test]
fn groups_are_stable_and_complete() {
    let key = [2, 0, 2, 1, 0];
    let c = Csr::build(4, &key);
    assert_eq!(c.row(0), &[1, 4]);
    assert_eq!(c.row(1), &[3]);
    assert_eq!(c.row(2), &[0, 2]);
    assert_eq!(c.row(3), &[] as &[u32]);
    assert_eq!(c.degree(2), 2);
    // Packed: one offset per node row (plus one), and the items.
    assert_eq!(c.resident_bytes(), (5 + 5) * 4);
    let mut roomy = Csr::default();
    roomy.rebuild_live_with_room(4, &key, &other(&key), &[], None);
    assert!(roomy.same_groups(&c) && roomy.resident_bytes() > c.resident_bytes());
    // The first edit spells the bounds out; the groups stay the same.
    let mut edited = c.clone();
    assert!(edited.remove_rows([3], &key));
    assert_eq!(edited.row(1), &[] as &[u32]);
    assert_eq!((edited.row(0), edited.row(2), edited.n_nodes()), (&[1, 4][..], &[0, 2][..], 4));
    assert_eq!((c.ends(0), edited.ends(2)), (None, None));
    // Built to be edited: the same groups, bounds spelt out (three per node row), no
    // endpoints.
    let spelt = Csr::build_live_to_edit(4, &key, &[]);
    assert!(spelt.same_groups(&c) && !spelt.is_packed() && spelt.ends(0).is_none());
    assert_eq!(spelt.resident_bytes(), (3 * 4 + 5) * 4);
    edited.hold_ends(&other(&key));
    assert_eq!(edited.ends(2), Some(&[3, 17][..]));
}
