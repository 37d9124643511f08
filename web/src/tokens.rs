//! Named tokens with roles: the tokens file (`ORCH_AUTH_TOKENS_FILE`), TOML of `[[tokens]]`
//! tables with `name`, `role` (`viewer`, `operator`, `admin`) and `sha256`, the hex SHA-256 of
//! the token. The file never holds a token itself, so it can sit in a Secret or a Vault path
//! readable by more than those who hold the tokens.
//!
//! [`TokensFile`] re-reads the file when its modification time or size changes (checked on use,
//! at most once a second) and when asked ([`TokensFile::reload`], on SIGHUP), so tokens rotate
//! without a restart. A file that became malformed is refused with a logged error naming the
//! line, and the tokens read last stay in force; a file that is malformed at start stops the
//! server.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::{Duration, Instant, SystemTime};

use ring::digest;
use serde::Deserialize;

use crate::roles::{Identity, Role};

/// The hex SHA-256 of `token` (what `orch auth hash-token` prints), after trimming whitespace
/// around it, as the server does with the tokens it is given.
pub fn hash_token(token: &str) -> String {
    hex(digest::digest(&digest::SHA256, token.trim().as_bytes()).as_ref())
}

/// One token: its name, role and hash (32 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    name: String,
    role: Role,
    sha256: [u8; 32],
}

/// Why a tokens file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TokensFileError {
    #[error("cannot read the tokens file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the tokens file {path} is malformed: {message}")]
    Malformed { path: PathBuf, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    tokens: Vec<toml::Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    name: toml::Spanned<String>,
    role: toml::Spanned<String>,
    sha256: toml::Spanned<String>,
}

/// The line (1-based) of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |before| before.matches('\n').count())
        + 1
}

/// Whether `name` is a good token name: what runs record as `launched_by`.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
}

/// Parses the file's text; an error names the line.
fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let at = e
            .span()
            .map(|s| format!("line {}: ", line_of(text, s.start)))
            .unwrap_or_default();
        format!("{at}{}", e.message().trim())
    })?;
    let mut names = HashSet::new();
    let mut entries = Vec::with_capacity(raw.tokens.len());
    for table in raw.tokens {
        let entry = table.get_ref();
        let at = |span: std::ops::Range<usize>| format!("line {}", line_of(text, span.start));
        let name = entry.name.get_ref();
        if !valid_name(name) {
            return Err(format!(
                "{}: token name `{name}` must be 1 to 64 letters, digits, `-` or `_`",
                at(entry.name.span())
            ));
        }
        if !names.insert(name.clone()) {
            return Err(format!(
                "{}: a second token named `{name}`",
                at(entry.name.span())
            ));
        }
        let role = entry
            .role
            .get_ref()
            .parse::<Role>()
            .map_err(|e| format!("{}: {e}", at(entry.role.span())))?;
        let sha256 = unhex32(entry.sha256.get_ref()).ok_or_else(|| {
            format!(
                "{}: sha256 of `{name}` must be 64 hex digits (`orch auth hash-token` prints it)",
                at(entry.sha256.span())
            )
        })?;
        entries.push(Entry {
            name: name.clone(),
            role,
            sha256,
        });
    }
    Ok(entries)
}

/// What identifies a version of the file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
}

fn stamp(path: &Path) -> Option<Stamp> {
    std::fs::metadata(path).ok().map(|m| Stamp {
        modified: m.modified().ok(),
        len: m.len(),
    })
}

struct Loaded {
    entries: Vec<Entry>,
    stamp: Option<Stamp>,
    checked: Instant,
}

/// The tokens file in force (see the module doc).
pub struct TokensFile {
    path: PathBuf,
    loaded: RwLock<Loaded>,
}

impl std::fmt::Debug for TokensFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokensFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// How often, at most, a request looks at the file's modification time.
const CHECK_EVERY: Duration = Duration::from_secs(1);

