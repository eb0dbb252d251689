//! `cargo run -p xtask -- man DIR`: writes the four man pages of gfs2-fencing into DIR (the
//! Makefile calls it for `make man`, `make install`, `make deb` and `make rpm`).

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [cmd, dir] = args.as_slice() else {
        eprintln!("usage: xtask man DIR");
        return ExitCode::from(2);
    };
    if cmd != "man" {
        eprintln!("xtask: unknown task {cmd:?} (known: man)");
        return ExitCode::from(2);
    }
    match xtask::man::write_all(&PathBuf::from(dir)) {
        Ok(written) => {
            for p in written {
                println!("{}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
