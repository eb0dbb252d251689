//! `fence_gfs2_recorder`: collects its arguments, runs the agent library, exits with its code.

fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    fence_gfs2_recorder::run(&args).into()
}
