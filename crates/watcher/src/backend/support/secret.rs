//! Secrets (BMC passwords and the like): read from files at fence time, scrubbed from messages.
//!
//! A secret file must be a regular file that neither its group nor other users can access (mode
//! 0600 or 0400: readable leaks it, writable lets them swap it), owned by root or the daemon's
//! user (the protocol's one rule, [`Trusted::SecretFile`]: any other owner could rewrite it). It
//! is checked when a backend is built (start, reload, `--check-config`) and read fresh for every
//! fence (so a rotated password is picked up without a restart), one trailing newline is removed,
//! and the value must be a single line (it goes into a `key=value` line on a child's stdin or
//! into an environment variable, never into argv). [`Secret`] never prints its value.

use std::fmt;
use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use gfs2_fence_protocol::{Trusted, Untrusted};

/// Largest secret file accepted.
const MAX_SECRET: u64 = 4096;

/// A secret value. `Debug` shows `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why a secret file cannot be used. The message never contains the secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{key} {path}: cannot read: {source}")]
    Io {
        key: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{key} {path} is not a regular file")]
    NotFile { key: String, path: PathBuf },
    #[error("{key} {path} (owner uid {owner}) is world-readable or world-writable (mode {mode:04o}); run: chmod 0600 {path}")]
    WorldReadable {
        key: String,
        path: PathBuf,
        owner: u32,
        mode: u32,
    },
    #[error("{key} {path} (owner uid {owner}) is readable or writable by its group (mode {mode:04o}); run: chmod 0600 {path}")]
    GroupReadable {
        key: String,
        path: PathBuf,
        owner: u32,
        mode: u32,
    },
    #[error("{key} {path} (mode {mode:04o}) is owned by uid {owner}, not by {}; chown it: run: chown root {path}", trusted_owners(*.me))]
    ForeignOwner {
        key: String,
        path: PathBuf,
        owner: u32,
        mode: u32,
        me: u32,
    },
    #[error("{key} {path} is larger than {MAX_SECRET} bytes")]
    TooLarge { key: String, path: PathBuf },
    #[error("{key} {path} is empty")]
    Empty { key: String, path: PathBuf },
    #[error("{key} {path} holds more than one line, a NUL byte or invalid UTF-8")]
    NotOneLine { key: String, path: PathBuf },
}

/// Who may own a secret file, for a message: root, and the daemon's user `me`.
fn trusted_owners(me: u32) -> String {
    match me {
        0 => "root".to_owned(),
        me => format!("root or uid {me} (the daemon's user)"),
    }
}

impl SecretError {
    /// The protocol's refusal, in this module's words (which tests and operators rely on).
    fn untrusted(key: String, untrusted: Untrusted) -> SecretError {
        match untrusted {
            Untrusted::WorldAccessible { path, owner, mode }
            | Untrusted::WorldWritable { path, owner, mode } => SecretError::WorldReadable {
                key,
                path,
                owner,
                mode,
            },
            Untrusted::GroupAccessible { path, owner, mode } => SecretError::GroupReadable {
                key,
                path,
                owner,
                mode,
            },
            Untrusted::ForeignOwner {
                path,
                owner,
                mode,
                me,
            } => SecretError::ForeignOwner {
                key,
                path,
                owner,
                mode,
                me,
            },
        }
    }
}

/// Reads the secret of setting `key` (named in errors) from `path`.
pub fn read_secret(key: &str, path: &Path) -> Result<Secret, SecretError> {
    let io = |source| SecretError::Io {
        key: key.to_owned(),
        path: path.to_owned(),
        source,
    };
    // O_NONBLOCK: a FIFO put in place of the file must not hang the daemon.
    let nonblock = rustix::fs::OFlags::NONBLOCK.bits() as i32;
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(nonblock)
        .open(path)
        .map_err(io)?;
    // Check the opened file, not the path, so a swap between check and read is harmless.
    let meta = file.metadata().map_err(io)?;
    let (key, path) = (key.to_owned(), path.to_owned());
    if !meta.is_file() {
        return Err(SecretError::NotFile { key, path });
    }
    if let Err(untrusted) = Trusted::SecretFile.check(&path, meta.uid(), meta.mode()) {
        return Err(SecretError::untrusted(key, untrusted));
    }
    let mut raw = Vec::new();
    let read = file.by_ref().take(MAX_SECRET + 1).read_to_end(&mut raw);
    read.map_err(|source| SecretError::Io {
        key: key.clone(),
        path: path.clone(),
        source,
    })?;
    if raw.len() as u64 > MAX_SECRET {
        return Err(SecretError::TooLarge { key, path });
    }
    let text = String::from_utf8(raw).map_err(|_| SecretError::NotOneLine {
        key: key.clone(),
        path: path.clone(),
    })?;
    let value = text.strip_suffix('\n').unwrap_or(&text);
    let value = value.strip_suffix('\r').unwrap_or(value);
    if value.is_empty() {
        return Err(SecretError::Empty { key, path });
    }
    if value.contains(['\n', '\r', '\0']) {
        return Err(SecretError::NotOneLine { key, path });
    }
    Ok(Secret(value.to_owned()))
}

