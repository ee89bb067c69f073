//! One recording attempt: fresh stream URLs from the platform, tried in order until one delivers.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::end::PullEnd;
use super::{failover, flv, hls};
use crate::platform::limiter::meter::timeout_active;
use crate::platform::{Platform, PlatformError, RoomSpec, StreamFormat};
use crate::util::secret::redact_url;
use crate::writer::handle::WriterMsg;

/// Where an attempt says how the source it pulls compares with the quality the room wants:
/// set before each source is tried, `Some` when that source records less (the room judges it
/// while bytes flow).
pub(crate) type Pulling = Arc<tokio::sync::watch::Sender<Option<crate::event::QualityRef>>>;

/// What an attempt shares with its session: the hosts that failed and the playlists recorded
/// to their end ([`failover::SourceMemory`]), and where it says what it pulls ([`Pulling`]).
#[derive(Clone, Default)]
pub(crate) struct SessionSide {
    pub(crate) memory: failover::SourceMemory,
    pub(crate) pulling: Pulling,
}

/// The stream lookup's own time limit; waits for the platform's request budget do not count.
const SOURCES_TIMEOUT: Duration = Duration::from_secs(30);

/// One recording attempt: fresh stream URLs from the platform, then the first source that
/// delivers media is pulled until it ends. A source that fails before its first media byte
/// (refused, silent, closed at once) hands over to the next one at once; sources on hosts that
/// failed earlier in the session (`memory`, which lives as long as the session) come last.
pub(crate) async fn attempt(
    platform: Arc<dyn Platform>,
    spec: RoomSpec,
    client: reqwest::Client,
    sink: mpsc::Sender<WriterMsg>,
    stall: Duration,
    session: SessionSide,
    cancel: CancellationToken,
) -> PullEnd {
    let SessionSide { memory, pulling } = session;
    let sources = tokio::select! {
        _ = cancel.cancelled() => return PullEnd::Cancelled,
        s = timeout_active(SOURCES_TIMEOUT, platform.sources(&spec)) => s
            .unwrap_or_else(|o| Err(PlatformError::Network(format!("the stream lookup {o}")))),
    };
    let sources = match sources {
        Ok(s) if !s.is_empty() => s,
        Ok(_) => return PullEnd::Refused("the platform offered no stream".into()),
        Err(PlatformError::Unsupported(why)) => return PullEnd::Unrecordable(why),
        Err(e) => return PullEnd::Refused(e.to_string()),
    };
    let ordered = memory.order(sources);
    // Only worth a line when there is a choice: a room with one host has nowhere else to go.
    if !ordered.demoted.is_empty() && ordered.healthy > 0 {
        let hosts: Vec<String> = ordered
            .demoted
            .iter()
            .map(|(host, why)| format!("{host} ({why})"))
            .collect();
        tracing::info!(
            "trying last the stream hosts that failed earlier in this session: {}",
            hosts.join(", ")
        );
    }
    let mut last = PullEnd::Refused("no stream source".into());
    for source in &ordered.items {
        pulling.send_replace(source.below.clone());
        last = match source.format {
            StreamFormat::Flv => flv::pull_flv(&client, source, &sink, stall, &cancel).await,
            StreamFormat::Hls => {
                hls::pull_hls(
                    &client,
                    source,
                    &spec.quality,
                    memory.ended_playlists(),
                    &sink,
                    stall,
                    &cancel,
                )
                .await
            }
        };
        memory.judge(&source.url, &last);
        match &last {
            PullEnd::Refused(why) => {
                tracing::info!(url = %redact_url(&source.url), quality = %source.quality, "source refused: {why}");
            }
            PullEnd::NothingNew(why) => {
                tracing::info!(url = %redact_url(&source.url), quality = %source.quality, "source skipped: {why}");
            }
            _ => return last,
        }
    }
    last
}
