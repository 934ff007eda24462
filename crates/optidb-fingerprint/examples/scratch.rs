use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() > 1 {
        let r = pg_query::parse(&args[1], 0);
        match r {
            Ok(r) => println!("{}", serde_json::to_string(&r.protobuf.stmts).unwrap()),
            Err(e) => println!("ERR {e}"),
        }
        println!(
            "{}",
            pg_query::fingerprint(&args[1], 0, 0)
                .map(|f| f.hex)
                .unwrap_or_default()
        );
        return;
    }
    let qs = [
        "SELECT id, email FROM users WHERE id = $1",
        "SELECT o.id, o.total, u.email FROM orders o JOIN users u ON u.id = o.user_id WHERE o.status = $1 AND o.created_at > $2 ORDER BY o.created_at DESC LIMIT $3",
        "SELECT date_trunc($1, created_at) AS day, count(*), sum(total) FROM orders WHERE created_at BETWEEN $2 AND $3 AND status IN ($4, $5, $6) GROUP BY 1 ORDER BY 1",
        "UPDATE accounts SET balance = balance - $1, updated_at = now() WHERE id = $2 RETURNING balance",
    ];
    for q in qs {
        let n = 20000;
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(pg_query::parse(q, 0).unwrap());
        }
        let p = t.elapsed().as_secs_f64() / n as f64 * 1e6;
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(pg_query::fingerprint(q, 0, 0).unwrap());
        }
        let f = t.elapsed().as_secs_f64() / n as f64 * 1e6;
        let t = Instant::now();
        for _ in 0..n {
            std::hint::black_box(pg_query::summary(q, 0, -1).unwrap());
        }
        let s = t.elapsed().as_secs_f64() / n as f64 * 1e6;
        println!(
            "parse {p:.1}us fingerprint {f:.1}us summary {s:.1}us  {}",
            q.len()
        );
    }
}
