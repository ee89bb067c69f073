//! Recording: pulling streams, writing segment files, and recovering files after a crash.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub mod flv;
pub mod hls;
pub mod hls_writer;
pub mod intent;
pub mod naming;
pub mod output;
pub mod part;
pub mod pipeline;
pub mod pull;
pub mod recover;
pub mod repair;
pub mod sink;

use crate::config::redact_url;
use crate::platform::{Platform, RoomSpec, StreamFormat};
use pull::PullEnd;
use sink::SinkMsg;

/// One recording attempt: fresh stream URLs from the platform, then the first source that
/// connects is pulled until it ends. `ended` lives as long as the session.
pub async fn attempt(
    platform: Arc<dyn Platform>,
    spec: RoomSpec,
    client: reqwest::Client,
    sink: mpsc::Sender<SinkMsg>,
    stall: Duration,
    ended: hls::EndedPlaylists,
    cancel: CancellationToken,
) -> PullEnd {
    let sources = tokio::select! {
        _ = cancel.cancelled() => return PullEnd::Cancelled,
        s = platform.sources(&spec) => s,
    };
    let sources = match sources {
        Ok(s) if !s.is_empty() => s,
        Ok(_) => return PullEnd::Refused("the platform offered no stream".into()),
        Err(crate::platform::PlatformError::Unsupported(why)) => return PullEnd::Unrecordable(why),
        Err(e) => return PullEnd::Refused(e.to_string()),
    };
    let mut last = PullEnd::Refused("no stream source".into());
    for source in &sources {
        last = match source.format {
            StreamFormat::Flv => pull::pull_flv(&client, source, &sink, stall, &cancel).await,
            StreamFormat::Hls => {
                hls::pull_hls(
                    &client,
                    source,
                    &spec.quality,
                    &ended,
                    &sink,
                    stall,
                    &cancel,
                )
                .await
            }
        };
        match &last {
            PullEnd::Refused(why) => {
                tracing::info!(url = %redact_url(&source.url), quality = %source.quality, "source refused: {why}");
            }
            _ => return last,
        }
    }
    last
}
