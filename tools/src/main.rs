//! The `neuroflux` command-line tool.

mod bench;
mod checkpoints;
mod execute;
mod inspect;
mod outputs;
mod run;
mod sweep;
mod util;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "neuroflux", version, about = "Energy-based neural simulation on large, changing graphs")]
struct Cli {
    /// Log format on standard error.
    #[arg(long, global = true, value_enum, default_value_t = util::LogFormat::Human)]
    log_format: util::LogFormat,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a simulation from a configuration file.
    #[command(
        after_help = "Examples:\n  neuroflux run sim-configs/default.toml\n  neuroflux run sim-configs/small.toml --steps 500 --out runs/try1 --threads 2\n  neuroflux run sim-configs/default.toml --out runs/long --checkpoint-every 100 --keep-last 2\n  neuroflux run --resume runs/long --steps 5000"
    )]
    Run(run::RunArgs),
    /// Print a checkpoint's header, counts and energy summary; --verify checks it all.
    #[command(
        after_help = "Examples:\n  neuroflux inspect runs/long\n  neuroflux inspect runs/long/checkpoints/step-000000000400.safetensors --verify"
    )]
    Inspect(inspect::InspectArgs),
    /// Check a configuration and report every problem at once.
    #[command(after_help = "Example:\n  neuroflux validate sim-configs/default.toml")]
    Validate {
        /// The configuration (TOML).
        config: PathBuf,
    },
    /// Run every combination of a sweep file's parameter values and seeds.
    #[command(
        after_help = "Examples:\n  neuroflux sweep sim-configs/sweeps/example.toml\n  neuroflux sweep sim-configs/sweeps/example.toml --out runs/my-sweep --threads 2\n\nRe-running a sweep skips the points already complete; sweep.csv has one row per point."
    )]
    Sweep(sweep::SweepArgs),
    /// Time the standard workloads (docs/BENCHMARKS.md).
    #[command(
        after_help = "Examples:\n  neuroflux bench --workload dense-100k --threads 2\n  neuroflux bench --workload seed-medium"
    )]
    Bench(bench::BenchArgs),
}

fn main() {
    let cli = Cli::parse();
    util::init_logging(cli.log_format);
    let r: Result<()> = match cli.cmd {
        Cmd::Run(a) => run::run(a),
        Cmd::Validate { config } => run::validate(&config),
        Cmd::Sweep(a) => sweep::sweep(a),
        Cmd::Bench(a) => bench::bench(a),
        Cmd::Inspect(a) => inspect::inspect(a),
    };
    if let Err(e) = r {
        if e.is::<execute::Interrupted>() {
            // 128 + SIGINT, the shell's convention for a run stopped by Ctrl-C.
            std::process::exit(130);
        }
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
