//! Secrets: values orch must use but never show (the database URL, the auth token, the alert
//! webhook URL, API keys). Each secret `NAME` can be given in the environment as `NAME`, or as a
//! file named by `NAME_FILE` — how Vault Agent and Kubernetes Secret volumes hand them over.
//!
//! [`read_secret`] is the one way orch reads a secret: it honours `NAME_FILE`, trims the file's
//! trailing newline, refuses both being set, and returns a [`Secret`], whose `Debug` and
//! `Display` print `****`. The value is reached only through [`Secret::expose`], so a secret in
//! a log line or an error message is a deliberate act that shows in review.
//!
//! This module reads the environment, which leaf modules must not: call it at the edge (the
//! binary's settings) and pass the [`Secret`] down, or hand a [`SecretSource`] to code that must
//! re-read a rotated file at the time of use.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

/// What a secret prints as, wherever it is formatted.
pub const REDACTED: &str = "****";

/// A secret value. Formatting it prints [`REDACTED`]; [`Secret::expose`] gives the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself: for the one place that must send it (a header, a query, a connection).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// A secret that cannot be read. Messages name the variables and the file, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{name} and {name}_FILE are both set; set one, not both")]
    BothSet { name: String },
    #[error("cannot read {name}_FILE {}: {source}", path.display())]
    Unreadable {
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}_FILE {} is empty", path.display())]
    EmptyFile { name: String, path: PathBuf },
    #[error("{name} is not valid UTF-8")]
    NotUnicode { name: String },
}

/// The secret `name` from the process environment: `name`, or the file named by `name_FILE`.
/// `Ok(None)` when neither is set (an empty variable counts as unset, as Helm renders absent
/// values).
pub fn read_secret(name: &str) -> Result<Option<Secret>, SecretError> {
    read_secret_with(name, |var| std::env::var_os(var))
}

/// [`read_secret`] over any environment: `lookup` answers a variable's value.
pub fn read_secret_with(
    name: &str,
    lookup: impl Fn(&str) -> Option<OsString>,
) -> Result<Option<Secret>, SecretError> {
    let value = match lookup(name).filter(|v| !v.is_empty()) {
        Some(v) => Some(v.into_string().map_err(|_| SecretError::NotUnicode {
            name: name.to_owned(),
        })?),
        None => None,
    };
    let file = lookup(&format!("{name}_FILE"))
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    resolve_secret(name, value, file.as_deref())
}

/// The secret `name` from a value and a file path already parsed (e.g. by clap with `env =
/// "NAME"` and `env = "NAME_FILE"`): the value, or the file's content without its trailing
/// newline; both is an error, neither is `Ok(None)`.
pub fn resolve_secret(
    name: &str,
    value: Option<String>,
    file: Option<&Path>,
) -> Result<Option<Secret>, SecretError> {
    match (value.filter(|v| !v.is_empty()), file) {
        (Some(_), Some(_)) => Err(SecretError::BothSet {
            name: name.to_owned(),
        }),
        (Some(value), None) => Ok(Some(Secret(value))),
        (None, Some(path)) => read_file(name, path).map(Some),
        (None, None) => Ok(None),
    }
}

fn read_file(name: &str, path: &Path) -> Result<Secret, SecretError> {
    let text = std::fs::read(path)
        .map_err(|source| SecretError::Unreadable {
            name: name.to_owned(),
            path: path.to_owned(),
            source,
        })
        .and_then(|bytes| {
            String::from_utf8(bytes).map_err(|_| SecretError::NotUnicode {
                name: format!("{name}_FILE {}", path.display()),
            })
        })?;
    // `echo value > file` and Kubernetes Secrets made from such files end with a newline that
    // is not part of the secret.
    let value = text.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        return Err(SecretError::EmptyFile {
            name: name.to_owned(),
            path: path.to_owned(),
        });
    }
    Ok(Secret(value.to_owned()))
}

/// Where a secret comes from, for code that reads it at the time of use (so a file Vault Agent
/// rotates is read afresh by each run) without reading the environment itself.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// `NAME` or `NAME_FILE` in the process environment, read by [`read_secret`] on each use.
    Env(String),
    /// A value given in code (tests, or a secret resolved at start-up).
    Fixed(Option<Secret>),
}

impl SecretSource {
    pub fn env(name: &str) -> Self {
        Self::Env(name.to_owned())
    }

    /// The secret now.
    pub fn read(&self) -> Result<Option<Secret>, SecretError> {
        match self {
            Self::Env(name) => read_secret(name),
            Self::Fixed(secret) => Ok(secret.clone()),
        }
    }

    /// The variable a user sets, for messages ("set OPENWEATHER_API_KEY or …").
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Env(name) => Some(name),
            Self::Fixed(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn file_with(content: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), content).unwrap();
        file
    }

    #[test]
    fn value_from_the_variable() {
        let s = read_secret_with("API_KEY", env(&[("API_KEY", "k1")])).unwrap();
        assert_eq!(s.unwrap().expose(), "k1");
        assert!(read_secret_with("API_KEY", env(&[])).unwrap().is_none());
        // An empty variable is unset (Helm renders absent values as "").
        let empty = env(&[("API_KEY", ""), ("API_KEY_FILE", "")]);
        assert!(read_secret_with("API_KEY", empty).unwrap().is_none());
    }

    #[test]
    fn value_from_the_file_without_its_trailing_newline() {
        let file = file_with("s3cr3t\n");
        let path = file.path().to_str().unwrap();
        let s = read_secret_with("API_KEY", env(&[("API_KEY_FILE", path)])).unwrap();
        assert_eq!(s.unwrap().expose(), "s3cr3t");
        let crlf = file_with("a b\r\n");
        let path = crlf.path().to_str().unwrap();
        let s = read_secret_with("API_KEY", env(&[("API_KEY_FILE", path)])).unwrap();
        assert_eq!(s.unwrap().expose(), "a b", "inner spaces are kept");
    }

    #[test]
    fn both_set_is_refused_naming_the_variables() {
        let file = file_with("x");
        let path = file.path().to_str().unwrap();
        let e =
            read_secret_with("TOKEN", env(&[("TOKEN", "y"), ("TOKEN_FILE", path)])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "TOKEN and TOKEN_FILE are both set; set one, not both"
        );
    }

    #[test]
    fn unreadable_or_empty_file_is_a_clear_error() {
        let e =
            read_secret_with("TOKEN", env(&[("TOKEN_FILE", "/nonexistent/token")])).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("cannot read TOKEN_FILE /nonexistent/token: "),
            "{text}"
        );
        let empty = file_with("\n");
        let path = empty.path().to_str().unwrap();
        let e = read_secret_with("TOKEN", env(&[("TOKEN_FILE", path)])).unwrap_err();
        assert_eq!(e.to_string(), format!("TOKEN_FILE {path} is empty"));
    }

    #[test]
    fn a_secret_never_formats_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "****");
        assert_eq!(format!("{s:?}"), "Secret(****)");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(Secret(****))");
        let source = SecretSource::Fixed(Some(s));
        assert!(!format!("{source:?}").contains("hunter2"));
    }
}
