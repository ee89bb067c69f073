use std::sync::Mutex;

use tracing::Instrument;

use super::*;
use crate::event::SessionRef;

/// Everything logged through a subscriber set on the test's thread only.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn the_writer_threads_log_lines_name_their_room() {
    let log = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_ansi(false)
        .finish();
    let dir = tempfile::tempdir().unwrap();
    let spec = SegmentSpec {
        session: SessionRef {
            id: uuid::Uuid::new_v4(),
            start: crate::event::now(),
            owner: None,
        },
        ..SegmentSpec::plain(
            dir.path().to_path_buf(),
            crate::config::filename_template("{index}").unwrap(),
        )
    };
    // Scoped to this thread, as the room's span is to its task: the writer's blocking thread
    // has neither unless it is handed both.
    tracing::subscriber::with_default(subscriber, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(
            async {
                let (events, _rx) = mpsc::unbounded_channel();
                let writer = WriterHandle::spawn(spec, events, Default::default());
                let tx = writer.sender();
                tx.send(WriterMsg::Connect(Container::Ts)).await.unwrap();
                let segment = HlsSegment {
                    data: Bytes::from_static(b"not really TS, written as it is"),
                    duration: 2.0,
                    sequence: 1,
                    stream: Arc::from("/live/a.m3u8"),
                    boundary: false,
                    init: None,
                    _permit: None,
                };
                tx.send(WriterMsg::Segment(segment)).await.unwrap();
                drop(tx);
                writer.close().await;
            }
            .instrument(tracing::info_span!("room", key = %"direct:abc")),
        );
    });
    let written: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(written, ["1.ts"], "the writer wrote its file");
    let text = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
    for said in ["segment opened", "segment complete"] {
        let line = text
            .lines()
            .find(|l| l.contains(said))
            .unwrap_or_else(|| panic!("no {said:?} line in:\n{text}"));
        assert!(line.contains("room{key=direct:abc}"), "{line}");
    }
}

/// Each pipeline takes only its own kind of input; a puller that broke the protocol (an HLS
/// segment on an FLV connection) fails the session with an internal error, and the file
/// written so far is finished, not lost.
#[tokio::test]
async fn input_of_the_other_format_fails_the_session_and_keeps_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let spec = SegmentSpec::plain(
        dir.path().to_path_buf(),
        crate::config::filename_template("{index}").unwrap(),
    );
    let (events, mut rx) = mpsc::unbounded_channel();
    let writer = WriterHandle::spawn(spec, events, Default::default());
    let tx = writer.sender();
    let flv = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/media/flv_640x360_20s.flv"
    ))
    .unwrap();
    tx.send(WriterMsg::Connect(Container::Flv)).await.unwrap();
    tx.send(WriterMsg::Data(vec![Bytes::from(flv)]))
        .await
        .unwrap();
    let segment = HlsSegment {
        data: Bytes::from_static(b"a TS segment"),
        duration: 2.0,
        sequence: 1,
        stream: Arc::from("/live/a.m3u8"),
        boundary: false,
        init: None,
        _permit: None,
    };
    tx.send(WriterMsg::Segment(segment)).await.unwrap();
    drop(tx);
    writer.close().await;
    let mut failed = Vec::new();
    let mut closed = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        match ev {
            WriterEvent::Failed(e) => failed.push(e.to_string()),
            WriterEvent::Closed(e) => closed.extend(e.segment.map(|s| s.path)),
            _ => {}
        }
    }
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].contains("an HLS segment on a flv connection (an internal error)"),
        "{}",
        failed[0]
    );
    assert_eq!(closed, [dir.path().join("1.flv")]);
    assert!(std::fs::metadata(&closed[0]).unwrap().len() > 1 << 20);
}
