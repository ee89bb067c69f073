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
