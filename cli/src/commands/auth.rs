//! `orch auth hash-token`: reads a token on stdin (one line; whitespace around it is ignored, as
//! the server ignores it) and prints its hex SHA-256, what `ORCH_AUTH_TOKENS_FILE` holds as
//! `sha256`. The token never appears on a command line or in the file.

use std::io::Read;
use std::process::ExitCode;

use crate::error::CliError;

/// Most a token may be: anything longer is not a token pasted or piped by mistake.
const MAX_TOKEN: u64 = 4096;

pub fn hash_token() -> Result<ExitCode, CliError> {
    let mut token = String::new();
    std::io::stdin()
        .take(MAX_TOKEN + 1)
        .read_to_string(&mut token)
        .map_err(|e| CliError::config(format!("cannot read the token on stdin: {e}")))?;
    if token.len() as u64 > MAX_TOKEN {
        return Err(CliError::config(format!(
            "the token on stdin is longer than {MAX_TOKEN} bytes"
        )));
    }
    if token.trim().is_empty() {
        return Err(CliError::config(
            "no token on stdin; e.g. `printf %s \"$TOKEN\" | orch auth hash-token`",
        ));
    }
    println!("{}", web::tokens::hash_token(&token));
    Ok(ExitCode::SUCCESS)
}
