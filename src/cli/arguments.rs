//! The command line as clap sees it. [`super::run`] turns it into work;
//! commands never see clap types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::plan::StepId;

#[derive(Debug, Parser)]
#[command(
    name = "replicate",
    version,
    about = "Copy a NetBox instance (PostgreSQL database and its folders of files) from a source to a target, declaratively.",
    long_about = None,
    propagate_version = true,
)]
pub struct Arguments {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct ManifestArg {
    /// The manifest [default: replicate.toml]
    #[arg(
        short = 'm',
        long = "manifest",
        value_name = "FILE",
        env = "REPLICATE_MANIFEST"
    )]
    pub given: Option<PathBuf>,
}

impl ManifestArg {
    /// The manifest named, or `replicate.toml`.
    pub fn path(&self) -> PathBuf {
        self.given
            .clone()
            .unwrap_or_else(|| PathBuf::from(crate::manifest::DEFAULT_MANIFEST))
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented manifest for the systems given (NetBox version, folders, change log)
    Init {
        #[command(flatten)]
        manifest: ManifestArg,
        /// The source database: postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE
        #[arg(long, value_name = "URL")]
        source: String,
        /// The target database (it need not exist yet)
        #[arg(long, value_name = "URL")]
        target: Option<String>,
        /// A NetBox install folder (e.g. /opt/netbox, ssh://netbox@nb1/opt/netbox,
        /// docker://netbox-docker-netbox-1/opt/netbox): first the source's, then the target's
        #[arg(long = "netbox-root", value_name = "DIR|URL")]
        netbox_root: Vec<String>,
        /// The SSH server the source database is reached through: ssh://[USER@]HOST[:PORT]
        #[arg(long = "source-tunnel", value_name = "URL")]
        source_tunnel: Option<String>,
        /// The SSH server the target database is reached through
        #[arg(long = "target-tunnel", value_name = "URL", requires = "target")]
        target_tunnel: Option<String>,
        /// An OpenSSH client configuration (`ssh -F`) for `ssh://` install folders and
        /// the tunnels, also written into the manifest as `[tools] ssh_config`
        #[arg(long = "ssh-config", value_name = "FILE")]
        ssh_config: Option<PathBuf>,
        /// The dump format the manifest names
        #[arg(long, value_name = "FORMAT", default_value = "directory",
              value_parser = ["directory", "custom", "plain", "stream"])]
        format: String,
        /// Overwrite the manifest if it exists
        #[arg(long)]
        force: bool,
    },
    /// Check the manifest and report every problem in it
    Validate {
        #[command(flatten)]
        manifest: ManifestArg,
    },
    /// Show the steps `apply` would run
    Plan {
        #[command(flatten)]
        manifest: ManifestArg,
        /// Save the plan as JSON, for `replicate apply PLAN`
        #[arg(long, value_name = "PLAN")]
        out: Option<PathBuf>,
        /// Print the plan as JSON instead of text
        #[arg(long)]
        json: bool,
        /// Plan from the manifest alone, without inspecting the source and target
        #[arg(long)]
        offline: bool,
        /// Exit 2 when there are steps to apply, 0 when there are none
        #[arg(long)]
        detailed_exitcode: bool,
        /// Show the commands each step runs
        #[arg(long, short = 'v')]
        verbose: bool,
    },
    /// Run the plan: dump, verify, build and check the replica, swap it in
    Apply {
        /// A plan file from `replicate plan --out`: run exactly it, without asking
        #[arg(value_name = "PLAN")]
        plan: Option<PathBuf>,
        #[command(flatten)]
        manifest: ManifestArg,
        /// Do not ask for confirmation
        #[arg(long)]
        auto_approve: bool,
        /// Run only these steps (comma-separated), using the artifacts already on disk
        #[arg(long, value_name = "ID,...", value_delimiter = ',')]
        steps: Option<Vec<StepId>>,
        /// Continue an interrupted run, keeping artifacts that still verify
        #[arg(long)]
        resume: bool,
        /// How many steps may run at once
        #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
        parallelism: u16,
        /// Print the plan and an event per step as JSON lines
        #[arg(long)]
        json: bool,
        /// Show the commands each step runs in the plan
        #[arg(long, short = 'v')]
        verbose: bool,
    },
    /// Swap the previous target back in (a second rollback undoes the first)
    Rollback {
        #[command(flatten)]
        manifest: ManifestArg,
        /// Do not ask for confirmation
        #[arg(long)]
        auto_approve: bool,
    },
    /// Remove the artifacts (dump, archives, sums, journal); refused while a run holds them
    Clean {
        #[command(flatten)]
        manifest: ManifestArg,
    },
    /// Check the artifacts against SHA256SUMS
    Verify {
        #[command(flatten)]
        manifest: ManifestArg,
        /// Also check every copied target folder (media, scripts, reports) against its checksums
        #[arg(long, alias = "folders")]
        media: bool,
        /// Also compare the live target database with what the dump holds
        #[arg(long)]
        target: bool,
    },
    /// Remove the lock a lost run left in an object store
    ForceUnlock {
        #[command(flatten)]
        manifest: ManifestArg,
        /// The lock's id, as the error naming the holder shows it
        #[arg(value_name = "LOCK_ID")]
        lock_id: String,
    },
    /// Print a saved plan
    Show {
        /// A plan file written by `replicate plan --out`
        #[arg(value_name = "PLAN")]
        plan: PathBuf,
        /// Print it as JSON
        #[arg(long)]
        json: bool,
        /// Show the commands each step runs
        #[arg(long, short = 'v')]
        verbose: bool,
    },
    /// Print the step graph
    Graph {
        #[command(flatten)]
        manifest: ManifestArg,
        /// Output format
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Print the manifest's JSON Schema
    Schema,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `replicate man > replicate.1`
    Man,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT
    Dot,
    /// Mermaid flowchart (renders on GitHub)
    Mermaid,
}
