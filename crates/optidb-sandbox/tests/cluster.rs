//! The sandbox against real PostgreSQL servers: start, answer, run side by
//! side, and never leave a server or a directory behind.

// A failed unwrap in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::kill;
use nix::unistd::Pid;
use optidb_sandbox::{Cluster, Error, SandboxOptions};

fn process_alive(pid: u32) -> bool {
    let alive = kill(Pid::from_raw(pid as i32), None).is_ok();
    // A zombie is dead for our purposes.
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| stat.contains(") Z "))
        .unwrap_or(false);
    alive && !zombie
}

/// Waits (bounded) until the server is gone and its directory deleted.
fn wait_until_cleaned(pid: u32, root: &Path, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if !process_alive(pid) && !root.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[tokio::test]
async fn shared_cluster_answers_in_a_fresh_database() {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let client = db.connect().await.unwrap();
    let row = client
        .query_one(
            "SELECT current_database(), current_setting('server_version_num')::int",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), db.name());
    assert_eq!(
        row.get::<_, i32>(1) / 10_000,
        cluster.binaries().major() as i32
    );
}

#[tokio::test]
async fn databases_are_fresh_and_distinct() {
    let cluster = Cluster::shared().unwrap();
    let first = cluster.create_database().await.unwrap();
    let second = cluster.create_database().await.unwrap();
    assert_ne!(first.name(), second.name());
    let a = first.connect().await.unwrap();
    a.batch_execute("CREATE TABLE only_in_first (id int)")
        .await
        .unwrap();
    let b = second.connect().await.unwrap();
    let found = b
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname = 'only_in_first'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(found.get::<_, i64>(0), 0);
}

async fn explain(client: &tokio_postgres::Client, sql: &str) -> String {
    let rows = client.query(&format!("EXPLAIN {sql}"), &[]).await.unwrap();
    rows.iter()
        .map(|row| row.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn pg_stat_statements_and_hypopg_work_in_a_fresh_database() {
    let cluster = Cluster::shared().unwrap();
    let db = cluster.create_database().await.unwrap();
    let client = db.connect().await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE t (id int, payload text);
             INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g;
             ANALYZE t;",
        )
        .await
        .unwrap();
    for id in 0..5 {
        client
            .query("SELECT payload FROM t WHERE id = $1", &[&id])
            .await
            .unwrap();
    }
    let calls: i64 = client
        .query_one(
            "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements
             WHERE query = 'SELECT payload FROM t WHERE id = $1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(calls, 5);

    let plan_without = explain(&client, "SELECT payload FROM t WHERE id = 42").await;
    assert!(plan_without.contains("Seq Scan"), "{plan_without}");
    client
        .batch_execute("SELECT * FROM hypopg_create_index('CREATE INDEX ON t (id)')")
        .await
        .unwrap();
    let plan_with = explain(&client, "SELECT payload FROM t WHERE id = 42").await;
    assert!(plan_with.contains("btree_t_id"), "{plan_with}");
}

#[tokio::test]
async fn two_clusters_run_side_by_side() {
    let first = Cluster::start().unwrap();
    let second = Cluster::start().unwrap();
    assert_ne!(first.port(), second.port());
    assert_ne!(first.root_dir(), second.root_dir());
    for cluster in [&first, &second] {
        let db = cluster.create_database().await.unwrap();
        let client = db.connect().await.unwrap();
        let port: String = client
            .query_one("SELECT current_setting('port')", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(port, cluster.port().to_string());
    }
}

#[test]
fn dropping_a_cluster_stops_the_server_and_deletes_its_directory() {
    let cluster = Cluster::start().unwrap();
    let pid = cluster.postmaster_pid().unwrap();
    let root = cluster.root_dir().to_path_buf();
    assert!(process_alive(pid));
    assert!(root.join("data").join("PG_VERSION").exists());
    drop(cluster);
    // Drop waits for the server: nothing may be left the moment it returns.
    assert!(!process_alive(pid), "postmaster {pid} still running");
    assert!(!root.exists(), "{} still exists", root.display());
}

#[test]
fn a_panicking_owner_still_cleans_up() {
    let (sender, receiver) = std::sync::mpsc::channel::<(u32, PathBuf)>();
    let owner = std::thread::spawn(move || {
        let cluster = Cluster::start().unwrap();
        sender
            .send((
                cluster.postmaster_pid().unwrap(),
                cluster.root_dir().to_path_buf(),
            ))
            .unwrap();
        panic!("the owner of a sandbox panics");
    });
    assert!(owner.join().is_err());
    let (pid, root) = receiver.recv().unwrap();
    assert!(!process_alive(pid), "postmaster {pid} still running");
    assert!(!root.exists(), "{} still exists", root.display());
}

/// Not a test on its own: the body of the child process that
/// `a_killed_owner_is_cleaned_up_by_the_guardian` starts and kills.
#[test]
fn child_process_holding_the_shared_cluster() {
    if std::env::var_os("OPTIDB_SANDBOX_TEST_CHILD").is_none() {
        return;
    }
    let cluster = Cluster::shared().unwrap();
    println!(
        "READY {} {}",
        cluster.postmaster_pid().unwrap(),
        cluster.root_dir().display()
    );
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_killed_owner_is_cleaned_up_by_the_guardian() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_holding_the_shared_cluster",
            "--nocapture",
        ])
        .env("OPTIDB_SANDBOX_TEST_CHILD", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|line| line.starts_with("READY "))
        .expect("the child reports its cluster");
    let mut parts = line.split_whitespace().skip(1);
    let pid: u32 = parts.next().unwrap().parse().unwrap();
    let root = PathBuf::from(parts.next().unwrap());
    assert!(process_alive(pid));

    child.kill().unwrap(); // SIGKILL: no destructor runs
    child.wait().unwrap();
    assert!(
        wait_until_cleaned(pid, &root, Duration::from_secs(15)),
        "postmaster {pid} or {} left behind",
        root.display()
    );
}

#[test]
fn the_server_runs_as_postgres_when_we_are_root() {
    let cluster = Cluster::start().unwrap();
    let pid = cluster.postmaster_pid().unwrap();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let server_uid: u32 = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    let our_uid = nix::unistd::geteuid();
    if our_uid.is_root() {
        let postgres = nix::unistd::User::from_name("postgres").unwrap().unwrap();
        assert_eq!(server_uid, postgres.uid.as_raw());
    } else {
        assert_eq!(server_uid, our_uid.as_raw());
    }
}

#[test]
fn a_wrong_bindir_is_a_clear_error() {
    let empty = tempfile::tempdir().unwrap();
    let options = SandboxOptions {
        bindir: Some(empty.path().to_path_buf()),
        ..SandboxOptions::default()
    };
    let err = Cluster::start_with(&options).unwrap_err();
    assert!(matches!(err, Error::InvalidBinDir { .. }), "{err}");
}

#[test]
fn extra_settings_reach_the_server() {
    let options = SandboxOptions::from_env().setting("work_mem", "1234kB");
    let cluster = Cluster::start_with(&options).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let work_mem: String = runtime.block_on(async {
        let db = cluster.create_database().await.unwrap();
        let client = db.connect().await.unwrap();
        client.query_one("SHOW work_mem", &[]).await.unwrap().get(0)
    });
    assert_eq!(work_mem, "1234kB");
}
