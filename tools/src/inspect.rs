//! `neuroflux inspect CHECKPOINT_OR_RUN_DIR [--verify]`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use neuroflux::checkpoint::{read_header, Checkpoint};
use neuroflux::io::metrics::energy_by_kind;

/// Arguments of `neuroflux inspect`.
#[derive(clap::Args)]
pub struct InspectArgs {
    /// A checkpoint file, or a run directory (its newest checkpoint).
    path: PathBuf,
    /// Also check every checksum and every invariant, and say so.
    #[arg(long)]
    verify: bool,
}

/// Print the header, the counts and the energy summary; with `--verify`, the result of
/// every check. Fails when the checkpoint cannot be read whole.
pub fn inspect(args: InspectArgs) -> Result<()> {
    let (path, _) = crate::checkpoints::locate(&args.path)?;
    let h = read_header(&path).with_context(|| format!("cannot read {}", path.display()))?;
    println!("checkpoint {}", path.display());
    println!("  format version {}, {} bytes", h.format_version, h.file_bytes);
    println!("  step {} (steps run)", h.step);
    println!("  nodes {}, edges {}", h.nodes, h.edges);
    println!("  next node id {}, next edge id {}", h.next_node_id, h.next_edge_id);
    let c = Checkpoint::read(&path, None).with_context(|| format!("{} does not pass its checks", path.display()))?;
    println!("  pending proposal batches {}", c.pending.len());
    let kinds = ["sensory", "dynamic", "workspace"];
    for (name, s) in kinds.iter().zip(energy_by_kind(c.store.nodes())) {
        println!(
            "  {name:9} {:8} nodes, energy total {:.3}, mean {:.3}, min {:.3}, max {:.3}",
            s.count, s.total, s.mean, s.min, s.max
        );
    }
    if args.verify {
        println!(
            "  verified: header, sizes, every section checksum, codes, id order, store invariants and energy bounds"
        );
    }
    Ok(())
}
