//! TLS against a real server with a certificate from a throwaway CA: each
//! sslmode encrypts and verifies exactly what libpq's does.

// A failed unwrap in a test is a failed assertion.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::OnceLock;

use optidb_pg::{ConnectionTarget, SessionSettings, connect};
use optidb_sandbox::{Cluster, SandboxOptions, ServerTls};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose};

struct Pki {
    ca_pem: String,
    other_ca_pem: String,
    server: ServerTls,
}

fn ca() -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A CA, a server certificate it signed for `db.internal` only, and an
/// unrelated CA.
fn pki() -> Pki {
    let ca = ca();
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["db.internal".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        other_ca_pem: self::ca().pem(),
        server: ServerTls {
            cert_pem: server_cert.pem(),
            key_pem: server_key.serialize_pem(),
        },
    }
}

struct TlsServer {
    cluster: Cluster,
}

/// One TLS cluster for this test binary; the CA files live in its
/// directory, so they go when it goes.
fn server() -> &'static TlsServer {
    static SERVER: OnceLock<TlsServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let pki = pki();
        let options = SandboxOptions {
            tls: Some(pki.server),
            ..SandboxOptions::from_env()
        };
        let cluster = Cluster::start_with(&options).unwrap();
        std::fs::write(cluster.root_dir().join("ca.pem"), &pki.ca_pem).unwrap();
        std::fs::write(cluster.root_dir().join("other-ca.pem"), &pki.other_ca_pem).unwrap();
        TlsServer { cluster }
    })
}

fn file(name: &str) -> String {
    server().cluster.root_dir().join(name).display().to_string()
}

/// Connects with `options` added to the cluster's DSN; Ok(whether the
/// session is encrypted) or the error message.
async fn try_connect(options: &str) -> Result<bool, String> {
    let server = server();
    let dsn = format!(
        "host=db.internal hostaddr=127.0.0.1 port={} user=postgres dbname=postgres {options}",
        server.cluster.port()
    );
    let target = ConnectionTarget::resolve(Some(&dsn), |_| None).map_err(|e| e.to_string())?;
    let client = connect(&target, &SessionSettings::read_only())
        .await
        .map_err(|e| format!("{e:#}: {:?}", std::error::Error::source(&e)))?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    Ok(row.get(0))
}

#[tokio::test]
async fn disable_does_not_encrypt() {
    assert_eq!(try_connect("sslmode=disable").await, Ok(false));
}

#[tokio::test]
async fn prefer_and_require_encrypt_without_verifying() {
    assert_eq!(try_connect("sslmode=prefer").await, Ok(true));
    assert_eq!(try_connect("sslmode=require").await, Ok(true));
}

#[tokio::test]
async fn verify_full_checks_the_chain_and_the_name() {
    let ca = file("ca.pem");
    assert_eq!(
        try_connect(&format!("sslmode=verify-full sslrootcert={ca}")).await,
        Ok(true)
    );

    let other = file("other-ca.pem");
    let err = try_connect(&format!("sslmode=verify-full sslrootcert={other}"))
        .await
        .unwrap_err();
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    // The certificate names db.internal, not 127.0.0.1.
    let server = server();
    let dsn = format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=verify-full sslrootcert={ca}",
        server.cluster.port()
    );
    let target = ConnectionTarget::resolve(Some(&dsn), |_| None).unwrap();
    let err = connect(&target, &SessionSettings::read_only())
        .await
        .unwrap_err();
    let message = format!("{err:?}");
    assert!(message.contains("NotValidForName"), "{message}");
}

#[tokio::test]
async fn verify_ca_checks_the_chain_but_not_the_name() {
    let server = server();
    let ca = file("ca.pem");
    let dsn = format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=verify-ca sslrootcert={ca}",
        server.cluster.port()
    );
    let target = ConnectionTarget::resolve(Some(&dsn), |_| None).unwrap();
    assert!(
        connect(&target, &SessionSettings::read_only())
            .await
            .is_ok()
    );

    let other = file("other-ca.pem");
    assert!(
        try_connect(&format!("sslmode=verify-ca sslrootcert={other}"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_missing_root_certificate_file_is_a_clear_error() {
    let missing = Path::new("/nonexistent/ca.pem").display().to_string();
    let err = try_connect(&format!("sslmode=verify-full sslrootcert={missing}"))
        .await
        .unwrap_err();
    assert!(
        err.contains("cannot read the sslrootcert file /nonexistent/ca.pem"),
        "{err}"
    );
}
