fn main() {
    for sql in std::env::args().skip(1) {
        match optidb_fingerprint::facts(&sql) {
            Ok(f) => println!("{}", serde_json::to_string_pretty(&f).unwrap()),
            Err(e) => println!("ERR {e}"),
        }
    }
}
