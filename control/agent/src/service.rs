//! The `strait.v1.Control` gRPC service.

use std::{pin::Pin, sync::Arc, time::Duration};

use strait_proto::v1::{
    ApplyRequest, ApplyResponse, FieldError, GetRequest, GetResponse, ListEndpointsRequest,
    ListEndpointsResponse, SetEndpointRequest, SetEndpointResponse, StatsRequest, StatsResponse,
    StatusRequest, StatusResponse, ValidateRequest, ValidateResponse, WatchRequest,
    control_server::Control,
};
use tokio::{sync::watch, time::Instant};
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::{
    link::{DataplaneState, LinkServer},
    publish::{Outcome, Publisher},
    stats, status,
};

/// Default and largest wait of `Apply` with `wait`.
const DEFAULT_WAIT: Duration = Duration::from_secs(10);
const MAX_WAIT: Duration = Duration::from_secs(300);
/// How often `Watch` re-reads the workers' generations from the stats region.
const WATCH_POLL: Duration = Duration::from_millis(100);

/// The service; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct ControlService {
    pub(crate) publisher: Arc<Publisher>,
    pub(crate) link: LinkServer,
    pub(crate) dataplane: watch::Receiver<DataplaneState>,
}

fn to_proto(errors: Vec<strait_config::FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| FieldError {
            path: e.path,
            reason: e.reason,
        })
        .collect()
}

impl ControlService {
    async fn status_now(&self) -> StatusResponse {
        let generation = self.publisher.generation().await;
        let dp = self.dataplane.borrow().clone();
        status::build(
            generation,
            &dp,
            &self.link.workers(),
            strait_shm::monotonic_ms(),
        )
    }

    /// Waits until every worker runs `generation`, or the data plane refuses it.
    async fn wait_live(&self, generation: u64, timeout: Duration) -> Result<(), String> {
        let mut rx = self.dataplane.clone();
        let waited = tokio::time::timeout(
            timeout,
            rx.wait_for(|s| {
                s.live >= generation || s.rejected.as_ref().is_some_and(|(g, _)| *g == generation)
            }),
        )
        .await;
        match waited {
            Ok(Ok(state)) => match &state.rejected {
                Some((g, reason)) if *g == generation => Err(reason.clone()),
                _ => Ok(()),
            },
            Ok(Err(_)) => Err("agent is shutting down".into()),
            Err(_) if !self.dataplane.borrow().connected => Err(format!(
                "no data plane connected within {} ms",
                timeout.as_millis()
            )),
            Err(_) => Err(format!(
                "workers did not all run it within {} ms",
                timeout.as_millis()
            )),
        }
    }
}

/// A status with heartbeat ages cleared: what `Watch` compares to decide a change happened.
fn without_heartbeats(status: &StatusResponse) -> StatusResponse {
    let mut s = status.clone();
    s.workers.iter_mut().for_each(|w| w.heartbeat_age_ms = 0);
    s
}

type StatusStream = Pin<Box<dyn Stream<Item = Result<StatusResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Control for ControlService {
    async fn apply(
        &self,
        request: Request<ApplyRequest>,
    ) -> Result<Response<ApplyResponse>, Status> {
        let started = Instant::now();
        let req = request.into_inner();
        let mut resp = ApplyResponse::default();
        let generation = match self.publisher.apply(req.config).await {
            Outcome::Rejected(errors) => {
                resp.errors = to_proto(errors);
                return Ok(Response::new(resp));
            }
            Outcome::Unchanged(g) => {
                resp.unchanged = true;
                g
            }
            Outcome::Published {
                generation,
                warning,
            } => {
                resp.warning = warning.unwrap_or_default();
                generation
            }
        };
        resp.accepted = true;
        resp.generation = generation;
        if req.wait {
            let timeout = match req.wait_timeout_ms {
                0 => DEFAULT_WAIT,
                ms => Duration::from_millis(ms.into()).min(MAX_WAIT),
            };
            match self.wait_live(generation, timeout).await {
                Ok(()) => {
                    resp.live = true;
                    resp.live_after_us = started.elapsed().as_micros() as u64;
                }
                Err(reason) => resp.dataplane_error = reason,
            }
        }
        Ok(Response::new(resp))
    }

    async fn validate(
        &self,
        request: Request<ValidateRequest>,
    ) -> Result<Response<ValidateResponse>, Status> {
        let resp = match self.publisher.validate(request.into_inner().config).await {
            Ok(bytes) => ValidateResponse {
                valid: true,
                errors: vec![],
                image_bytes: bytes as u64,
            },
            Err(errors) => ValidateResponse {
                valid: false,
                errors: to_proto(errors),
                image_bytes: 0,
            },
        };
        Ok(Response::new(resp))
    }

    async fn get(&self, _: Request<GetRequest>) -> Result<Response<GetResponse>, Status> {
        let (config, generation) = self.publisher.get().await;
        Ok(Response::new(GetResponse { config, generation }))
    }

    async fn status(&self, _: Request<StatusRequest>) -> Result<Response<StatusResponse>, Status> {
        Ok(Response::new(self.status_now().await))
    }

    async fn stats(&self, _: Request<StatsRequest>) -> Result<Response<StatsResponse>, Status> {
        let generation = self.publisher.generation().await;
        let workers = self.link.with_stats(stats::read);
        Ok(Response::new(stats::build(generation, workers)))
    }

    async fn set_endpoint(
        &self,
        request: Request<SetEndpointRequest>,
    ) -> Result<Response<SetEndpointResponse>, Status> {
        self.set_endpoint_state(request.into_inner())
            .await
            .map(Response::new)
    }

    async fn list_endpoints(
        &self,
        _: Request<ListEndpointsRequest>,
    ) -> Result<Response<ListEndpointsResponse>, Status> {
        Ok(Response::new(self.endpoint_list()))
    }

    type WatchStream = StatusStream;

    async fn watch(&self, _: Request<WatchRequest>) -> Result<Response<Self::WatchStream>, Status> {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let service = self.clone();
        tokio::spawn(async move {
            let mut dp = service.dataplane.clone();
            let mut last = None;
            loop {
                let now = service.status_now().await;
                let key = without_heartbeats(&now);
                if last.as_ref() != Some(&key) {
                    if tx.send(Ok(now)).await.is_err() {
                        return;
                    }
                    last = Some(key);
                }
                tokio::select! {
                    changed = dp.changed() => if changed.is_err() { return },
                    () = tokio::time::sleep(WATCH_POLL) => {}
                    () = tx.closed() => return,
                }
            }
        });
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
        Ok(Response::new(Box::pin(stream)))
    }
}
