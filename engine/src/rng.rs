//! The counter-based generator every random draw of the model comes from (MODEL.md section 3).
//!
//! Philox4x32-10 (Random123), keyed by the run's `seed`, with `(step, stream, entity, k)`
//! packed into the 128-bit counter. Every operation is on 32-bit words; the one 32x32->64
//! product per multiply is exact, and [`mulhilo_limbs`] shows the 16-bit-limb form that a
//! WGSL kernel (which has no 64-bit integers) must use to get the same bits.
//!
//! Guarantees: a draw depends only on the seed and its counter, never on thread scheduling,
//! iteration order, thread count or backend. The counter packing is fixed:
//!
//! | word | content |
//! |---|---|
//! | `c0` | `k`, the draw number of this entity at this step |
//! | `c1` | entity id, low 32 bits |
//! | `c2` | entity id bits 32..48 in the low 16 bits, `stream` in the high 16 bits |
//! | `c3` | step, low 32 bits |
//!
//! The key is `(seed low 32 bits, seed high 32 bits)`.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

/// `2^-24`, the scale of a 24-bit uniform.
const TWO_POW_M24: f32 = 1.0 / 16_777_216.0;
/// `sqrt(3)`, so that the sum of four uniforms minus 2 has unit variance after scaling.
pub const SQRT3: f32 = 1.732_050_8;

/// The uses of randomness; each has its own counter space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Stream {
    /// Attributes of initial nodes (step 0).
    BuildNode = 1,
    /// Targets and attributes of initial edges (step 0).
    BuildEdge = 2,
    /// Per-node noise of phase 5.4.
    Noise = 3,
    /// Attributes of children born in phase 5.6.
    Spawn = 4,
    /// Growth proposals (section 6.1), and the attributes of proposed edges.
    Growth = 5,
    /// Weight of the parent->child edge (phase 5.6).
    ChildWiring = 6,
    /// Injected worker faults (`[faults]`, a testing aid; never part of the model).
    Faults = 7,
    /// Pixel values of the `noise` input pattern (entity = pixel index).
    InputNoise = 8,
}

