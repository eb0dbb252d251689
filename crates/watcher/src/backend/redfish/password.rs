//! The BMC password: read once from `password_file` (never argv, never the configuration), held
//! in a type whose `Debug` does not show it, and refused when the file is readable by others.

use std::fmt;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::error::BuildError;

/// Longest accepted password file: a password is a line, not a document.
const MAX_PASSWORD_FILE: u64 = 4096;

/// A password that never prints.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces the password in `text` (BMC error texts are echoed into messages).
    pub fn redact(&self, text: &str) -> String {
        if self.0.is_empty() {
            text.to_owned()
        } else {
            text.replace(&self.0, "***")
        }
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Reads the first line of `path`. The file must be a regular file that others cannot read
/// (mode `o-rwx`), since a world-readable BMC password is a leaked BMC password.
pub fn read_password_file(path: &Path) -> Result<Password, BuildError> {
    let err = |reason: String| BuildError::PasswordFile {
        path: path.to_owned(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let meta = file.metadata().map_err(|e| err(e.to_string()))?;
    if !meta.is_file() {
        return Err(err("not a regular file".into()));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o007 != 0 {
        return Err(err(format!(
            "mode {mode:04o} lets every user access it: chmod o-rwx it"
        )));
    }
    if meta.len() > MAX_PASSWORD_FILE {
        return Err(err(format!("larger than {MAX_PASSWORD_FILE} bytes")));
    }
    let mut text = String::new();
    file.take(MAX_PASSWORD_FILE)
        .read_to_string(&mut text)
        .map_err(|e| err(e.to_string()))?;
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(err("the first line is empty".into()));
    }
    Ok(Password(line.to_owned()))
}
