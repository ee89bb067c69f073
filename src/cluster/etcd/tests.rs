use super::*;

#[test]
fn endpoints_are_normalized_and_never_carry_credentials() {
    assert_eq!(
        normalize_endpoint("http://127.0.0.1:2379/").unwrap(),
        "http://127.0.0.1:2379"
    );
    assert_eq!(
        normalize_endpoint(" https://nas.lan:2379").unwrap(),
        "https://nas.lan:2379"
    );
    let err = normalize_endpoint("http://root:hunter2@nas.lan:2379").unwrap_err();
    assert!(!err.contains("hunter2"), "{err}");
    assert!(normalize_endpoint("http://nas.lan:2379/v3").is_err());
    assert!(normalize_endpoint("http://nas.lan:2379/?x=1").is_err());
    assert!(normalize_endpoint("unix:///run/etcd.sock").is_err());
    assert!(normalize_endpoint("nas.lan:2379").is_err());
}

#[test]
fn config_errors_do_not_echo_endpoints() {
    let e = EtcdClient::new(Config {
        endpoints: vec!["http://u:topsecret@h:1".into()],
        request_timeout: Duration::from_secs(1),
        credentials: None,
    })
    .unwrap_err();
    assert!(!e.to_string().contains("topsecret"), "{e}");
    assert!(
        EtcdClient::new(Config {
            endpoints: vec![],
            request_timeout: Duration::from_secs(1),
            credentials: None,
        })
        .is_err()
    );
}

#[test]
fn debug_never_shows_the_password() {
    let credentials = Credentials::new("liverec", "hunter2");
    assert!(!format!("{credentials:?}").contains("hunter2"));
    let client = EtcdClient::new(Config {
        endpoints: vec!["http://127.0.0.1:2379".into()],
        request_timeout: Duration::from_secs(1),
        credentials: Some(credentials),
    })
    .unwrap();
    let shown = format!("{client:?}");
    assert!(
        shown.contains("liverec") && !shown.contains("hunter2"),
        "{shown}"
    );
}

#[test]
fn ttl_rounds_up_to_whole_seconds() {
    assert_eq!(ttl_secs(Duration::from_millis(1500)), 2);
    assert_eq!(ttl_secs(Duration::from_secs(15)), 15);
    assert_eq!(ttl_secs(Duration::ZERO), 1);
}

#[test]
fn unavailable_and_lease_not_found_classification() {
    let server = |code, message: &str| EtcdError::Server {
        op: "x",
        endpoint: "e".into(),
        status: 500,
        code,
        message: message.into(),
    };
    assert!(server(14, "etcdserver: request timed out").is_unavailable());
    assert!(!server(5, "etcdserver: requested lease not found").is_unavailable());
    assert!(server(5, "etcdserver: requested lease not found").is_lease_not_found());
    assert!(
        EtcdError::Timeout {
            op: "x",
            endpoint: "e".into(),
            timeout: Duration::from_secs(1)
        }
        .is_unavailable()
    );
}
