use super::*;

#[test]
fn unknown_keys_get_suggestions() {
    let src = "segmnt_duration = \"1h\"\nzzz = 1\n";
    let mut rep = Report::new(src);
    let doc = parse_document(src, &mut rep).unwrap();
    let mut top = Section::new(String::new(), doc.span(), doc.get_ref());
    assert!(top.take("segment_duration").is_none());
    top.take("poll_interval");
    top.finish(&mut rep);
    assert_eq!(rep.problems.len(), 2);
    assert_eq!(rep.problems[0].key, "segmnt_duration");
    assert_eq!(rep.problems[0].line, Some(1));
    assert!(
        rep.problems[0]
            .reason
            .contains("did you mean \"segment_duration\"")
    );
    assert_eq!(rep.problems[1].line, Some(2));
    assert!(rep.problems[1].reason.contains("known keys"));
}

#[test]
fn syntax_errors_have_lines() {
    let src = "a = 1\nb = \n";
    let mut rep = Report::new(src);
    assert!(parse_document(src, &mut rep).is_none());
    assert_eq!(rep.problems[0].line, Some(2));
}

#[test]
fn typed_fields_report_paths() {
    let src = "[[rooms]]\nx = 30\ny = \"1hour\"\nz = [\"a\", 3]\nq = 10000\n";
    let mut rep = Report::new(src);
    let doc = parse_document(src, &mut rep).unwrap();
    let mut top = Section::new(String::new(), doc.span(), doc.get_ref());
    let rooms = top.take("rooms").unwrap().sections(&mut rep);
    let mut room = rooms.into_iter().next().unwrap();
    assert_eq!(room.take("x").unwrap().duration(&mut rep), None);
    assert_eq!(room.take("y").unwrap().duration(&mut rep), None);
    assert_eq!(room.take("z").unwrap().strings(&mut rep), None);
    assert_eq!(
        room.take("q").unwrap().words(&mut rep),
        Some(vec!["10000".to_string()])
    );
    let keys: Vec<_> = rep.problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["rooms[0].x", "rooms[0].y", "rooms[0].z[1]"]);
    assert_eq!(
        rep.problems[1].reason,
        r#""1hour" is not a duration (try "1h")"#
    );
    assert_eq!(rep.problems[1].line, Some(3));
}