/// Replaces every form of every secret in `text` with `***`, then every `Basic`/`Bearer`
/// credential, whoever's it is. A BMC or an agent may echo what we sent it in any encoding
/// (issue 11, #2: a 500 body quoting `Authorization: Basic ...`), so the literal alone is not
/// enough: see [`forms`].
pub fn scrub(text: &str, secrets: &[Secret]) -> String {
    let mut all: Vec<String> = secrets.iter().flat_map(|s| forms(&s.0)).collect();
    // Longest first, so that a form containing another is replaced whole.
    all.sort_by_key(|f| std::cmp::Reverse(f.len()));
    all.dedup();
    let mut out = text.to_owned();
    for form in all {
        if out.contains(&form) {
            out = out.replace(&form, "***");
        }
    }
    scrub_auth_tokens(&out)
}

impl Secret {
    /// The `user:password` pair of HTTP basic authentication, a secret of its own: its base64
    /// is what crosses the wire, and what a BMC echoes.
    pub fn credentials(user: &str, password: &Secret) -> Secret {
        Secret(format!("{user}:{}", password.0))
    }
}

/// The forms in which `secret` can come back: literal, JSON-escaped, percent- and
/// form-encoded, HTML-escaped, and base64 (standard and URL-safe, with and without padding) of
/// the secret and of `:secret` (a password after an empty or unknown user).
fn forms(secret: &str) -> Vec<String> {
    if secret.is_empty() {
        return Vec::new();
    }
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or(secret)
        .to_owned();
    let mut out = vec![
        secret.to_owned(),
        json.replace('/', "\\/"),
        json,
        percent(secret, false),
        percent(secret, false).to_lowercase(),
        percent(secret, true),
        html(secret),
    ];
    for raw in [secret.to_owned(), format!(":{secret}")] {
        for url_safe in [false, true] {
            let b64 = base64(raw.as_bytes(), url_safe);
            out.push(b64.trim_end_matches('=').to_owned());
            out.push(b64);
        }
    }
    out.retain(|f| !f.is_empty());
    out
}

