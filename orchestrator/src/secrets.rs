//! Secrets from the environment: `NAME`, or the file `NAME_FILE` names (a Vault Agent or
//! Kubernetes Secret mount). Read once by the binary at its edge and passed down as a
//! [`Secret`], whose `Debug` never shows the value, so it cannot reach a log by accident.

use std::fmt;
use std::path::{Path, PathBuf};

/// A secret value. `Debug` prints `Secret([redacted])`; only [`Secret::expose`] shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that must use it (an HTTP request, a comparison).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Why a secret could not be read. No variant carries the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("set {name} or {name}_FILE, not both")]
    Both { name: String },
    #[error("cannot read {name}_FILE {}: {source}", path.display())]
    Unreadable {
        name: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{name}_FILE {} is empty", path.display())]
    EmptyFile { name: String, path: PathBuf },
}

/// Reads `name` from the environment, or from the file `<name>_FILE` names (trailing newline
/// trimmed). Neither set (or `name` set empty): `None`.
pub fn read_secret(name: &str) -> Result<Option<Secret>, SecretError> {
    let value = std::env::var(name).ok();
    let file = std::env::var_os(format!("{name}_FILE")).map(PathBuf::from);
    secret_from(name, value, file.as_deref())
}

/// [`read_secret`] on given values instead of the environment.
pub fn secret_from(
    name: &str,
    value: Option<String>,
    file: Option<&Path>,
) -> Result<Option<Secret>, SecretError> {
    let value = value.filter(|v| !v.is_empty());
    let file = file.filter(|f| !f.as_os_str().is_empty());
    match (value, file) {
        (Some(_), Some(_)) => Err(SecretError::Both {
            name: name.to_owned(),
        }),
        (Some(value), None) => Ok(Some(Secret(value))),
        (None, Some(path)) => {
            let raw = std::fs::read_to_string(path).map_err(|source| SecretError::Unreadable {
                name: name.to_owned(),
                path: path.to_owned(),
                source,
            })?;
            let trimmed = raw.trim_end_matches(['\n', '\r']);
            if trimmed.is_empty() {
                return Err(SecretError::EmptyFile {
                    name: name.to_owned(),
                    path: path.to_owned(),
                });
            }
            Ok(Some(Secret(trimmed.to_owned())))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_comes_from_the_variable_or_the_file_never_both() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        let from_file = secret_from("X", None, Some(&path)).unwrap().unwrap();
        assert_eq!(from_file.expose(), "s3cret");
        let from_var = secret_from("X", Some("v".into()), None).unwrap().unwrap();
        assert_eq!(from_var.expose(), "v");
        assert!(
            secret_from("X", Some(String::new()), None)
                .unwrap()
                .is_none()
        );
        let both = secret_from("X", Some("v".into()), Some(&path)).unwrap_err();
        assert_eq!(both.to_string(), "set X or X_FILE, not both");
        let missing = secret_from("X", None, Some(&dir.path().join("nope"))).unwrap_err();
        assert!(
            missing.to_string().starts_with("cannot read X_FILE "),
            "{missing}"
        );
        std::fs::write(&path, "\n").unwrap();
        let empty = secret_from("X", None, Some(&path)).unwrap_err();
        assert!(empty.to_string().ends_with("is empty"), "{empty}");
    }

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("https://hooks.example/T000/B000/XXXX");
        assert_eq!(format!("{secret:?}"), "Secret([redacted])");
    }
}