impl TokensFile {
    /// Reads `path`; a missing or malformed file is an error.
    pub fn open(path: &Path) -> Result<Self, TokensFileError> {
        let (entries, stamp) = read(path)?;
        Ok(Self {
            path: path.to_owned(),
            loaded: RwLock::new(Loaded {
                entries,
                stamp,
                checked: Instant::now(),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-reads the file now. On an error the tokens read last stay in force.
    pub fn reload(&self) -> Result<usize, TokensFileError> {
        let (entries, stamp) = read(&self.path)?;
        let count = entries.len();
        let mut loaded = self.loaded.write().unwrap_or_else(|p| p.into_inner());
        *loaded = Loaded {
            entries,
            stamp,
            checked: Instant::now(),
        };
        Ok(count)
    }

    /// Re-reads the file if it changed since it was read (looked at once a second at most).
    fn refresh(&self) {
        {
            let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
            if loaded.checked.elapsed() < CHECK_EVERY {
                return;
            }
        }
        let now = stamp(&self.path);
        let mut loaded = self.loaded.write().unwrap_or_else(|p| p.into_inner());
        loaded.checked = Instant::now();
        if now == loaded.stamp {
            return;
        }
        match read(&self.path) {
            Ok((entries, stamp)) => {
                tracing::info!(path = %self.path.display(), tokens = entries.len(),
                    "the tokens file changed and was read again");
                loaded.entries = entries;
                loaded.stamp = stamp;
            }
            Err(e) => {
                // Remember the bad version, so the error is logged once, not per request.
                loaded.stamp = now;
                tracing::error!(error = %e, "the tokens file changed but cannot be used; \
                    the tokens read before stay in force");
            }
        }
    }

    /// The identity whose hash is `given`'s, if any (every entry is compared, in constant time).
    pub fn authenticate(&self, given: &str) -> Option<Identity> {
        self.refresh();
        let hash = digest::digest(&digest::SHA256, given.trim().as_bytes());
        let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        let mut found = None;
        for entry in &loaded.entries {
            if constant_eq(&entry.sha256, hash.as_ref()) {
                found = Some(Identity {
                    name: entry.name.clone(),
                    role: entry.role,
                });
            }
        }
        found
    }

    /// The identity named `name` now (a session's owner: gone or demoted after a rotation).
    pub fn named(&self, name: &str) -> Option<Identity> {
        self.refresh();
        let loaded = self.loaded.read().unwrap_or_else(|p| p.into_inner());
        loaded
            .entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| Identity {
                name: e.name.clone(),
                role: e.role,
            })
    }
}

fn read(path: &Path) -> Result<(Vec<Entry>, Option<Stamp>), TokensFileError> {
    let before = stamp(path);
    let text = std::fs::read_to_string(path).map_err(|source| TokensFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    let entries = parse(&text).map_err(|message| TokensFileError::Malformed {
        path: path.to_owned(),
        message,
    })?;
    Ok((entries, before))
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex32(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(entries: &[(&str, &str, &str)]) -> String {
        entries
            .iter()
            .map(|(name, role, token)| {
                format!(
                    "[[tokens]]\nname = \"{name}\"\nrole = \"{role}\"\nsha256 = \"{}\"\n",
                    hash_token(token)
                )
            })
            .collect()
    }

    #[test]
    fn the_hash_is_sha256_hex() {
        // echo -n abc | sha256sum
        assert_eq!(
            hash_token("abc\n"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn malformed_files_are_refused_naming_the_line() {
        let good = file(&[("ci", "operator", "t1")]);
        let cases = [
            (
                "[[tokens]]\nname = \"a\"\nrole = \"root\"\nsha256 = \"00\"\n",
                "line 3: unknown role `root`",
            ),
            (
                "[[tokens]]\nname = \"a\"\nrole = \"viewer\"\nsha256 = \"00\"\n",
                "line 4: sha256 of `a` must be 64 hex digits",
            ),
            ("[[tokens]]\nname = \"a b\"\nrole = \"viewer\"\n", "line 1"),
            ("\n\n[[tokens]\n", "line 3"),
            (
                "[[tokens]]\nname = \"a\"\nrole = \"viewer\"\nsha256 = \"00\"\ntoken = \"x\"\n",
                "line 5",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        let dup = format!("{good}{good}");
        assert!(
            parse(&dup)
                .unwrap_err()
                .starts_with("line 6: a second token named `ci`"),
            "{}",
            parse(&dup).unwrap_err()
        );
        assert_eq!(parse(&good).unwrap().len(), 1);
        assert!(parse("").unwrap().is_empty());
    }

    #[test]
    fn tokens_are_recognised_by_hash_and_rotate_when_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.toml");
        std::fs::write(
            &path,
            file(&[("ci", "operator", "t1"), ("bob", "viewer", "t2")]),
        )
        .unwrap();
        let tokens = TokensFile::open(&path).unwrap();
        assert_eq!(tokens.authenticate(" t1\n").unwrap().role, Role::Operator);
        assert_eq!(tokens.authenticate("t2").unwrap().name, "bob");
        assert_eq!(tokens.authenticate("t3"), None);

        std::fs::write(&path, file(&[("ci", "admin", "t3")])).unwrap();
        assert_eq!(tokens.reload().unwrap(), 1);
        assert_eq!(tokens.authenticate("t1"), None);
        assert_eq!(tokens.named("ci").unwrap().role, Role::Admin);
        assert_eq!(tokens.named("bob"), None);

        // A broken version is refused; the tokens read before stay.
        std::fs::write(&path, "[[tokens]]\nname = 1\n").unwrap();
        assert!(matches!(
            tokens.reload(),
            Err(TokensFileError::Malformed { .. })
        ));
        assert_eq!(tokens.authenticate("t3").unwrap().name, "ci");
    }
}
