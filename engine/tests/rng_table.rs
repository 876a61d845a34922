//! Contract: the generator reproduces the project's committed table of words, uniforms and
//! noise values (`engine/testdata/rng-table.csv`), which the WGSL and HIP generators must
//! reproduce too. Regenerate only on purpose: `NEUROFLUX_WRITE_RNG_TABLE=1 cargo test --test rng_table`.

use neuroflux::rng::{noise_from_words, uniform, Rng, Stream};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/rng-table.csv");
const HEADER: &str = "seed,step,stream,entity,k,w0,w1,w2,w3,uniform_w0,uniform_w0_bits,noise_sigma_0_01_bits";

fn rows() -> Vec<String> {
    let streams =
        [Stream::BuildNode, Stream::BuildEdge, Stream::Noise, Stream::Spawn, Stream::Growth, Stream::ChildWiring];
    let mut out = Vec::new();
    for (i, &seed) in [0u64, 1, 0xDEAD_BEEF_0123_4567].iter().enumerate() {
        let rng = Rng::new(seed);
        for (j, &stream) in streams.iter().enumerate() {
            for &(step, entity, k) in
                &[(0u64, 0u64, 0u32), (1, 4097, 3), (123_456, (1 << 40) + 5, 7), (u64::from(u32::MAX), 99, u32::MAX)]
            {
                let step = step + (i * 7 + j) as u64;
                let w = rng.words(step, stream, entity, k);
                let u = uniform(w[0]);
                let z = noise_from_words(w, 0.01);
                out.push(format!(
                    "{seed},{step},{},{entity},{k},{:08x},{:08x},{:08x},{:08x},{u:?},{:08x},{:08x}",
                    stream as u16,
                    w[0],
                    w[1],
                    w[2],
                    w[3],
                    u.to_bits(),
                    z.to_bits()
                ));
            }
        }
    }
    out
}

#[test]
fn generator_reproduces_the_committed_table() {
    let text = format!("{HEADER}\n{}\n", rows().join("\n"));
    if std::env::var_os("NEUROFLUX_WRITE_RNG_TABLE").is_some() {
        std::fs::write(PATH, &text).expect("write the table");
    }
    let committed = std::fs::read_to_string(PATH).expect("the committed table should exist");
    assert_eq!(committed.lines().count(), 73, "header plus 72 rows");
    for (i, (want, got)) in committed.lines().zip(text.lines()).enumerate() {
        assert_eq!(want, got, "row {i} of {PATH}");
    }
}
