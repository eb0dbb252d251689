//! fence_watcher (placeholder).
fn main() {}
