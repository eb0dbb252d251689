//! Where the daemon's log goes. Under systemd, when stderr is the journal (`JOURNAL_STREAM`
//! names stderr's device and inode, systemd's convention), through journald's native protocol:
//! each line keeps its priority (`journalctl -p err` finds failed fences) and its fields
//! (`NODE`, `ACTION`, `REQUEST_ID`, `OUTCOME`, `BACKEND`, ...: `journalctl NODE=cn-3`).
//! Otherwise text lines on stderr (with timestamps unless journald captures them), or JSON
//! lines with `--log-format json`, which is always honoured. `RUST_LOG` filters as usual; the
//! default is `info`.

use std::ffi::OsStr;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The identifier of the daemon's journal entries (`journalctl -t fence_watcher`).
const IDENTIFIER: &str = "fence_watcher";

pub fn init(format: LogFormat) {
    let journal = std::env::var_os("JOURNAL_STREAM");
    let stderr = rustix::fs::fstat(std::io::stderr()).ok();
    let on_journal = stderr.is_some_and(|st| stream_is(journal.as_deref(), st.st_dev, st.st_ino));
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if format == LogFormat::Text && on_journal {
        match tracing_journald::layer() {
            Ok(layer) => {
                let layer = layer
                    .with_field_prefix(None)
                    .with_syslog_identifier(IDENTIFIER.to_owned());
                let _ = tracing_subscriber::registry()
                    .with(filter())
                    .with(layer)
                    .try_init();
                return;
            }
            Err(e) => {
                text(filter(), format, true);
                tracing::warn!("cannot log to journald's socket ({e}); logging text to stderr");
                return;
            }
        }
    }
    text(filter(), format, on_journal);
}

/// For `--check-config`: its warnings on stderr as `fence_watcher: warning: ...` lines (the
/// ones the daemon logs at start), nothing below WARN.
pub fn init_check() {
    let _ = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(std::io::stderr)
        .event_format(CheckFormat)
        .try_init();
}

/// `fence_watcher: warning: MESSAGE`, the message only (the fields repeat what it says).
struct CheckFormat;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for CheckFormat
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let mut message = Message(String::new());
        event.record(&mut message);
        let level = match *event.metadata().level() {
            tracing::Level::ERROR => "error",
            tracing::Level::WARN => "warning",
            _ => "note",
        };
        writeln!(writer, "fence_watcher: {level}: {}", message.0)
    }
}

/// Collects an event's `message` field.
struct Message(String);

impl tracing::field::Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

/// Text or JSON lines on stderr; without timestamps when journald captures them.
fn text(filter: EnvFilter, format: LogFormat, captured: bool) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(false);
    let _ = match (format, captured) {
        (LogFormat::Json, _) => builder.json().flatten_event(true).try_init(),
        (LogFormat::Text, true) => builder.without_time().try_init(),
        (LogFormat::Text, false) => builder.try_init(),
    };
}

/// Whether `JOURNAL_STREAM` (`DEVICE:INODE`, decimal) names the file whose device and inode
/// are `dev` and `ino`. A variable inherited by a process whose stderr was redirected names
/// another file: then stderr is not the journal.
pub fn stream_is(journal_stream: Option<&OsStr>, dev: u64, ino: u64) -> bool {
    let Some(value) = journal_stream.and_then(OsStr::to_str) else {
        return false;
    };
    let Some((d, i)) = value.split_once(':') else {
        return false;
    };
    matches!((d.parse::<u64>(), i.parse::<u64>()), (Ok(d), Ok(i)) if d == dev && i == ino)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_journal_is_stderr_only_when_the_variable_names_it() {
        let v = |s: &str| Some(OsStr::new(s).to_owned());
        assert!(stream_is(v("8:1234").as_deref(), 8, 1234));
        assert!(!stream_is(v("8:1234").as_deref(), 8, 1235), "another inode");
        assert!(
            !stream_is(v("9:1234").as_deref(), 8, 1234),
            "another device"
        );
        for bad in ["", "8", "8:", ":1234", "8:12x", "-8:1234", "8:1234:5"] {
            assert!(!stream_is(v(bad).as_deref(), 8, 1234), "{bad:?}");
        }
        assert!(!stream_is(None, 8, 1234));
    }
}
