//! Benchmark being written (created by the lead so the workspace loads).
fn main() {}
