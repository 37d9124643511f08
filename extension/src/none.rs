//! [`NoSettings`] and [`NoCommand`]: what an extension without settings or subcommands of its
//! own declares.

use clap::{ArgMatches, FromArgMatches};

/// No settings of the extension's own.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct NoSettings {}

/// No subcommands of the extension's own: a type with no values, which adds nothing to the
/// command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoCommand {}

impl FromArgMatches for NoCommand {
    fn from_arg_matches(_: &ArgMatches) -> Result<Self, clap::Error> {
        Err(clap::Error::new(clap::error::ErrorKind::InvalidSubcommand))
    }

    fn update_from_arg_matches(&mut self, _: &ArgMatches) -> Result<(), clap::Error> {
        match *self {}
    }
}

impl clap::Subcommand for NoCommand {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        cmd
    }

    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        cmd
    }

    fn has_subcommand(_: &str) -> bool {
        false
    }
}
