//! A JSON-RPC node that lies: an HTTP proxy in front of a real node's RPC that passes every
//! request on and lets a test rewrite the answers (a forged block, a forged receipt), to show
//! that an auditor's tools catch a node serving a history the validators did not certify.
//!
//! HTTP/1.1 only as far as the node and the `jjj` CLI speak it: requests with a
//! `Content-Length` body; each request goes to the node on a fresh connection (`Connection:
//! close`), whose whole answer is read, rewritten and sent back with its new length.
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Rewrites one answer: given the request's JSON and the answer's JSON, returns the answer to
/// send (unchanged when it returns `None`).
pub type Rewrite = Arc<dyn Fn(&serde_json::Value, &serde_json::Value) -> Option<serde_json::Value> + Send + Sync>;

pub struct ForgingRpc {
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ForgingRpc {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ForgingRpc {
    /// Listens on `listen` and forwards to the node's RPC at `node`.
    pub async fn start(listen: SocketAddr, node: SocketAddr, rewrite: Rewrite) -> Result<ForgingRpc, String> {
        let listener = TcpListener::bind(listen).await.map_err(|e| format!("bind {listen}: {e}"))?;
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let rewrite = rewrite.clone();
                tokio::spawn(async move {
                    let _ = serve(conn, node, rewrite).await;
                });
            }
        });
        Ok(ForgingRpc { url: format!("http://{listen}"), task })
    }
}

/// Reads one HTTP message (head and `Content-Length` body, or to the end for an answer sent
/// with `Connection: close`) from `conn`, `buf` holding what was read ahead.
async fn read_message(
    conn: &mut TcpStream,
    buf: &mut Vec<u8>,
    to_eof: bool,
) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut chunk = [0u8; 16 << 10];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case("content-length").then(|| v.trim().parse::<usize>().ok()).flatten()
    });
    match length {
        Some(len) => {
            while buf.len() < head_end + len {
                let n = conn.read(&mut chunk).await?;
                if n == 0 {
                    return Ok(None);
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[head_end..head_end + len].to_vec();
            buf.drain(..head_end + len);
            Ok(Some((head, body)))
        }
        None if to_eof => {
            conn.read_to_end(buf).await?;
            let body = buf[head_end..].to_vec();
            buf.clear();
            Ok(Some((head, body)))
        }
        None => Ok(Some((head, Vec::new()))),
    }
}

/// Replaces (or adds) a header in an HTTP head.
fn with_header(head: &str, name: &str, value: &str) -> String {
    let mut lines: Vec<&str> = head.trim_end().split("\r\n").collect();
    lines.retain(|l| !l.split(':').next().is_some_and(|k| k.trim().eq_ignore_ascii_case(name)));
    let mut out = lines.join("\r\n");
    out.push_str(&format!("\r\n{name}: {value}\r\n\r\n"));
    out
}

async fn serve(mut client: TcpStream, node: SocketAddr, rewrite: Rewrite) -> std::io::Result<()> {
    let mut buf = Vec::new();
    while let Some((head, body)) = read_message(&mut client, &mut buf, false).await? {
        let mut upstream = TcpStream::connect(node).await?;
        upstream.write_all(with_header(&head, "Connection", "close").as_bytes()).await?;
        upstream.write_all(&body).await?;
        let mut answer_buf = Vec::new();
        let Some((answer_head, answer)) = read_message(&mut upstream, &mut answer_buf, true).await? else {
            return Ok(());
        };
        let request: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let parsed: serde_json::Value = serde_json::from_slice(&answer).unwrap_or_default();
        let answer = match rewrite(&request, &parsed) {
            Some(forged) => serde_json::to_vec(&forged).unwrap_or(answer),
            None => answer,
        };
        let head = with_header(
            &with_header(&answer_head, "Connection", "keep-alive"),
            "Content-Length",
            &answer.len().to_string(),
        );
        client.write_all(head.as_bytes()).await?;
        client.write_all(&answer).await?;
    }
    Ok(())
}