/// Philox4x32 with `rounds` rounds on one counter and key.
#[inline]
pub fn philox4x32(rounds: u32, ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = ctr;
    let mut k = key;
    for r in 0..rounds {
        if r > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        let (hi0, lo0) = mulhilo(M0, c[0]);
        let (hi1, lo1) = mulhilo(M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// The high and low 32-bit words of the exact product `a * b`.
#[inline(always)]
pub fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = u64::from(a) * u64::from(b);
    ((p >> 32) as u32, p as u32)
}

/// [`mulhilo`] computed with 16-bit limbs and 32-bit arithmetic only: the form the WGSL
/// kernels use. A test checks that both agree.
pub fn mulhilo_limbs(a: u32, b: u32) -> (u32, u32) {
    let (a_lo, a_hi) = (a & 0xFFFF, a >> 16);
    let (b_lo, b_hi) = (b & 0xFFFF, b >> 16);
    let ll = a_lo * b_lo;
    let lh = a_lo * b_hi;
    let hl = a_hi * b_lo;
    let hh = a_hi * b_hi;
    let mid = (ll >> 16) + (lh & 0xFFFF) + (hl & 0xFFFF);
    let lo = (ll & 0xFFFF) | (mid << 16);
    let hi = hh + (lh >> 16) + (hl >> 16) + (mid >> 16);
    (hi, lo)
}

/// The seeded generator: the key schedule of its seed plus the fixed counter packing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rng {
    /// The round keys of Philox4x32-10 (the key bumped by the Weyl constants each round).
    round_keys: [[u32; 2]; 10],
}

impl Rng {
    /// The generator for one run's `seed`.
    pub fn new(seed: u64) -> Self {
        let mut k = [seed as u32, (seed >> 32) as u32];
        let mut round_keys = [[0; 2]; 10];
        for rk in &mut round_keys {
            *rk = k;
            k = [k[0].wrapping_add(W0), k[1].wrapping_add(W1)];
        }
        Self { round_keys }
    }

    /// The packed counter of one draw (see the module docs).
    #[inline]
    pub fn counter(step: u64, stream: Stream, entity: u64, k: u32) -> [u32; 4] {
        [k, entity as u32, ((entity >> 32) as u32 & 0xFFFF) | ((stream as u32) << 16), step as u32]
    }

    /// Four 32-bit words for `(step, stream, entity, k)`: Philox4x32-10 with the round keys
    /// precomputed and the rounds unrolled (the same function as [`philox4x32`]`(10, ..)`).
    #[inline]
    pub fn words(&self, step: u64, stream: Stream, entity: u64, k: u32) -> [u32; 4] {
        let mut c = Self::counter(step, stream, entity, k);
        macro_rules! round {
            ($r:expr) => {{
                let rk = self.round_keys[$r];
                let (hi0, lo0) = mulhilo(M0, c[0]);
                let (hi1, lo1) = mulhilo(M1, c[2]);
                c = [hi1 ^ c[1] ^ rk[0], lo1, hi0 ^ c[3] ^ rk[1], lo0];
            }};
        }
        round!(0);
        round!(1);
        round!(2);
        round!(3);
        round!(4);
        round!(5);
        round!(6);
        round!(7);
        round!(8);
        round!(9);
        c
    }

    /// The noise value of one dynamic node at one step (MODEL.md section 3).
    #[inline]
    pub fn noise(&self, step: u64, node: u64, sigma: f32) -> f32 {
        noise_from_words(self.words(step, Stream::Noise, node, 0), sigma)
    }

    /// [`Rng::words`] for [`LANES`] entities at once: word `w` of entity `l` is
    /// `out[w][l]`. The same bits as one call per entity, computed lane by lane so that the
    /// compiler can use vector multiplies (with AVX2 or AVX-512 where the processor has them).
    #[inline]
    pub fn words_lanes(&self, step: u64, stream: Stream, entities: &[u64; LANES], k: u32) -> [[u32; LANES]; 4] {
        lanes_fast(&self.round_keys, step, stream, entities, k)
    }

    /// [`noise_from_words`] of the call-0 words of each of [`LANES`] entities: the same bits
    /// as one draw each, the words and the noise computed in one vectorised piece.
    #[inline]
    pub fn noise_lanes(&self, step: u64, stream: Stream, entities: &[u64; LANES], sigma: f32) -> [f32; LANES] {
        noise_fast(&self.round_keys, step, stream, entities, sigma)
    }
}

/// Function `$body` compiled for AVX-512F (`$avx512`) and for AVX2 (`$avx2`), and `$fast`,
/// which calls the first of those the processor has, else `$body` itself: the same bits
/// from each, only the speed differs.
///
/// Only what is inlined into `$body` takes the features: its loops must be plain loops or
/// `#[inline(always)]` functions and methods. A closure, `std::array::from_fn` or an
/// iterator adapter's `fold` that the compiler leaves out of line runs without them, as
/// slowly as the portable form or slower (found with `objdump` on the compiled forms: look
/// for `call`).
macro_rules! vector_forms {
    ($fast:ident, $body:ident, $avx512:ident, $avx2:ident, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f")]
        fn $avx512($($arg: $ty),*) -> $ret {
            $body($($arg),*)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn $avx2($($arg: $ty),*) -> $ret {
            $body($($arg),*)
        }

        #[inline]
        fn $fast($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx512f") {
                    #[allow(unsafe_code)]
                    // SAFETY: this form only needs AVX-512F, which was detected just above.
                    return unsafe { $avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    #[allow(unsafe_code)]
                    // SAFETY: this form only needs AVX2, which was detected just above.
                    return unsafe { $avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}
pub(crate) use vector_forms;

/// The forms of [`vector_forms!`] this processor can run, by feature name: what the tests
/// compare with the portable form.
#[cfg(test)]
pub(crate) fn forms_found() -> Vec<&'static str> {
    let mut found = Vec::new();
    #[cfg(target_arch = "x86_64")]
    for (name, ok) in [
        ("avx2", std::arch::is_x86_feature_detected!("avx2")),
        ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
    ] {
        if ok {
            found.push(name);
        }
    }
    found
}

/// Random words for tests (xorshift), the same on every run from `seed` (not zero).
#[cfg(test)]
pub(crate) fn test_words(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

vector_forms!(lanes_fast, lanes, lanes_avx512, lanes_avx2,
    (keys: &[[u32; 2]; 10], step: u64, stream: Stream, ent: &[u64; LANES], k: u32) -> [[u32; LANES]; 4]);
vector_forms!(noise_fast, noise_of, noise_avx512, noise_avx2,
    (keys: &[[u32; 2]; 10], step: u64, stream: Stream, ent: &[u64; LANES], sigma: f32) -> [f32; LANES]);

/// See [`Rng::noise_lanes`].
#[inline(always)]
fn noise_of(keys: &[[u32; 2]; 10], step: u64, stream: Stream, ent: &[u64; LANES], sigma: f32) -> [f32; LANES] {
    let w = lanes(keys, step, stream, ent, 0);
    // A plain loop, not `std::array::from_fn` (see [`vector_forms!`]).
    let mut z = [0.0f32; LANES];
    for (l, z) in z.iter_mut().enumerate() {
        *z = noise_from_words([w[0][l], w[1][l], w[2][l], w[3][l]], sigma);
    }
    z
}

/// Entities per call of [`Rng::words_lanes`].
pub const LANES: usize = 32;

/// Philox4x32-10 on [`LANES`] counters, each 32-bit word of a lane in the low half of a
/// 64-bit word: each multiply is then one 32x32->64 product that the vector units make in
/// place (the high word of the product shifted down, the low word left where it is), with
/// nothing to pack or unpack between rounds. The high halves hold what is left there (the
/// product's high word, or that word's exclusive-or with a key); no round reads them, as a
/// product takes only the low halves of its factors and the words come out as the low halves.
#[inline(always)]
fn lanes(keys: &[[u32; 2]; 10], step: u64, stream: Stream, ent: &[u64; LANES], k: u32) -> [[u32; LANES]; 4] {
    const LOW: u64 = 0xFFFF_FFFF;
    let high = u64::from(stream as u32) << 16;
    let mut c0 = [u64::from(k); LANES];
    let mut c1 = [0u64; LANES];
    let mut c2 = [0u64; LANES];
    let mut c3 = [u64::from(step as u32); LANES];
    for l in 0..LANES {
        c1[l] = ent[l] & LOW;
        c2[l] = ((ent[l] >> 32) & 0xFFFF) | high;
    }
    for rk in keys {
        let (k0, k1) = (u64::from(rk[0]), u64::from(rk[1]));
        for l in 0..LANES {
            let p0 = (c0[l] & LOW) * u64::from(M0);
            let p1 = (c2[l] & LOW) * u64::from(M1);
            let (x1, x3) = (c1[l], c3[l]);
            c0[l] = (p1 >> 32) ^ x1 ^ k0;
            c1[l] = p1;
            c2[l] = (p0 >> 32) ^ x3 ^ k1;
            c3[l] = p0;
        }
    }
    // A plain loop, not `std::array::from_fn` (see [`vector_forms!`]).
    let mut out = [[0u32; LANES]; 4];
    for (o, c) in out.iter_mut().zip([&c0, &c1, &c2, &c3]) {
        for l in 0..LANES {
            o[l] = c[l] as u32;
        }
    }
    out
}

/// A uniform float in `[0, 1)`: the top 24 bits of `x` times `2^-24`.
#[inline(always)]
pub fn uniform(x: u32) -> f32 {
    (x >> 8) as f32 * TWO_POW_M24
}

/// A uniform float in `[lo, hi)`: `lo + (hi - lo) * u`.
#[inline(always)]
pub fn uniform_range(x: u32, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * uniform(x)
}

/// A uniform integer in `0..n` (`n >= 1`): the high word of `x * n` (no rejection; the bias is
/// below `n / 2^32`).
#[inline(always)]
pub fn below(x: u32, n: u32) -> u32 {
    mulhilo(x, n).0
}

/// A uniform integer in `lo..=hi`.
#[inline(always)]
pub fn between(x: u32, lo: u32, hi: u32) -> u32 {
    lo + below(x, hi - lo + 1)
}

/// An index drawn with probability proportional to `weights` (which sum to about 1):
/// the first index whose running sum exceeds `uniform(x)`; the last positive one otherwise.
pub fn pick_weighted(x: u32, weights: &[f32]) -> usize {
    let u = uniform(x);
    let mut acc = 0.0f32;
    let mut last = 0;
    for (i, &w) in weights.iter().enumerate() {
        if w > 0.0 {
            acc += w;
            last = i;
            if u < acc {
                return i;
            }
        }
    }
    last
}

/// Noise from four words: `sigma * 1.7320508 * (u1 + u2 + u3 + u4 - 2)`, summed in that order.
#[inline(always)]
pub fn noise_from_words(w: [u32; 4], sigma: f32) -> f32 {
    let s = uniform(w[0]) + uniform(w[1]) + uniform(w[2]) + uniform(w[3]) - 2.0;
    sigma * SQRT3 * s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random123 `tests/kat_vectors`, the three `philox4x32 10` lines.
    const KAT: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
        ([0, 0, 0, 0], [0, 0], [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]),
        ([u32::MAX; 4], [u32::MAX; 2], [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]),
        (
            [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
            [0xa409_3822, 0x299f_31d0],
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1],
        ),
    ];

    #[test]
    fn published_vectors() {
        for (ctr, key, want) in KAT {
            assert_eq!(philox4x32(10, ctr, key), want, "counter {ctr:08x?} key {key:08x?}");
        }
    }

    #[test]
    fn limb_product_matches_wide_product() {
        let mut x = 0x1234_5678u32;
        for _ in 0..100_000 {
            let w = philox4x32(10, [x, 1, 2, 3], [4, 5]);
            assert_eq!(mulhilo(w[0], w[1]), mulhilo_limbs(w[0], w[1]));
            x = w[2];
        }
        assert_eq!(mulhilo_limbs(u32::MAX, u32::MAX), mulhilo(u32::MAX, u32::MAX));
    }

    #[test]
    fn uniform_bounds_and_noise_bounds() {
        assert_eq!(uniform(0), 0.0);
        assert!(uniform(u32::MAX) < 1.0);
        let bound = 0.01 * SQRT3 * 2.0;
        for w in [[0; 4], [u32::MAX; 4]] {
            assert!(noise_from_words(w, 0.01).abs() <= bound);
        }
        assert_eq!(below(u32::MAX, 10), 9);
        assert_eq!(between(0, 5, 25), 5);
        assert_eq!(between(u32::MAX, 5, 25), 25);
    }

    #[test]
    fn unrolled_generator_matches_the_reference_rounds() {
        for seed in [0u64, 1, u64::MAX, 0x0123_4567_89AB_CDEF] {
            let rng = Rng::new(seed);
            for (i, stream) in [Stream::Noise, Stream::Growth, Stream::BuildEdge].into_iter().enumerate() {
                let (step, entity, k) = (i as u64 * 977 + seed % 13, seed ^ 0xFFFF_FFFF, i as u32);
                let want = philox4x32(10, Rng::counter(step, stream, entity, k), [seed as u32, (seed >> 32) as u32]);
                assert_eq!(rng.words(step, stream, entity, k), want);
            }
        }
    }

    #[test]
    fn lanes_match_one_call_per_entity() {
        let rng = Rng::new(0x0123_4567_89AB_CDEF);
        let mut ent = [0u64; LANES];
        for (l, e) in ent.iter_mut().enumerate() {
            *e = (l as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (l % 17);
        }
        for (step, stream, k) in [(0u64, Stream::Noise, 0u32), (u64::MAX, Stream::Growth, 7), (123, Stream::Spawn, 1)] {
            let got = rng.words_lanes(step, stream, &ent, k);
            let portable = lanes(&rng.round_keys, step, stream, &ent, k);
            assert_eq!(got, portable);
            for (l, &e) in ent.iter().enumerate() {
                let want = rng.words(step, stream, e, k);
                assert_eq!([got[0][l], got[1][l], got[2][l], got[3][l]], want, "lane {l}");
            }
            let noise = rng.noise_lanes(step, stream, &ent, 0.25);
            assert_eq!(noise, noise_of(&rng.round_keys, step, stream, &ent, 0.25));
            // The AVX2 forms too, which a processor with AVX-512 never dispatches to.
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                #[allow(unsafe_code)]
                // SAFETY: both only need AVX2, which was detected just above.
                let (w2, n2) = unsafe {
                    (
                        lanes_avx2(&rng.round_keys, step, stream, &ent, k),
                        noise_avx2(&rng.round_keys, step, stream, &ent, 0.25),
                    )
                };
                assert_eq!((w2, n2), (portable, noise));
            }
            for (l, &e) in ent.iter().enumerate() {
                let want = noise_from_words(rng.words(step, stream, e, 0), 0.25);
                assert_eq!(noise[l].to_bits(), want.to_bits(), "noise lane {l}");
            }
        }
    }

    #[test]
    fn counter_packing_is_fixed() {
        let c = Rng::counter(0x1_0000_0007, Stream::Growth, 0x0000_ABCD_1234_5678, 9);
        assert_eq!(c, [9, 0x1234_5678, 0xABCD | (5 << 16), 7]);
    }

    #[test]
    fn weighted_pick_skips_zero_weights() {
        assert_eq!(pick_weighted(0, &[0.0, 1.0, 0.0]), 1);
        assert_eq!(pick_weighted(u32::MAX, &[0.5, 0.5, 0.0]), 1);
    }
}
