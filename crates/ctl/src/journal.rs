//! The tool's audit entries in the systemd journal, through journald's native protocol: one
//! datagram of `FIELD=value` lines on `/run/systemd/journal/socket`, so each entry keeps its
//! priority and its fields (`journalctl -t gfs2-fencing NODE=cn-3`). The daemon logs there
//! through `tracing-journald`; the tool writes one entry per unfencing, which needs no tracing
//! subscriber, only the protocol's few lines. A value with a newline takes the protocol's
//! binary form (name, newline, little-endian length, bytes), so no value can forge a field.
//! Without a journald the caller warns and goes on: the event logs hold the same record.

use std::os::unix::net::UnixDatagram;

/// journald's native socket.
pub const SOCKET: &str = "/run/systemd/journal/socket";
/// `SYSLOG_IDENTIFIER` of the tool's entries (`journalctl -t gfs2-fencing`).
pub const IDENTIFIER: &str = "gfs2-fencing";

/// syslog priorities used here.
pub const NOTICE: u8 = 5;
pub const ERR: u8 = 3;

/// Sends one entry: `MESSAGE`, `PRIORITY`, `SYSLOG_IDENTIFIER` and `fields` (upper-case names).
pub fn send(priority: u8, message: &str, fields: &[(&str, &str)]) -> std::io::Result<()> {
    let socket = UnixDatagram::unbound()?;
    let prio = priority.to_string();
    let mut all = vec![
        ("MESSAGE", message),
        ("PRIORITY", prio.as_str()),
        ("SYSLOG_IDENTIFIER", IDENTIFIER),
    ];
    all.extend_from_slice(fields);
    socket.send_to(&encode(&all), SOCKET).map(|_| ())
}

/// The datagram of the native protocol for these fields.
pub fn encode(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.extend_from_slice(name.as_bytes());
        if value.contains('\n') {
            out.push(b'\n');
            out.extend_from_slice(&(value.len() as u64).to_le_bytes());
        } else {
            out.push(b'=');
        }
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A newline in a value cannot start a field of its own: the value is length-prefixed.
    #[test]
    fn a_value_with_a_newline_takes_the_binary_form() {
        let bytes = encode(&[("NODE", "cn1"), ("MESSAGE", "a\nPRIORITY=0")]);
        let mut expected = b"NODE=cn1\nMESSAGE\n".to_vec();
        expected.extend_from_slice(&12u64.to_le_bytes());
        expected.extend_from_slice(b"a\nPRIORITY=0\n");
        assert_eq!(bytes, expected);
    }
}
