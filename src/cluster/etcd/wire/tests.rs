use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/etcd/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const LEASE: i64 = 2324035769768557066;

#[test]
fn prefix_end_increments_the_last_byte_below_0xff() {
    assert_eq!(prefix_end(b"/a/"), b"/a0");
    assert_eq!(prefix_end(b"a\xff\xff"), b"b");
    assert_eq!(prefix_end(b"\xff"), b"\0");
    assert_eq!(prefix_end(b""), b"\0");
}

#[test]
fn requests_use_base64_and_int64_strings() {
    let r = put_if_request(b"k", b"v", 7, Compare::CreateRevision(0));
    assert_eq!(
        r,
        json!({
            "compare": [{"result": "EQUAL", "target": "CREATE", "key": "aw==", "create_revision": "0"}],
            "success": [{"request_put": {"key": "aw==", "value": "dg==", "lease": "7"}}],
            "failure": [{"request_range": {"key": "aw=="}}],
        })
    );
    assert_eq!(
        put_request(b"k", b"", 0),
        json!({"key": "aw==", "value": ""})
    );
    assert_eq!(
        delete_if_request(b"k", Compare::Lease(9))["compare"][0],
        json!({"result": "EQUAL", "target": "LEASE", "key": "aw==", "lease": "9"})
    );
    assert_eq!(
        watch_request(b"/p/", 12),
        json!({"create_request": {"key": "L3Av", "range_end": "L3Aw", "progress_notify": true, "start_revision": "12"}})
    );
    assert!(
        watch_request(b"/p/", 0)["create_request"]
            .get("start_revision")
            .is_none()
    );
}

#[test]
fn range_with_one_key() {
    let r = decode_range(&fixture("range_one.json")).unwrap();
    assert_eq!(r.revision, 3);
    assert_eq!(
        r.kvs,
        vec![KeyValue {
            key: "/liverec/home/members/nas-1".into(),
            value: br#"{"weight":1.0}"#.to_vec(),
            create_revision: 2,
            mod_revision: 2,
            version: 1,
            lease: 0,
        }]
    );
}

#[test]
fn range_prefix_and_empty() {
    let r = decode_range(&fixture("range_prefix.json")).unwrap();
    let keys: Vec<_> = r.kvs.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        keys,
        ["/liverec/home/members/nas-1", "/liverec/home/members/nas-2"]
    );
    assert_eq!(r.kvs[1].value, br#"{"weight":2.0}"#);
    let empty = decode_range(&fixture("range_empty.json")).unwrap();
    assert!(empty.kvs.is_empty());
    assert_eq!(empty.revision, 3);
}

#[test]
fn put_delete_revoke_headers() {
    assert_eq!(decode_revision(&fixture("put.json")).unwrap(), 2);
    assert_eq!(decode_revision(&fixture("lease_revoke.json")).unwrap(), 9);
    assert_eq!(decode_delete(&fixture("delete.json")).unwrap(), 1);
    // Deleting nothing leaves "deleted" out.
    assert_eq!(decode_delete(&fixture("put.json")).unwrap(), 0);
}

