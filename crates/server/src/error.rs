//! [`ApiError`]: every failure as JSON, `{"error": {"code": "...", "message": "..."}}`, with a
//! stable code a client can branch on and the HTTP status that goes with it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sleuth_engine::EngineError;
use sleuth_index::IndexError;

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code: `bad_request`, `not_found`, `unauthorized`, `rate_limited`,
    /// `payload_too_large`, `no_index`, `clustering_stale`, `busy`, `timeout`, `internal`.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

/// The JSON body of an error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Code and message.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable code.
    pub code: String,
    /// Message.
    pub message: String,
}

impl ApiError {
    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError { status: StatusCode::BAD_REQUEST, code: "bad_request", message: message.into() }
    }

    /// An error with its own status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_owned(), message: self.message } };
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let message = e.to_string();
        let (status, code) = match &e {
            EngineError::Index(IndexError::NotFound { .. }) => (StatusCode::NOT_FOUND, "not_found"),
            EngineError::Index(IndexError::NoIndex { .. }) => (StatusCode::SERVICE_UNAVAILABLE, "no_index"),
            EngineError::Address(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            EngineError::Cluster(sleuth_analysis::cluster::ClusterError::NotBuilt { .. })
            | EngineError::Cluster(sleuth_analysis::cluster::ClusterError::NotCovered { .. })
            | EngineError::Cluster(sleuth_analysis::cluster::ClusterError::OtherFormat { .. })
            | EngineError::ClusteringStale { .. } => (StatusCode::CONFLICT, "clustering_stale"),
            EngineError::Cluster(sleuth_analysis::cluster::ClusterError::NotACluster { .. }) => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            EngineError::Busy { .. } => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            EngineError::Evm(sleuth_engine::evm::EvmError::BadInput(_)) => (StatusCode::BAD_REQUEST, "bad_request"),
            EngineError::Evm(sleuth_engine::evm::EvmError::NotFound(_)) => (StatusCode::NOT_FOUND, "not_found"),
            EngineError::Incident(m) if m.starts_with("no incident") => (StatusCode::NOT_FOUND, "not_found"),
            EngineError::Incident(_) | EngineError::Prices(_) | EngineError::Report { .. } => {
                (StatusCode::BAD_REQUEST, "bad_request")
            }
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(%message, "request failed");
        }
        ApiError { status, code, message }
    }
}
