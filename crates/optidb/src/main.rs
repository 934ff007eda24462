//! optidb
fn main() {}
