//! Safe, bounded reads of spool files that another process (maybe an attacker) wrote.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use std::os::fd::OwnedFd;

use rustix::fs::{FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use super::{io_err, SpoolDir};

/// Why a spool file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path} does not exist")]
    NotFound { path: PathBuf },
    #[error("{path} is a symbolic link; spool files must be regular files")]
    Symlink { path: PathBuf },
    #[error("{path} is a {kind}; spool files must be regular files")]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{path} has {links} hard links; spool files must have exactly one")]
    HardLinked { path: PathBuf, links: u64 },
    #[error("{path} is larger than the {cap}-byte limit")]
    TooLarge { path: PathBuf, cap: u64 },
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl ReadError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::NotFound { .. })
    }
}

impl SpoolDir {
    /// Reads a spool file safely: no symlink followed, regular file with one link, at most `cap`
    /// bytes. The checks are made on the opened file, so a swap after the check changes nothing.
    pub fn read(&self, name: impl AsRef<OsStr>, cap: u64) -> Result<Vec<u8>, ReadError> {
        let (fd, st, path) = self.open_regular(name.as_ref())?;
        if st.st_nlink != 1 {
            // `st_nlink` is u64 here, u32 on other targets.
            #[allow(clippy::unnecessary_cast)]
            let links = st.st_nlink as u64;
            return Err(ReadError::HardLinked { path, links });
        }
        read_capped(fd, &st, cap, path)
    }

    /// Opens `name` for reading, never following a symlink, and checks on the opened file that
    /// it is a regular file: the fd, its `fstat` and its path. How many links it may have is the
    /// caller's rule ([`SpoolDir::read`]: one; `interrupted.rs`: two).
    pub(super) fn open_regular(&self, name: &OsStr) -> Result<(OwnedFd, Stat, PathBuf), ReadError> {
        let path = self.join(name);
        let flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
        let fd = match rustix::fs::openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Err(ReadError::NotFound { path }),
            Err(Errno::LOOP) => return Err(ReadError::Symlink { path }),
            Err(e) => {
                return Err(ReadError::Io {
                    path,
                    source: io_err(e),
                })
            }
        };
        let st = rustix::fs::fstat(&fd).map_err(|e| ReadError::Io {
            path: path.clone(),
            source: io_err(e),
        })?;
        let kind = FileType::from_raw_mode(st.st_mode);
        if kind != FileType::RegularFile {
            return Err(ReadError::NotRegular {
                path,
                kind: kind_name(kind),
            });
        }
        Ok((fd, st, path))
    }
}

/// Reads the opened file `fd` (whose `fstat` is `st`), at most `cap` bytes.
pub(super) fn read_capped(
    fd: OwnedFd,
    st: &Stat,
    cap: u64,
    path: PathBuf,
) -> Result<Vec<u8>, ReadError> {
    if st.st_size as u64 > cap {
        return Err(ReadError::TooLarge { path, cap });
    }
    let mut buf = Vec::with_capacity(st.st_size as usize);
    // Read one byte past the cap so a file that grew after fstat is still caught.
    File::from(fd)
        .take(cap + 1)
        .read_to_end(&mut buf)
        .map_err(|source| ReadError::Io {
            path: path.clone(),
            source,
        })?;
    if buf.len() as u64 > cap {
        return Err(ReadError::TooLarge { path, cap });
    }
    Ok(buf)
}

fn kind_name(kind: FileType) -> &'static str {
    match kind {
        FileType::RegularFile => "regular file",
        FileType::Directory => "directory",
        FileType::Symlink => "symbolic link",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        _ => "special file",
    }
}