/// Percent-encoding of every byte but the unreserved ones; `form`: space as `+`.
fn percent(text: &str, form: bool) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' if form => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Base64 (RFC 4648), standard or URL-safe alphabet, padded.
fn base64(bytes: &[u8], url_safe: bool) -> String {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let alphabet = |i: u32| {
        let c = STD[(i & 63) as usize];
        match (url_safe, c) {
            (true, b'+') => '-',
            (true, b'/') => '_',
            (_, c) => c as char,
        }
    };
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(alphabet(n >> (18 - 6 * i)));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Replaces the credential after every `Basic` or `Bearer` (any case, then spaces): a token
/// in a body is someone's secret even when it is not one we hold.
fn scrub_auth_tokens(text: &str) -> String {
    let token_char = |c: char| c.is_ascii_alphanumeric() || "+/=-._~".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((at, scheme)) = next_scheme(rest) {
        let after = &rest[at + scheme..];
        let spaces = after.len() - after.trim_start_matches([' ', '\t']).len();
        let token = after[spaces..]
            .find(|c: char| !token_char(c))
            .unwrap_or(after.len() - spaces);
        out.push_str(&rest[..at + scheme + spaces]);
        if spaces > 0 && token > 0 {
            out.push_str("***");
        } else {
            out.push_str(&after[spaces..spaces + token]);
        }
        rest = &after[spaces + token..];
    }
    out.push_str(rest);
    out
}

/// The first `basic` or `bearer` (ASCII case-insensitive) that starts a word: (offset, length).
fn next_scheme(text: &str) -> Option<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    let mut best: Option<(usize, usize)> = None;
    for scheme in ["basic", "bearer"] {
        let mut from = 0;
        while let Some(i) = lower[from..].find(scheme).map(|i| i + from) {
            let word_start = lower[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_ascii_alphanumeric());
            if word_start {
                if best.is_none_or(|(b, _)| i < b) {
                    best = Some((i, scheme.len()));
                }
                break;
            }
            from = i + scheme.len();
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn file(dir: &Path, name: &str, body: &str, mode: u32) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, body).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        p
    }

    #[test]
    fn reads_one_line_and_refuses_bad_files() {
        let d = tempfile::tempdir().expect("tempdir");
        let ok = file(d.path(), "ok", "s3cret\n", 0o600);
        assert_eq!(
            read_secret("password", &ok).expect("read").expose(),
            "s3cret"
        );
        let world = file(d.path(), "w", "s3cret\n", 0o644);
        let e = read_secret("password_file", &world)
            .expect_err("world")
            .to_string();
        assert!(
            e.contains("world-readable or world-writable (mode 0644)") && !e.contains("s3cret"),
            "{e}"
        );
        // Writable by others is refused too: they could swap in a password of their choosing.
        let writable = file(d.path(), "ww", "s3cret\n", 0o602);
        assert!(matches!(
            read_secret("k", &writable),
            Err(SecretError::WorldReadable { mode: 0o602, .. })
        ));
        let two = file(d.path(), "two", "a\nb\n", 0o600);
        assert!(matches!(
            read_secret("k", &two),
            Err(SecretError::NotOneLine { .. })
        ));
        let empty = file(d.path(), "e", "\n", 0o600);
        assert!(matches!(
            read_secret("k", &empty),
            Err(SecretError::Empty { .. })
        ));
        assert!(matches!(
            read_secret("k", d.path()),
            Err(SecretError::NotFile { .. })
        ));
        assert!(matches!(
            read_secret("k", &d.path().join("none")),
            Err(SecretError::Io { .. })
        ));
    }

    /// Regression (issue 12): SECURITY.md says "mode 0600 or 0400", but a secret its group
    /// could read or write was accepted.
    #[test]
    fn a_secret_its_group_can_read_is_refused() {
        let d = tempfile::tempdir().expect("tempdir");
        for mode in [0o640, 0o660, 0o620] {
            let p = file(d.path(), &format!("g{mode:o}"), "s3cret\n", mode);
            let e = read_secret("password_file", &p).expect_err("group bits");
            assert!(matches!(e, SecretError::GroupReadable { .. }), "{e:?}");
            let msg = e.to_string();
            let want = format!("(mode {mode:04o}); run: chmod 0600 {}", p.display());
            assert!(msg.contains(&want) && !msg.contains("s3cret"), "{msg}");
        }
        let ro = file(d.path(), "ro", "s3cret\n", 0o400);
        assert_eq!(read_secret("k", &ro).expect("0400").expose(), "s3cret");
    }

    #[test]
    fn a_secret_owned_by_another_user_is_refused() {
        let root = system_tests::peers::root();
        if !system_tests::peers::require("a_secret_owned_by_another_user_is_refused", &[root]) {
            return;
        }
        let d = tempfile::tempdir().expect("tempdir");
        let theirs = file(d.path(), "theirs", "s3cret\n", 0o600);
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).expect("chown");
        let e = read_secret("password_file", &theirs).expect_err("foreign owner");
        assert!(
            matches!(
                e,
                SecretError::ForeignOwner {
                    owner: 65534,
                    me: 0,
                    ..
                }
            ),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("owned by uid 65534, not by root; chown it")
                && msg.contains("password_file")
                && !msg.contains("s3cret"),
            "{msg}"
        );
        // Root's own file is trusted, as it is for any daemon user.
        std::os::unix::fs::chown(&theirs, Some(0), Some(0)).expect("chown");
        assert_eq!(
            read_secret("k", &theirs).expect("root-owned").expose(),
            "s3cret"
        );
    }

    /// Regression (issue 11, #2): "The BMC password leaks through error bodies": every form
    /// a BMC or an agent can echo is scrubbed, not only the literal.
    #[test]
    fn the_bmc_password_leaks_through_error_bodies() {
        let pw = Secret("p&ss w/rd\"é".into());
        let pair = Secret::credentials("fence", &pw);
        let secrets = [pw.clone(), pair.clone()];
        let b64 = |t: &str, u| base64(t.as_bytes(), u);
        let echoes = [
            pw.0.clone(),
            b64("fence:p&ss w/rd\"é", false),
            b64(":p&ss w/rd\"é", false),
            b64("fence:p&ss w/rd\"é", true)
                .trim_end_matches('=')
                .to_owned(),
            "p%26ss%20w%2Frd%22%C3%A9".to_owned(),
            "p%26ss%20w%2frd%22%c3%a9".to_owned(),
            "p%26ss+w%2Frd%22%C3%A9".to_owned(),
            "p&ss w/rd\\\"é".to_owned(),
            "p&ss w\\/rd\\\"é".to_owned(),
            "p&amp;ss w/rd&quot;é".to_owned(),
        ];
        for echo in echoes {
            let body = format!("{{\"echo\": \"{echo}\"}}");
            let out = scrub(&body, &secrets);
            assert!(
                !out.contains(&echo) && out.contains("***"),
                "{echo} -> {out}"
            );
        }
        // Any Basic or Bearer credential, ours or not, in any case.
        let out = scrub(
            "Authorization: Basic ZmVuY2U6eHl6\r\nx: bearer abc.def-ghi_j~k+l/m= end basically",
            &[],
        );
        assert_eq!(
            out,
            "Authorization: Basic ***\r\nx: bearer *** end basically"
        );
        assert_eq!(base64(b"fence:pw", false), "ZmVuY2U6cHc=");
        assert_eq!(base64(b"\xfb\xff", true), "-_8=");
    }

    #[test]
    fn scrubs_and_redacts() {
        let s = Secret("pw1".into());
        assert_eq!(
            scrub("bad pw1 and pw1", std::slice::from_ref(&s)),
            "bad *** and ***"
        );
        assert_eq!(format!("{s:?}"), "[redacted]");
    }
}
