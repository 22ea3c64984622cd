//! The web pages (wallet, explorer, governance, operator, auditor) served on the RPC port.
//!
//! Served from the node's `web_dir` (what `scripts/build-web.sh` writes: the static pages, the
//! signing module `wallet.wasm` and the contracts' metadata), on the same port as JSON-RPC, so
//! the pages talk to the node on their own origin: no CORS, no second server to run. A GET or
//! HEAD that is not a WebSocket upgrade is a page request; everything else goes to JSON-RPC.
//!
//! Only plain file names under the directory are served (letters, digits, `.`, `_`, `-`,
//! `/`; no segment starting with a dot), at most [`MAX_WEB_FILE_BYTES`] each, with a content
//! security policy that allows scripts and connections to this origin only.
use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Largest file the node serves (the signing module is the largest, about 1 MiB).
pub const MAX_WEB_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Scripts and connections from this origin only; wasm compiled from this origin's module.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' ws: wss:; \
                   img-src 'self' data: blob:; style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

#[derive(Clone)]
pub struct WebLayer {
    dir: Option<Arc<PathBuf>>,
}

impl WebLayer {
    /// Serves `dir`; `None` passes every request to JSON-RPC.
    pub fn new(dir: Option<PathBuf>) -> Self {
        WebLayer { dir: dir.map(Arc::new) }
    }
}

impl<S> Layer<S> for WebLayer {
    type Service = WebService<S>;
    fn layer(&self, inner: S) -> WebService<S> {
        WebService { dir: self.dir.clone(), inner }
    }
}

#[derive(Clone)]
pub struct WebService<S> {
    dir: Option<Arc<PathBuf>>,
    inner: S,
}

type ResponseFuture = Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send>>;

impl<S, B> Service<HttpRequest<B>> for WebService<S>
where
    S: Service<HttpRequest<B>, Response = HttpResponse, Error = BoxError>,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: HttpRequest<B>) -> ResponseFuture {
        let page = matches!(*req.method(), http::Method::GET | http::Method::HEAD)
            && !req.headers().contains_key(http::header::UPGRADE);
        match (&self.dir, page) {
            (Some(dir), true) => {
                let dir = dir.clone();
                let head = req.method() == http::Method::HEAD;
                let path = req.uri().path().to_string();
                Box::pin(async move { Ok(serve(&dir, &path, head).await) })
            }
            _ => Box::pin(self.inner.call(req)),
        }
    }
}

/// The file under `dir` a request path names, or why it is not served.
pub fn resolve(dir: &Path, path: &str) -> Result<PathBuf, &'static str> {
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "index.html" } else { rel };
    if rel.len() > 256 {
        return Err("the path is too long");
    }
    let plain = |seg: &str| {
        !seg.is_empty()
            && !seg.starts_with('.')
            && seg.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    if !rel.split('/').all(plain) {
        return Err("only plain file names are served");
    }
    Ok(dir.join(rel))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "txt" | "key" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn response(status: http::StatusCode, kind: &str, body: Vec<u8>, head: bool) -> HttpResponse {
    let len = body.len();
    let body = if head { HttpBody::from(Vec::new()) } else { HttpBody::from(body) };
    let mut r = HttpResponse::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    let mut set = |name: http::header::HeaderName, value: &str| {
        if let Ok(v) = http::HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    set(http::header::CONTENT_TYPE, kind);
    set(http::header::CONTENT_LENGTH, &len.to_string());
    set(http::header::CACHE_CONTROL, "no-cache");
    set(http::header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(http::header::CONTENT_SECURITY_POLICY, CSP);
    set(http::header::REFERRER_POLICY, "no-referrer");
    r
}

async fn serve(dir: &Path, path: &str, head: bool) -> HttpResponse {
    let not_found = |why: &str| {
        response(
            http::StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            format!("not found: {why}\n").into_bytes(),
            head,
        )
    };
    let file = match resolve(dir, path) {
        Ok(f) => f,
        Err(why) => return not_found(why),
    };
    let read = file.clone();
    // Files are small and few: read on the blocking pool rather than pull in tokio's fs.
    let bytes = tokio::task::spawn_blocking(move || -> Result<Option<Vec<u8>>, std::io::Error> {
        let m = std::fs::metadata(&read)?;
        if !m.is_file() || m.len() > MAX_WEB_FILE_BYTES {
            return Ok(None);
        }
        std::fs::read(&read).map(Some)
    })
    .await;
    match bytes {
        Ok(Ok(Some(bytes))) => response(http::StatusCode::OK, content_type(&file), bytes, head),
        Ok(Ok(None)) => not_found("not a file the node serves"),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => not_found(path),
        Ok(Err(e)) => {
            tracing::warn!(file = %file.display(), "web page unreadable: {e}");
            not_found(path)
        }
        Err(e) => {
            tracing::warn!("web page read did not finish: {e}");
            not_found(path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_under_the_directory_resolve() {
        let dir = Path::new("/srv/web");
        assert_eq!(resolve(dir, "/"), Ok(dir.join("index.html")));
        assert_eq!(resolve(dir, "/app.js"), Ok(dir.join("app.js")));
        assert_eq!(resolve(dir, "/metadata/utility_bills.json"), Ok(dir.join("metadata/utility_bills.json")));
        for bad in ["/../etc/passwd", "/metadata/../../x", "/.git/config", "/a//b", "/%2e%2e/x", "/a b", "/a\\b"] {
            assert!(resolve(dir, bad).is_err(), "{bad} resolved");
        }
        assert!(resolve(dir, &format!("/{}", "a".repeat(300))).is_err());
    }
}
