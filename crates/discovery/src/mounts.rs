//! The `mounts` source: GFS2 entries of the recorder node's `/proc/self/mountinfo`, named by
//! their lock table when it can be found.
//!
//! Format (proc(5)): `id parent major:minor root mount-point mount-options [optional...] -
//! fstype source super-options`, with space, tab, newline and backslash escaped as `\ooo`.
//! The lock table comes from the `locktable=` super option when the filesystem was mounted with
//! one, otherwise from sysfs: the kernel names `/sys/fs/gfs2/<lock table>/` after the table and
//! its `id` file holds `major:minor` of the mounted device (fs/gfs2/sys.c, `id_show`).

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use crate::merge::{Finding, NameKind};

/// One GFS2 line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gfs2Mount {
    pub dev: String,
    pub mount_point: String,
    pub source: String,
    pub lock_table: Option<String>,
}

/// Why mountinfo could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MountsError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0} line {1} is not a mountinfo line")]
    Garbage(String, usize),
}

/// The GFS2 entries of mountinfo text, in file order.
pub fn parse_mountinfo(text: &str, what: &str) -> Result<Vec<Gfs2Mount>, MountsError> {
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split(' ').collect();
        let sep = fields.iter().position(|f| *f == "-");
        let (Some(sep), true) = (sep, fields.len() >= 6) else {
            return Err(MountsError::Garbage(what.to_string(), i + 1));
        };
        let (Some(fstype), Some(source)) = (fields.get(sep + 1), fields.get(sep + 2)) else {
            return Err(MountsError::Garbage(what.to_string(), i + 1));
        };
        if sep < 6 || !fields[2].contains(':') {
            return Err(MountsError::Garbage(what.to_string(), i + 1));
        }
        if *fstype != "gfs2" {
            continue;
        }
        let lock_table = fields
            .get(sep + 3)
            .and_then(|opts| opts.split(',').find_map(|o| o.strip_prefix("locktable=")))
            .map(unescape);
        out.push(Gfs2Mount {
            dev: fields[2].to_string(),
            mount_point: unescape(fields[4]),
            source: unescape(source),
            lock_table,
        });
    }
    Ok(out)
}

/// `\040` style octal escapes of mountinfo back to characters.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], oct) {
            (b'\\', Some(d)) => {
                let v = d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `major:minor` to lock table, from `/sys/fs/gfs2/*/id`. Missing sysfs means no GFS2 mounted
/// here or no sysfs in this namespace: an empty map, not an error.
pub fn sysfs_tables(dir: &Path) -> HashMap<String, String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return HashMap::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let id = fs::read_to_string(e.path().join("id")).ok()?;
            Some((
                id.trim().to_string(),
                e.file_name().to_string_lossy().into_owned(),
            ))
        })
        .collect()
}

/// The fsname part of a lock table `cluster:fsname` (the DLM lockspace name).
pub fn fsname(table: &str) -> &str {
    table.split_once(':').map_or(table, |(_, fs)| fs)
}

/// The findings of the `mounts` source.
pub fn discover(mountinfo: &Path, sysfs: &Path) -> Result<Vec<Finding>, MountsError> {
    let what = mountinfo.display().to_string();
    let text = fs::read_to_string(mountinfo).map_err(|e| MountsError::Read(what.clone(), e))?;
    let mounts = parse_mountinfo(&text, &what)?;
    let tables = if mounts.iter().any(|m| m.lock_table.is_none()) {
        sysfs_tables(sysfs)
    } else {
        HashMap::new()
    };
    Ok(mounts
        .into_iter()
        .map(|m| {
            let table = m.lock_table.clone().or_else(|| tables.get(&m.dev).cloned());
            let tag = format!("mounts:{}", m.mount_point);
            let finding = match &table {
                Some(t) => Finding::new(fsname(t), NameKind::FsName, tag).alias(t.as_str()),
                None => Finding::new(m.mount_point.as_str(), NameKind::MountPoint, tag),
            };
            finding.alias(m.mount_point).alias(m.source)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Lines in the layout of proc(5); the gfs2 ones as a kernel with gfs2 prints them
    // (super options from fs/gfs2/super.c gfs2_show_options: `rw,relatime[,locktable=...]`).
    const INFO: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
85 22 253:2 / /mnt/shared rw,noatime shared:40 - gfs2 /dev/mapper/vg_shared-lv_shared rw,noatime
86 22 253:3 / /mnt/my\\040data rw,relatime shared:41 master:3 - gfs2 /dev/vg2/data rw,relatime,locktable=c1:data
87 22 0:44 / /mnt/nfs rw,relatime - nfs4 nas:/export rw,vers=4.2
";

    #[test]
    fn gfs2_lines_only_with_escapes_and_locktable() {
        let got = parse_mountinfo(INFO, "mountinfo").unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].dev, "253:2");
        assert_eq!(got[0].mount_point, "/mnt/shared");
        assert_eq!(got[0].lock_table, None);
        assert_eq!(got[1].mount_point, "/mnt/my data");
        assert_eq!(got[1].lock_table.as_deref(), Some("c1:data"));
    }

    #[test]
    fn garbage_is_an_error_naming_the_line() {
        let err = parse_mountinfo("22 1 8:1 / / rw - ext4 /dev/sda1 rw\nhello world\n", "mi")
            .unwrap_err();
        assert_eq!(err.to_string(), "mi line 2 is not a mountinfo line");
    }

    #[test]
    fn lock_table_from_sysfs_id() {
        let dir = tempfile::tempdir().unwrap();
        let info = dir.path().join("mountinfo");
        fs::write(&info, INFO).unwrap();
        let sys = dir.path().join("gfs2");
        fs::create_dir_all(sys.join("c1:shared")).unwrap();
        fs::write(sys.join("c1:shared/id"), "253:2\n").unwrap();
        let got = discover(&info, &sys).unwrap();
        assert_eq!(got[0].name, "shared");
        assert_eq!(got[0].kind, NameKind::FsName);
        assert_eq!(got[0].tag, "mounts:/mnt/shared");
        assert!(got[0].aliases.contains(&"/mnt/shared".to_string()));
        assert_eq!(got[1].name, "data");
    }

    #[test]
    fn without_lock_table_the_mount_point_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let info = dir.path().join("mountinfo");
        fs::write(&info, INFO).unwrap();
        let got = discover(&info, &dir.path().join("no-sysfs")).unwrap();
        assert_eq!(got[0].name, "/mnt/shared");
        assert_eq!(got[0].kind, NameKind::MountPoint);
    }

    #[test]
    fn real_mountinfo_of_this_machine_parses() {
        let text = fs::read_to_string("/proc/self/mountinfo").unwrap();
        parse_mountinfo(&text, "/proc/self/mountinfo").unwrap();
    }
}
