//! Object stores: a local directory and an S3 bucket behind
//! [`orchestrator::definitions::ObjectStore`].

mod local;
mod s3;

pub use local::LocalStore;
pub use s3::{S3Settings, S3Store};
