//! Simulation can never pass for fencing (issue 12), the daemon's side: `--simulate*` over a
//! configuration with real backends is refused, and simulated routes are announced at WARN at
//! start and at every reload and counted in `fence_watcher_simulated_routes`.

use rustix::process::Signal;
use system_tests::{faults, Daemon, Spool};

/// Every `--simulate*` flag over a file that defines a real backend: exit 1 before anything
/// runs, one message naming the file and the flag; no heartbeat, so nothing answered.
#[test]
fn simulate_flags_over_a_real_configuration_are_refused() {
    let spool = Spool::new();
    let cfg = faults::command_backend(&spool, "#!/bin/sh\nexit 0\n", 10);
    for flag in [
        &["--simulate"][..],
        &["--simulate-delay", "0.5"],
        &["--simulate-outcome", "fail"],
        &["--simulate", "--check-config"],
    ] {
        let out = Daemon::builder(&spool)
            .args(["--config", &cfg])
            .args(flag)
            .command()
            .output()
            .expect("run fence_watcher");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{flag:?}: {stderr}");
        assert!(
            stderr.contains(flag[0])
                && stderr.contains(&cfg)
                && stderr.contains("real backends (cmd)")
                && stderr.contains("refusing to start"),
            "{flag:?}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(!spool.heartbeat().exists(), "{flag:?} started anyway");
    }
    // Alone it stays what demos and tests use.
    let _d = Daemon::start(&spool, &["--simulate"]);
}

/// `fence_watcher_simulated_routes` from the daemon's metrics endpoint.
fn simulated_gauge(port: u16) -> String {
    let text = system_tests::daemon::scrape_metrics(port);
    let line = text
        .lines()
        .find(|l| l.starts_with("fence_watcher_simulated_routes "));
    line.unwrap_or_else(|| panic!("no gauge in:\n{text}"))
        .to_owned()
}

/// A configuration with a real level 1 and, when `simulated`, a simulated level 2 for `cn-*`.
fn config(simulated: bool) -> String {
    let levels = if simulated {
        "[\"cmd\", \"sim\"]"
    } else {
        "[\"cmd\"]"
    };
    format!(
        "[backends.cmd]\ntype = \"command\"\nargv = [\"/bin/true\"]\n\
         [backends.sim]\ntype = \"simulate\"\n\
         [[topology]]\nnodes = [\"cn-*\"]\nlevels = {levels}\n"
    )
}

/// A simulated level is never silent: WARN at start naming the route, the gauge counts it,
/// and a reload that removes it sets the gauge to 0 (one that adds it back warns again).
#[test]
fn simulated_routes_are_announced_at_start_and_reload_and_counted() {
    let spool = Spool::new();
    let cfg = spool.config(&config(true));
    let port = system_tests::free_port();
    let listen = format!("127.0.0.1:{port}");
    let cfg_arg = cfg.to_str().expect("utf-8");
    let mut d = Daemon::start(&spool, &["--config", cfg_arg, "--metrics-listen", &listen]);
    d.wait_log("1 simulated route (the simulate backend fences nothing): topology[0] level 2 (sim) for \"cn-*\"");
    let warned = d.log_text();
    let line = warned.lines().find(|l| l.contains("simulated route"));
    assert!(line.is_some_and(|l| l.contains("WARN")), "{warned}");
    assert_eq!(simulated_gauge(port), "fence_watcher_simulated_routes 1");

    spool.config(&config(false));
    d.signal(Signal::HUP);
    d.wait_log("configuration reloaded");
    let zero = system_tests::wait_for(std::time::Duration::from_secs(30), || {
        (simulated_gauge(port) == "fence_watcher_simulated_routes 0").then_some(())
    });
    assert!(zero.is_some(), "the gauge stays up after the reload");
    let warnings = d.log_text().matches("simulated route").count();
    assert_eq!(warnings, 1, "no warning without a simulated route");

    spool.config(&config(true));
    d.signal(Signal::HUP);
    let again = system_tests::wait_for(std::time::Duration::from_secs(30), || {
        (d.log_text().matches("1 simulated route").count() == 2).then_some(())
    });
    assert!(
        again.is_some(),
        "no warning at the reload:\n{}",
        d.log_text()
    );
    assert_eq!(simulated_gauge(port), "fence_watcher_simulated_routes 1");
}
