//! gfs2-fencing operator tool (placeholder).
fn main() {}
