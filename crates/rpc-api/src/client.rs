//! The clients the CLI, tests and the load generator hold: typed calls through
//! [`NodeApiClient`](crate::NodeApiClient), errors as readable strings. [`Rpc`] speaks HTTP (a
//! request per call); [`WsRpc`] holds one WebSocket for many calls in flight (the load
//! generator's submissions) and for subscriptions.
use jsonrpsee::core::client::{ClientT, Error as ClientError};
use jsonrpsee::core::params::ObjectParams;
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee_ws_client::{WsClient, WsClientBuilder};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Longest a client waits for one answer (a `tx_receipt` may wait up to a minute on the node).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(90);
/// Largest answer a client reads (a block of thousands of transactions, an event page).
const MAX_RESPONSE_BYTES: u32 = 64 * 1024 * 1024;

#[derive(Clone)]
pub struct Rpc {
    http: HttpClient,
    pub url: String,
}

impl Rpc {
    pub fn new(url: &str) -> Result<Rpc, String> {
        let http = HttpClientBuilder::default()
            .request_timeout(REQUEST_TIMEOUT)
            .max_request_size(crate::MAX_REQUEST_BYTES)
            .max_response_size(MAX_RESPONSE_BYTES)
            .build(url)
            .map_err(|e| format!("RPC client for {url}: {e}"))?;
        Ok(Rpc { http, url: url.to_string() })
    }

    /// The typed client: with `NodeApiClient` in scope, `rpc.api().account(…)` and so on.
    /// Subscriptions need a WebSocket client; over HTTP they fail.
    pub fn api(&self) -> &HttpClient {
        &self.http
    }

    /// A readable error: the node's answer as "message (code N)", or why the node could not be
    /// asked.
    pub fn explain(&self, error: ClientError) -> String {
        explain(&self.url, error)
    }

    /// Calls `method` by name with named parameters (a JSON object), for callers not yet on the
    /// typed client.
    pub async fn call<T: DeserializeOwned>(&self, method: &str, params: serde_json::Value) -> Result<T, String> {
        let mut p = ObjectParams::new();
        if let serde_json::Value::Object(map) = params {
            for (k, v) in map {
                p.insert(&k, v).map_err(|e| e.to_string())?;
            }
        }
        self.http.request(method, p).await.map_err(|e| match e {
            ClientError::Call(obj) => format!("{} (code {})", obj.message(), obj.code()),
            other => format!("{method} on {}: {other}", self.url),
        })
    }
}

/// A readable error: the node's answer as "message (code N)", or why the node could not be asked.
fn explain(url: &str, error: ClientError) -> String {
    match error {
        ClientError::Call(obj) => format!("{} (code {})", obj.message(), obj.code()),
        other => format!("RPC to {url}: {other}"),
    }
}

/// A WebSocket connection to a node (`ws://host:port`: the same port as HTTP).
pub struct WsRpc {
    ws: WsClient,
    pub url: String,
}

impl WsRpc {
    pub async fn connect(url: &str) -> Result<WsRpc, String> {
        let ws = WsClientBuilder::default()
            .request_timeout(REQUEST_TIMEOUT)
            .max_request_size(crate::MAX_REQUEST_BYTES)
            .max_response_size(MAX_RESPONSE_BYTES)
            .max_concurrent_requests(1_024)
            .build(url)
            .await
            .map_err(|e| format!("WebSocket to {url}: {e}"))?;
        Ok(WsRpc { ws, url: url.to_string() })
    }

    /// The typed client, as [`Rpc::api`], subscriptions included.
    pub fn api(&self) -> &WsClient {
        &self.ws
    }

    pub fn explain(&self, error: ClientError) -> String {
        explain(&self.url, error)
    }
}

/// The WebSocket address of an `http://` (or `https://`) RPC URL: the node serves both on one port.
pub fn ws_url(http_url: &str) -> String {
    if let Some(rest) = http_url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = http_url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        http_url.to_string()
    }
}
