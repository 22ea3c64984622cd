//! A small JSON-RPC client for the CLI, tests and the load generator.
use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::params::ObjectParams;
use jsonrpsee_http_client::{HttpClient, HttpClientBuilder};
use serde::de::DeserializeOwned;
use std::time::Duration;

#[derive(Clone)]
pub struct Rpc {
    http: HttpClient,
    pub url: String,
}

impl Rpc {
    pub fn new(url: &str) -> Result<Rpc, String> {
        let http = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(90))
            .max_request_size(crate::MAX_REQUEST_BYTES)
            .max_response_size(64 * 1024 * 1024)
            .build(url)
            .map_err(|e| format!("RPC client for {url}: {e}"))?;
        Ok(Rpc { http, url: url.to_string() })
    }

    /// Calls `method` with named parameters (a JSON object).
    pub async fn call<T: DeserializeOwned>(&self, method: &str, params: serde_json::Value) -> Result<T, String> {
        let mut p = ObjectParams::new();
        if let serde_json::Value::Object(map) = params {
            for (k, v) in map {
                p.insert(&k, v).map_err(|e| e.to_string())?;
            }
        }
        self.http.request(method, p).await.map_err(|e| match e {
            jsonrpsee::core::client::Error::Call(obj) => format!("{} (code {})", obj.message(), obj.code()),
            other => format!("{method} on {}: {other}", self.url),
        })
    }
}