#[test]
fn create_if_absent_won_and_lost() {
    assert_eq!(
        decode_put_if(&fixture("txn_created.json")).unwrap(),
        PutIf::Done { revision: 4 }
    );
    let PutIf::Failed { current: Some(kv) } = decode_put_if(&fixture("txn_exists.json")).unwrap()
    else {
        panic!("expected the winner's key");
    };
    assert_eq!(kv.key, "/liverec/home/rooms/bilibili:123/owner");
    assert_eq!(kv.value, br#"{"instance":"nas-1"}"#);
    assert_eq!((kv.create_revision, kv.lease), (4, LEASE));
}

#[test]
fn delete_if_outcomes() {
    assert!(decode_txn_succeeded(&fixture("txn_delete_if_ok.json")).unwrap());
    assert!(!decode_txn_succeeded(&fixture("txn_delete_if_failed.json")).unwrap());
}

#[test]
fn leases() {
    assert_eq!(
        decode_lease_grant(&fixture("lease_grant.json")).unwrap(),
        (LEASE, 15)
    );
    assert_eq!(decode_keepalive(&fixture("keepalive_ok.json")).unwrap(), 15);
    assert_eq!(
        decode_keepalive(&fixture("keepalive_expired.json")).unwrap(),
        0
    );
    assert_eq!(
        decode_time_to_live(&fixture("ttl_alive.json")).unwrap(),
        Some(14)
    );
    assert_eq!(
        decode_time_to_live(&fixture("ttl_expired.json")).unwrap(),
        None
    );
}

#[test]
fn keepalive_stream_error_is_a_server_error() {
    let body = br#"{"error":{"grpc_code":14,"http_code":503,"message":"transport is closing","http_status":"Service Unavailable"}}"#;
    assert_eq!(
        decode_keepalive(body),
        Err(WireError::Server(ServerError {
            code: 14,
            message: "transport is closing".into()
        }))
    );
}

#[test]
fn error_bodies() {
    let e = decode_error(&fixture("error_lease_not_found.json")).unwrap();
    assert_eq!(e.code, GRPC_NOT_FOUND);
    assert_eq!(e.message, "etcdserver: requested lease not found");
    assert!(!e.is_auth());
    let e = decode_error(&fixture("error_invalid_token.json")).unwrap();
    assert!(e.is_auth());
    let e = decode_error(&fixture("error_auth_failed.json")).unwrap();
    assert_eq!(e.code, 3);
    assert!(!e.is_auth(), "bad credentials are not cured by a new token");
    assert_eq!(decode_error(b"<html>502 Bad Gateway</html>"), None);
    assert_eq!(decode_error(b"{}"), None);
}

#[test]
fn token() {
    assert_eq!(
        decode_token(&fixture("authenticate.json")).unwrap(),
        "zAlSeRGdFuYnZzgK.22"
    );
    assert!(decode_token(&fixture("put.json")).is_err());
}

#[test]
fn malformed_answers_name_the_position_not_the_content() {
    let Err(WireError::Malformed(m)) =
        decode_range(br#"{"kvs":[{"key":"c2VjcmV0","create_revision":"x-secret"}]}"#)
    else {
        panic!("expected malformed");
    };
    assert!(!m.contains("secret"), "{m}");
    assert!(matches!(
        decode_range(br#"{"kvs":[{"key":"!!"}]}"#),
        Err(WireError::Malformed(_))
    ));
    assert!(matches!(
        decode_range(b"nonsense"),
        Err(WireError::Malformed(_))
    ));
}

#[test]
fn watch_stream_frames() {
    let stream = fixture("watch_stream.ndjson");
    let frames: Vec<_> = stream
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| decode_watch_frame(l).unwrap())
        .collect();
    assert_eq!(frames[0], WatchFrame::Created { revision: 1 });
    let kinds: Vec<_> = frames[1..]
        .iter()
        .map(|f| match f {
            WatchFrame::Events { events } => {
                assert_eq!(events.len(), 1);
                (
                    events[0].kind,
                    events[0].kv.key.clone(),
                    events[0].kv.mod_revision,
                )
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    let owner = "/liverec/home/rooms/bilibili:123/owner".to_string();
    let session = "/liverec/home/rooms/douyin:9/session".to_string();
    assert_eq!(
        kinds,
        vec![
            (EventKind::Put, owner.clone(), 4),
            (EventKind::Put, session.clone(), 5),
            (EventKind::Delete, owner.clone(), 6),
            (EventKind::Put, owner.clone(), 7),
            (EventKind::Delete, session, 8),
            (EventKind::Delete, owner, 9),
        ]
    );
    let WatchFrame::Events { events } = &frames[1] else {
        unreachable!()
    };
    assert_eq!(events[0].kv.value, br#"{"instance":"nas-1"}"#);
    assert_eq!(events[0].kv.lease, LEASE);
}

#[test]
fn watch_compacted_canceled_and_error() {
    let s = fixture("watch_compacted.ndjson");
    let mut lines = s.split(|b| *b == b'\n').filter(|l| !l.is_empty());
    assert_eq!(
        decode_watch_frame(lines.next().unwrap()).unwrap(),
        WatchFrame::Created { revision: 9 }
    );
    assert_eq!(
        decode_watch_frame(lines.next().unwrap()).unwrap(),
        WatchFrame::Compacted {
            compact_revision: 8
        }
    );

    let s = fixture("watch_canceled_auth.ndjson");
    let WatchFrame::Canceled { reason } = decode_watch_frame(s.trim_ascii()).unwrap() else {
        panic!("expected canceled");
    };
    assert!(reason.contains("invalid auth token"));

    let s = fixture("watch_stream_error.ndjson");
    let last = s.split(|b| *b == b'\n').next_back().unwrap();
    assert_eq!(
        decode_watch_frame(last),
        Err(WireError::Server(ServerError {
            code: GRPC_UNAVAILABLE,
            message: "transport is closing".into()
        }))
    );
    assert_eq!(
        decode_watch_frame(br#"{"result":{"header":{"revision":"12"}}}"#).unwrap(),
        WatchFrame::Progress { revision: 12 }
    );
}
