//! fence_gfs2_recorder (placeholder).
fn main() {}
