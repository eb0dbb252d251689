//! An archive interrupted between its link and its unlink (`archive.rs`): a crash there leaves
//! the record in the response directory and in the archive as two links of one file. nnf-sos
//! still reads it as fenced, while [`SpoolDir::read`] refuses a hard-linked file, so the agent's
//! `status` would say ON for a node the storage keeps out. [`SpoolDir::interrupted_archive`]
//! recognises exactly that case (two links, the other one in the archive) so that the ledger
//! reads the record as nnf-sos does, and [`SpoolDir::finish_archive`] lets the unfencing finish
//! the move it had decided.

use std::ffi::OsStr;

use rustix::fs::{AtFlags, FileType};

use super::read::read_capped;
use super::{SpoolDir, SpoolError};
use crate::ReadError;

/// A record left in both directories by an interrupted archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupted {
    /// Its name in the archive (the other link).
    pub kept_as: String,
    /// Its content.
    pub bytes: Vec<u8>,
}

impl SpoolDir {
    /// `name` here, when it is a regular file of exactly two links whose other link is an entry
    /// of `archive`: that entry's name and the content (at most `cap` bytes). `Ok(None)` for any
    /// other file (one link, a link elsewhere, too large, gone): [`SpoolDir::read`] says why.
    pub fn interrupted_archive(
        &self,
        name: &str,
        archive: &SpoolDir,
        cap: u64,
    ) -> Result<Option<Interrupted>, SpoolError> {
        let (fd, me, path) = match self.open_regular(OsStr::new(name)) {
            Ok(opened) => opened,
            Err(ReadError::NotFound { .. } | ReadError::Symlink { .. })
            | Err(ReadError::NotRegular { .. }) => return Ok(None),
            Err(e) => return Err(SpoolError::Read(e)),
        };
        if me.st_nlink != 2 {
            return Ok(None);
        }
        let Some(kept_as) = twin(archive, &me)? else {
            return Ok(None);
        };
        let bytes = match read_capped(fd, &me, cap, path) {
            Ok(bytes) => bytes,
            Err(ReadError::TooLarge { .. }) => return Ok(None),
            Err(e) => return Err(SpoolError::Read(e)),
        };
        Ok(Some(Interrupted { kept_as, bytes }))
    }

    /// Finishes an interrupted archive of `name`: unlinks it here (the archive holds it) and
    /// fsyncs this directory, as the archive's last steps (DESIGN U2). `Ok(false)`: it was gone.
    pub fn finish_archive(&self, name: &str) -> Result<bool, SpoolError> {
        if !self.remove(name)? {
            return Ok(false);
        }
        self.sync()?;
        Ok(true)
    }
}

/// The name of the regular file of `dir` that is the same file as `me` (device and inode).
fn twin(dir: &SpoolDir, me: &rustix::fs::Stat) -> Result<Option<String>, SpoolError> {
    for raw in dir.entries()? {
        let Ok(st) = rustix::fs::statat(&dir.fd, raw.as_os_str(), AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        let regular = FileType::from_raw_mode(st.st_mode) == FileType::RegularFile;
        if regular && st.st_dev == me.st_dev && st.st_ino == me.st_ino {
            return Ok(raw.to_str().map(str::to_owned));
        }
    }
    Ok(None)
}
