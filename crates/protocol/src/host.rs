//! This host's name, as every binary writes it (`recorder_node`, `responder`, the heartbeat).

/// The kernel's node name (`uname -n`), which corosync and Pacemaker also start from. Never
/// fails: a name that is not UTF-8 is converted lossily (it is only ever reported).
pub fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn is_the_kernels_node_name() {
        let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("procfs");
        assert_eq!(super::hostname(), kernel.trim_end_matches('\n'));
        assert!(!super::hostname().is_empty());
    }
}
