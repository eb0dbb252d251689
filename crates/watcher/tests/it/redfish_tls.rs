//! TLS trust of the `redfish` backend against the real emulator's self-signed certificate: no
//! trust configured fails naming TLS, `insecure = true` works and is warned about at start,
//! a pinned certificate (backend-wide or per node) works and a wrong pin fails.

use fence_watcher::backend::redfish;
use system_tests::bmc::sushy;

use std::io::Write;
use std::sync::{Arc, Mutex};

use gfs2_fence_protocol::{Action, NodeName};
use redfish::{Redfish, RedfishConfig};
use sushy::{Opts, Sushy, PASSWORD, U1};

fn node(name: &str) -> NodeName {
    NodeName::parse(name).expect("node name")
}

fn build(
    emu: &Sushy,
    changes: &[(&str, &str)],
    tail: &str,
) -> Result<Redfish, redfish::BuildError> {
    let text = emu.backend_toml(changes, tail);
    let cfg: RedfishConfig = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    Redfish::new("bmc", &cfg)
}

const U1_ID: (&str, &str) = ("system_id", "\"11111111-1111-4111-8111-111111111111\"");
const NO_CA: (&str, &str) = ("ca_file", "");

/// Collects what `tracing` writes while `f` runs.
fn logs_of<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("buf").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&buf.0.lock().expect("buf")).into_owned();
    (out, text)
}

#[tokio::test]
async fn without_trust_tls_fails_and_insecure_works_with_a_warning_at_every_start() {
    let Some(emu) = Sushy::start(Opts::fast(system_tests::free_port())) else {
        return;
    };
    // No ca_file: the system trust store does not know the self-signed certificate.
    let rf = build(&emu, &[U1_ID, NO_CA], "").expect("build");
    let text = rf
        .fence(&node("node1"), Action::Off)
        .await
        .expect_err("untrusted")
        .to_string();
    assert!(
        text.contains("tls failure") && text.contains(&format!("127.0.0.1:{}", emu.opts.port)),
        "{text}"
    );
    assert!(
        text.contains("\"discover system\"") && !text.contains(PASSWORD),
        "{text}"
    );
    assert_eq!(emu.power_state(U1), "On", "nothing was done");

    let (rf, logs) =
        logs_of(|| build(&emu, &[U1_ID, NO_CA, ("insecure", "true")], "").expect("build"));
    assert!(
        logs.contains("WARN") && logs.contains("insecure = true") && logs.contains("NOT verified"),
        "{logs}"
    );
    rf.fence(&node("node1"), Action::Off)
        .await
        .expect("off, insecure");
    assert_eq!(emu.power_state(U1), "Off");
    let (_, logs) =
        logs_of(|| build(&emu, &[U1_ID, NO_CA, ("insecure", "true")], "").expect("build"));
    assert!(
        logs.contains("NOT verified"),
        "warned again at the next start: {logs}"
    );
    let (_, logs) = logs_of(|| build(&emu, &[U1_ID], "").expect("build"));
    assert!(!logs.contains("WARN"), "no warning with ca_file: {logs}");
}

#[tokio::test]
async fn a_pinned_certificate_is_trusted_and_a_wrong_pin_is_refused() {
    let Some(emu) = Sushy::start(Opts::fast(system_tests::free_port())) else {
        return;
    };
    let pin = emu.cert_sha256(); // "AB:CD:..." as openssl prints it
    let rf = build(
        &emu,
        &[U1_ID, NO_CA, ("pinned_cert_sha256", &format!("\"{pin}\""))],
        "",
    )
    .expect("build");
    rf.fence(&node("node1"), Action::Off)
        .await
        .expect("off, pinned");
    assert_eq!(emu.power_state(U1), "Off");

    let mut wrong: Vec<char> = pin.chars().collect();
    wrong[0] = if wrong[0] == '0' { '1' } else { '0' };
    let wrong: String = wrong.into_iter().collect();
    let rf = build(
        &emu,
        &[
            U1_ID,
            NO_CA,
            ("pinned_cert_sha256", &format!("\"{wrong}\"")),
        ],
        "",
    )
    .expect("build");
    let text = rf
        .fence(&node("node1"), Action::On)
        .await
        .expect_err("wrong pin")
        .to_string();
    assert!(
        text.contains("tls failure") && text.contains("not its pinned_cert_sha256"),
        "{text}"
    );
    assert_eq!(emu.power_state(U1), "Off", "nothing was done");

    // Per node: node1's BMC pinned (lower-case hex, no colons), others to the system trust store.
    let hex = pin.replace(':', "").to_lowercase();
    let tail = format!("[nodes.node1]\npinned_cert_sha256 = \"{hex}\"\n");
    let rf = build(&emu, &[U1_ID, NO_CA], &tail).expect("build");
    rf.fence(&node("node1"), Action::On)
        .await
        .expect("on, pinned per node");
    assert_eq!(emu.power_state(U1), "On");
}
