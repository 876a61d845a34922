//! `neuroflux inspect CHECKPOINT_OR_RUN_DIR [--verify]`.

use std::io::Write;
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
    let mut text = format!("checkpoint {}\n", path.display());
    text += &format!("  format version {}, {} bytes\n", h.format_version, h.file_bytes);
    text += &format!("  step {} (steps run)\n", h.step);
    text += &format!("  nodes {}, edges {}\n", h.nodes, h.edges);
    text += &format!("  next node id {}, next edge id {}\n", h.next_node_id, h.next_edge_id);
    // The header is shown even when the rest does not pass its checks.
    let full = Checkpoint::read(&path, None);
    if let Ok(c) = &full {
        text += &format!("  pending proposal batches {}\n", c.pending.len());
        let kinds = ["sensory", "dynamic", "workspace"];
        for (name, s) in kinds.iter().zip(energy_by_kind(c.store.nodes())) {
            text += &format!(
                "  {name:9} {:8} nodes, energy total {:.3}, mean {:.3}, min {:.3}, max {:.3}\n",
                s.count, s.total, s.mean, s.min, s.max
            );
        }
        if args.verify {
            text += "  verified: header, sizes, every section checksum, codes, id order, store invariants and energy bounds\n";
        }
    }
    // A closed pipe (`| head`) is not an error of the inspection.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    full.with_context(|| format!("{} does not pass its checks", path.display()))?;
    Ok(())
}
