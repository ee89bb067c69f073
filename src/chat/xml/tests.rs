use super::super::event::User;
use super::*;
use chrono::TimeZone;
use proptest::prelude::*;

fn info<'a>(name: &'a str, title: &'a str) -> RecordInfo<'a> {
    RecordInfo {
        room_id: 21452505,
        short_id: 0,
        name,
        title,
        area_parent: "虚拟主播",
        area_child: "虚拟主播",
        start_time: FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 21, 21, 4, 5)
            .unwrap()
            + chrono::Duration::milliseconds(123),
        recorder_version: "0.1.0",
        platform: "bilibili",
        room: "bilibili:21452505",
        session: "0b9e",
        index: 1,
    }
}

fn user(uid: u64, name: &str) -> User {
    User {
        uid,
        name: name.into(),
    }
}

fn danmaku(name: &str, text: &str) -> ChatEvent {
    ChatEvent::Danmaku(Danmaku {
        user: user(6088969, name),
        text: text.into(),
        mode: 1,
        size: 25,
        color: 16777215,
        sent_ms: 1723979200649,
        raw: None,
    })
}

fn super_chat() -> ChatEvent {
    ChatEvent::SuperChat(SuperChat {
        user: user(294094150, "界原虚"),
        message: "猪播完美预测自己第一个死".into(),
        price_yuan: 30,
        duration_s: 60,
        raw: Some(r#"{"price":30,"message":"a<b>&\"c\""}"#.into()),
    })
}

fn gift(name: &str, giftname: &str) -> ChatEvent {
    ChatEvent::Gift(Gift {
        user: user(510149209, name),
        gift_id: 31036,
        name: giftname.into(),
        count: 2,
        value_milli_cny: Some(200),
        tid: None,
        raw: None,
    })
}

fn guard() -> ChatEvent {
    ChatEvent::Guard(Guard {
        user: user(14225357, "妙妙喵喵妙妙喵O_O"),
        level: 3,
        months: 1,
        raw: None,
    })
}

fn all_on() -> XmlWriter {
    XmlWriter::new(XmlOptions {
        super_chats: true,
        gifts: true,
        guards: true,
        raw: true,
    })
}

fn document(writer: &XmlWriter, events: &[(ChatEvent, Duration)]) -> String {
    let mut doc = XmlWriter::header(&info("alice", "title"));
    for (event, offset) in events {
        if let Some(line) = writer.element(event, *offset) {
            doc.push_str(&line);
        }
    }
    doc.push_str(XmlWriter::footer());
    doc
}

#[test]
fn the_notes_example_lines() {
    // DANMAKU.md §C.4, with `user` moved last (see `element`).
    let w = XmlWriter::default();
    assert_eq!(
        w.element(
            &danmaku("tim1997", "hello <&> \"x\""),
            Duration::from_millis(12345)
        )
        .unwrap(),
        "  <d p=\"12.345,1,25,16777215,1723979200649,0,6088969,0\" user=\"tim1997\">hello &lt;&amp;&gt; &quot;x&quot;</d>\n"
    );
    assert_eq!(
        w.element(&super_chat(), Duration::from_secs(20)).unwrap(),
        "  <sc ts=\"20.000\" uid=\"294094150\" price=\"30\" time=\"60\" user=\"界原虚\">猪播完美预测自己第一个死</sc>\n"
    );
    assert_eq!(
        all_on()
            .element(&gift("gift_user", "小花花"), Duration::from_millis(21500))
            .unwrap(),
        "  <gift ts=\"21.500\" uid=\"510149209\" giftcount=\"2\" price=\"200\" user=\"gift_user\" giftname=\"小花花\" />\n"
    );
    assert_eq!(
        w.element(&guard(), Duration::from_secs(22)).unwrap(),
        "  <guard ts=\"22.000\" uid=\"14225357\" level=\"3\" count=\"1\" user=\"妙妙喵喵妙妙喵O_O\" />\n"
    );
}

#[test]
fn options_filter_kinds() {
    let w = XmlWriter::default();
    assert!(
        w.element(&gift("a", "b"), Duration::ZERO).is_none(),
        "gifts off by default"
    );
    let none = XmlWriter::new(XmlOptions {
        super_chats: false,
        gifts: false,
        guards: false,
        raw: false,
    });
    assert!(none.element(&super_chat(), Duration::ZERO).is_none());
    assert!(none.element(&guard(), Duration::ZERO).is_none());
    assert!(none.element(&danmaku("a", "b"), Duration::ZERO).is_some());
    assert!(
        !w.element(&super_chat(), Duration::ZERO)
            .unwrap()
            .contains("raw=")
    );
    assert!(
        all_on()
            .element(&super_chat(), Duration::ZERO)
            .unwrap()
            .contains("raw=")
    );
}

#[test]
fn blank_chat_lines_are_skipped() {
    let w = XmlWriter::default();
    assert!(
        w.element(&danmaku("a", " \u{7}\n "), Duration::ZERO)
            .is_none()
    );
}

#[test]
fn header_layout() {
    let header = XmlWriter::header(&info(&"名".repeat(400), &"<标题>".repeat(400)));
    let at = header.find("<BililiveRecorderRecordInfo").unwrap();
    assert!(at + "<BililiveRecorderRecordInfo".len() < 1024, "at {at}");
    assert!(header.contains(r#"start_time="2026-11-21T21:04:05.123+08:00""#));
    assert!(header.contains("title=\"&lt;标题&gt;"));
    assert!(header.ends_with("\n"));
    assert_eq!(header.lines().count(), 11);
}

#[test]
fn escaping_and_cleaning() {
    let w = all_on();
    let evil = "a\"b'c<d>e&f\ng\r\th\u{0}\u{1b}\u{85}\u{feff}\u{ffff}i";
    let line = w.element(&danmaku(evil, evil), Duration::ZERO).unwrap();
    assert_eq!(line.matches('\n').count(), 1, "only the line's own newline");
    assert!(line.ends_with("</d>\n"));
    assert!(line.contains(r#"user="a&quot;b'c&lt;d&gt;e&amp;f g  hi""#));
    assert!(line.contains(">a&quot;b&apos;c&lt;d&gt;e&amp;f g  hi</d>"));
    // No raw `>` inside the tag, so DanmakuFactory's `<`-to-`>` scan sees the whole tag.
    let tag_end = line.find('>').unwrap();
    assert!(line[..tag_end].contains("user="));
    assert!(line[tag_end..].starts_with(">a&quot;"));
}

#[test]
fn offsets_have_three_decimals() {
    let w = XmlWriter::default();
    let at = |d| w.element(&guard(), d).unwrap();
    assert!(at(Duration::ZERO).contains("ts=\"0.000\""));
    assert!(at(Duration::from_micros(1_999)).contains("ts=\"0.001\""));
    assert!(at(Duration::from_secs(86_400 * 3)).contains("ts=\"259200.000\""));
}

#[test]
fn strict_parser_reads_every_value_back() {
    let evil = "x\"'<>&;\u{1}y";
    let events = vec![
        (danmaku(evil, evil), Duration::from_millis(1)),
        (super_chat(), Duration::from_millis(2)),
        (gift(evil, evil), Duration::from_millis(3)),
        (guard(), Duration::from_millis(4)),
    ];
    let doc = document(&all_on(), &events);
    let parsed = roxmltree::Document::parse(&doc).unwrap();
    let root = parsed.root_element();
    assert_eq!(root.tag_name().name(), "i");
    let info = root
        .children()
        .find(|n| n.has_tag_name("BililiveRecorderRecordInfo"))
        .unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(info.attribute("start_time").unwrap()).unwrap(),
        self::info("", "").start_time
    );
    let d = root.children().find(|n| n.has_tag_name("d")).unwrap();
    assert_eq!(d.attribute("user"), Some("x\"'<>&;y"));
    assert_eq!(d.text(), Some("x\"'<>&;y"));
    let sc = root.children().find(|n| n.has_tag_name("sc")).unwrap();
    assert_eq!(
        sc.attribute("raw"),
        Some(r#"{"price":30,"message":"a<b>&\"c\""}"#)
    );
    let g = root.children().find(|n| n.has_tag_name("gift")).unwrap();
    assert_eq!(g.attribute("giftname"), Some("x\"'<>&;y"));
    assert_eq!(g.attribute("giftcount"), Some("2"));
    assert!(root.children().any(|n| n.has_tag_name("guard")));
}

/// DanmakuFactory's reader as DANMAKU.md §C.3 describes it (DF `src/XmlFile.c readXml`,
/// `getNextWord`, `strGetLeftPart`, `deQuotMarks`, `xmlUnescape`), reduced to what the
/// tests compare.
#[derive(Debug, Default, PartialEq)]
struct DfRecord {
    tag: String,
    time: f64,
    kind: i32,
    user: String,
    uid: u64,
    giftname: String,
    count: i64,
    price: i64,
    text: Option<String>,
}

fn df_read(doc: &str) -> Vec<DfRecord> {
    fn blank(c: char) -> bool {
        matches!(c, ' ' | '\t' | '\n' | '\r')
    }
    // getNextWord: skip blanks, take up to the next blank.
    fn next_word(s: &str) -> (&str, &str) {
        let s = s.trim_start_matches(blank);
        let end = s.find(blank).unwrap_or(s.len());
        (&s[..end], &s[end..])
    }
    // strGetLeftPart: up to `cut` (consumed); all of it and nothing if `cut` is absent.
    fn left_part(s: &str, cut: char) -> (&str, &str) {
        match s.find(cut) {
            Some(i) => (&s[..i], &s[i + cut.len_utf8()..]),
            None => ("", ""),
        }
    }
    fn dequote(s: &str) -> &str {
        let s = s.trim_matches(blank);
        let s = s.strip_prefix(['"', '\'']).unwrap_or(s);
        s.strip_suffix(['"', '\'']).unwrap_or(s)
    }
    fn unescape(s: &str) -> String {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&apos;", "'")
            .replace("&quot;", "\"")
            .replace("&#34;", "\"")
            .replace("&amp;", "&")
    }
    let head = &doc.as_bytes()[..doc.len().min(1024)];
    let is_br = head.windows(17).any(|w| w == b"<BililiveRecorder");
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(lt) = rest.find('<') {
        rest = &rest[lt + 1..];
        let Some(gt) = rest.find('>') else { break };
        let label = &rest[..gt];
        rest = &rest[gt + 1..];
        let (tag, mut attrs) = next_word(label);
        if !["d", "gift", "sc", "guard"].contains(&tag) {
            continue;
        }
        let mut r = DfRecord {
            tag: tag.into(),
            count: -1,
            price: -1,
            ..DfRecord::default()
        };
        while !attrs.is_empty() {
            let (key, after) = left_part(attrs, '=');
            attrs = after;
            match key.trim_matches(blank) {
                "p" => {
                    let (t, a) = left_part(attrs, ',');
                    let (k, a) = left_part(a, ',');
                    let (_size, a) = left_part(a, ',');
                    let (_color, a) = left_part(a, ',');
                    r.time = dequote(t).parse().unwrap_or(0.0);
                    r.kind = dequote(k).parse().unwrap_or(0);
                    attrs = left_part(a, '"').1;
                }
                "raw" => {
                    let (_, a) = left_part(attrs, '"');
                    attrs = left_part(a, '"').1;
                }
                "" => break,
                key => {
                    let (value, a) = next_word(attrs);
                    attrs = a;
                    let value = dequote(value);
                    match key {
                        "ts" => r.time = value.parse().unwrap_or(0.0),
                        "user" => r.user = value.into(),
                        "uid" => r.uid = value.parse().unwrap_or(0),
                        "giftname" => r.giftname = value.into(),
                        "giftcount" | "count" => r.count = value.parse().unwrap_or(0),
                        "price" => {
                            let p: i64 = value.parse().unwrap_or(0);
                            r.price = if is_br && tag == "sc" {
                                p.saturating_mul(1000)
                            } else {
                                p
                            };
                        }
                        "level" => {
                            r.price = match value {
                                "1" => 19_998_000,
                                "2" => 1_998_000,
                                "3" => 198_000,
                                _ => 18_000,
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        if tag == "d" || tag == "sc" {
            let end = rest.find('<').unwrap_or(rest.len());
            r.text = Some(unescape(&rest[..end]));
        }
        out.push(r);
    }
    out
}

#[test]
fn danmaku_factory_reads_every_record() {
    let events = vec![
        (
            danmaku("tim1997", "hello <&> \"x\" 'y'"),
            Duration::from_millis(12345),
        ),
        (super_chat(), Duration::from_secs(20)),
        (gift("gift_user", "小花花"), Duration::from_millis(21500)),
        (guard(), Duration::from_secs(22)),
    ];
    let records = df_read(&document(&all_on(), &events));
    assert_eq!(
        records,
        vec![
            DfRecord {
                tag: "d".into(),
                time: 12.345,
                kind: 1,
                user: "tim1997".into(),
                uid: 0, // DF takes no uid from `<d>`.
                count: -1,
                price: -1,
                text: Some("hello <&> \"x\" 'y'".into()),
                ..DfRecord::default()
            },
            DfRecord {
                tag: "sc".into(),
                time: 20.0,
                user: "界原虚".into(),
                uid: 294094150,
                count: -1,
                // Yuan times 1000: the header put `<BililiveRecorder` in the first 1 KiB.
                price: 30_000,
                text: Some("猪播完美预测自己第一个死".into()),
                ..DfRecord::default()
            },
            DfRecord {
                tag: "gift".into(),
                time: 21.5,
                user: "gift_user".into(),
                uid: 510149209,
                giftname: "小花花".into(),
                count: 2,
                price: 200,
                ..DfRecord::default()
            },
            DfRecord {
                tag: "guard".into(),
                time: 22.0,
                user: "妙妙喵喵妙妙喵O_O".into(),
                uid: 14225357,
                count: 1,
                price: 198000,
                ..DfRecord::default()
            },
        ]
    );
}

#[test]
fn danmaku_factory_keeps_the_numbers_when_a_name_has_a_space() {
    let records = df_read(&document(
        &all_on(),
        &[(gift("a b", "c d"), Duration::ZERO)],
    ));
    // DF cuts the names at the space (BililiveRecorder output has the same limit), but
    // nothing written before them is lost.
    assert_eq!(
        (records[0].uid, records[0].count, records[0].price),
        (510149209, 2, 200)
    );
    assert_eq!(records[0].user, "a");
}

#[test]
fn repair_plans() {
    let full = document(
        &all_on(),
        &[(guard(), Duration::ZERO), (super_chat(), Duration::ZERO)],
    );
    assert_eq!(plan_repair(full.as_bytes()), Repair::Complete);

    let open = full.strip_suffix(FOOTER).unwrap();
    assert_eq!(
        plan_repair(open.as_bytes()),
        Repair::Truncate { keep: open.len() }
    );

    let torn = &full.as_bytes()[..full.len() - 30];
    let Repair::Truncate { keep } = plan_repair(torn) else {
        panic!("not repairable")
    };
    let repaired = format!("{}{FOOTER}", std::str::from_utf8(&torn[..keep]).unwrap());
    roxmltree::Document::parse(&repaired).unwrap();

    let mut zero_tail = full.as_bytes().to_vec();
    zero_tail.truncate(full.len() - 1);
    zero_tail.extend([0u8; 64]);
    let Repair::Truncate { keep } = plan_repair(&zero_tail) else {
        panic!("not repairable")
    };
    assert_eq!(
        keep,
        open.len(),
        "the footer line before the zeros is replaced, not doubled"
    );

    assert_eq!(plan_repair(b""), Repair::Unusable);
    assert_eq!(
        plan_repair(b"<?xml version=\"1.0\"?>\n<i"),
        Repair::Unusable
    );
}

fn any_event() -> impl Strategy<Value = ChatEvent> {
    let text = "(?s).{0,40}";
    prop_oneof![
        (text, text).prop_map(|(n, t)| danmaku(&n, &t)),
        (text, text).prop_map(|(n, g)| gift(&n, &g)),
        (text, text, any::<u64>()).prop_map(|(n, m, p)| ChatEvent::SuperChat(SuperChat {
            user: user(1, &n),
            message: m,
            price_yuan: p,
            duration_s: 60,
            raw: Some(n),
        })),
    ]
}

proptest! {
    #[test]
    fn any_text_gives_a_well_formed_document_and_exact_repairs(
        events in proptest::collection::vec((any_event(), 0u64..10_000_000), 0..12),
        cut in any::<prop::sample::Index>(),
    ) {
        let events: Vec<_> = events
            .into_iter()
            .map(|(e, ms)| (e, Duration::from_millis(ms)))
            .collect();
        let doc = document(&all_on(), &events);
        prop_assert!(roxmltree::Document::parse(&doc).is_ok());
        let body_lines = doc.lines().count() - 12;
        prop_assert_eq!(df_read(&doc).len(), body_lines, "DF sees one record per line");
        // A crash can tear the file anywhere after the header.
        let header_len = XmlWriter::header(&info("alice", "title")).len();
        let at = header_len + cut.index(doc.len() - header_len + 1);
        let torn = &doc.as_bytes()[..at];
        match plan_repair(torn) {
            Repair::Complete => prop_assert_eq!(at, doc.len()),
            Repair::Truncate { keep } => {
                let mut repaired = torn[..keep].to_vec();
                repaired.extend_from_slice(FOOTER.as_bytes());
                let repaired = String::from_utf8(repaired).unwrap();
                prop_assert!(roxmltree::Document::parse(&repaired).is_ok());
            }
            Repair::Unusable => prop_assert!(false, "a torn body is always repairable"),
        }
    }
}
