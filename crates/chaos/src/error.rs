//! The campaign's errors: what could not be set up or run, naming the path or the program.

/// An error that ends the campaign (as opposed to an oracle violation, which is its result).
#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Setup(String),
}

impl ChaosError {
    /// Wraps an I/O error with what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ChaosError {
        let what = what.into();
        move |source| ChaosError::Io { what, source }
    }
}

pub type Result<T> = std::result::Result<T, ChaosError>;
