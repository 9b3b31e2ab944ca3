//! Sending alerts to webhooks: each watch with a webhook gets its alerts POSTed as JSON, one
//! at a time and in order, each retried with exponential backoff (1 s doubling to 5 min)
//! until the receiver answers 2xx. How far each watch's webhook got is saved in the data dir
//! after every success (`alerts/delivered.json`), so a restart resumes there. Delivery is at
//! least once: a crash between a receiver's 2xx and that save sends the alert again, and
//! receivers dedupe by its `seq` (also sent as the `Idempotency-Key` header).

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use sleuth_engine::watch::{Outgoing, WebhookUrl};
use sleuth_engine::EngineError;

use crate::metrics::Metrics;

/// First wait after a failed POST; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between tries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Time a receiver has to answer.
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the sender finds the alerts to send and records what was taken: the data dir of a
/// Bitcoin server or of an EVM one.
pub trait Outbox: Send + Sync + 'static {
    /// Per watch with a webhook, the alerts it has not taken yet.
    fn outgoing(&self) -> Result<Vec<Outgoing>, EngineError>;
    /// Records that watch `watch_id`'s webhook took every alert up to `seq`.
    fn mark_delivered(&self, watch_id: u32, seq: u64) -> Result<(), EngineError>;
    /// Woken when watches raise alerts.
    fn raised(&self) -> &tokio::sync::Notify;
    /// Where failures are counted.
    fn metrics(&self) -> &Metrics;
}

impl Outbox for crate::AppState {
    fn outgoing(&self) -> Result<Vec<Outgoing>, EngineError> {
        self.engine.outgoing()
    }
    fn mark_delivered(&self, watch_id: u32, seq: u64) -> Result<(), EngineError> {
        self.engine.mark_delivered(watch_id, seq)
    }
    fn raised(&self) -> &tokio::sync::Notify {
        &self.alerts_raised
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// POSTs alert `seq` (its JSON, `body`) to `url`; `Ok` on a 2xx answer.
///
/// # Errors
/// What went wrong, for the log: no connection, a timeout, another status.
pub async fn post(url: &WebhookUrl, seq: u64, body: Vec<u8>) -> Result<(), String> {
    let send = async {
        let stream = tokio::net::TcpStream::connect(&url.authority).await.map_err(|e| format!("connect: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(conn);
        let req = hyper::Request::post(&url.path)
            .header(hyper::header::HOST, &url.host)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", seq.to_string())
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("request: {e}"))?;
        let resp = sender.send_request(req).await.map_err(|e| format!("send: {e}"))?;
        let status = resp.status();
        let _ = resp.into_body().collect().await;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered {status}"))
        }
    };
    tokio::time::timeout(POST_TIMEOUT, send).await.map_err(|_| "no answer in time".to_owned())?
}

/// Sends what is pending as soon as watches raise alerts, and every `every` (retries), until
/// the process ends.
pub fn spawn<O: Outbox>(state: Arc<O>, every: Duration) {
    tokio::spawn(async move {
        // Per watch: when to try again, and the wait after the next failure.
        let mut backoff: HashMap<u32, (Instant, Duration)> = HashMap::new();
        loop {
            let s = state.clone();
            let pending = match tokio::task::spawn_blocking(move || s.outgoing()).await {
                Ok(Ok(p)) => p,
                Ok(Err(e)) => {
                    tracing::warn!("reading the alerts to send: {e}");
                    Vec::new()
                }
                Err(e) => {
                    tracing::warn!("reading the alerts to send panicked: {e}");
                    Vec::new()
                }
            };
            for Outgoing { watch_id, webhook, alerts } in pending {
                if backoff.get(&watch_id).is_some_and(|(at, _)| Instant::now() < *at) {
                    continue;
                }
                let Ok(url) = WebhookUrl::parse(&webhook) else { continue };
                for (seq, body) in alerts {
                    match post(&url, seq, body).await {
                        Ok(()) => {
                            backoff.remove(&watch_id);
                            let (s, id) = (state.clone(), watch_id);
                            match tokio::task::spawn_blocking(move || s.mark_delivered(id, seq)).await {
                                Ok(Ok(())) => {}
                                Ok(Err(e)) => tracing::warn!("recording a delivered alert: {e}"),
                                Err(e) => tracing::warn!("recording a delivered alert panicked: {e}"),
                            }
                        }
                        Err(e) => {
                            state.metrics().webhook_failures.fetch_add(1, Ordering::Relaxed);
                            let wait = backoff.get(&watch_id).map_or(FIRST_BACKOFF, |(_, w)| (*w * 2).min(MAX_BACKOFF));
                            tracing::warn!(
                                watch = watch_id,
                                seq,
                                "webhook {}: {e}; trying again in {wait:?}",
                                url.host
                            );
                            backoff.insert(watch_id, (Instant::now() + wait, wait));
                            break;
                        }
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = state.raised().notified() => {}
            }
        }
    });
}
