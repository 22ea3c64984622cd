//! A TCP fault proxy on loopback between validators, driven from the test (CometBFT's e2e
//! perturbations are the model).
//!
//! For every ordered pair of validators (`from`, `to`) there is one listener: `from`'s config
//! lists it as `to`'s address, and it forwards each connection to `to`'s real p2p port. The p2p
//! layer keeps one connection per pair (the smaller id dials), so each link carries at most one
//! live connection, through one of its two listeners; the proxy knows which validator sent each
//! byte.
//!
//! The p2p stream is Noise-encrypted: dropping bytes in the middle of a connection breaks the
//! session for good. So the faults are whole-connection ones (cut, refuse reconnects), added
//! latency (order kept, nothing lost), and one-way blocking, which discards one direction's
//! bytes and therefore closes the affected connections when the link heals.
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The faults in force. Indices are validator numbers (0-based).
#[derive(Clone, Debug)]
struct Faults {
    /// `down[a][b]` (kept symmetric): the link is cut; connections are closed and refused.
    down: Vec<Vec<bool>>,
    /// `blocked[from][to]`: bytes from `from` to `to` are discarded.
    blocked: Vec<Vec<bool>>,
    /// `delay[from][to]`: added one-way latency.
    delay: Vec<Vec<Duration>>,
    /// `epoch[a][b]` (symmetric): bumped to close every connection of the link opened before.
    epoch: Vec<Vec<u64>>,
}

impl Faults {
    fn new(n: usize) -> Self {
        Faults {
            down: vec![vec![false; n]; n],
            blocked: vec![vec![false; n]; n],
            delay: vec![vec![Duration::ZERO; n]; n],
            epoch: vec![vec![0; n]; n],
        }
    }
}

/// Counters over the proxy's lifetime.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProxyStats {
    pub connections: u64,
    pub refused: u64,
    pub closed_by_fault: u64,
    pub bytes_forwarded: u64,
    pub bytes_dropped: u64,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    refused: AtomicU64,
    closed_by_fault: AtomicU64,
    bytes_forwarded: AtomicU64,
    bytes_dropped: AtomicU64,
}

struct Inner {
    n: usize,
    targets: Vec<SocketAddr>,
    faults: Mutex<Faults>,
    /// Bumped on every change, so connections re-read the faults.
    changed: watch::Sender<u64>,
    counters: Counters,
}

impl Inner {
    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut self.faults());
        self.changed.send_modify(|v| *v += 1);
    }
}

/// The proxies of one devnet. Dropping it stops every listener and connection.
pub struct FaultNet {
    inner: Arc<Inner>,
    listen: Vec<Vec<Option<SocketAddr>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for FaultNet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        // Connections watch this channel: closing it ends them too.
        self.inner.update(|f| {
            for row in f.epoch.iter_mut() {
                for e in row.iter_mut() {
                    *e += 1;
                }
            }
        });
    }
}

impl FaultNet {
    /// Listens on an ephemeral loopback port for every ordered pair of `targets` (the
    /// validators' real p2p addresses). Must be called inside a tokio runtime.
    pub async fn start(targets: Vec<SocketAddr>) -> std::io::Result<FaultNet> {
        let n = targets.len();
        let (changed, _) = watch::channel(0);
        let inner =
            Arc::new(Inner { n, targets, faults: Mutex::new(Faults::new(n)), changed, counters: Counters::default() });
        let mut listen = vec![vec![None; n]; n];
        let mut tasks = Vec::new();
        for (from, row) in listen.iter_mut().enumerate() {
            for (to, slot) in row.iter_mut().enumerate() {
                if from == to {
                    continue;
                }
                let l = TcpListener::bind(("127.0.0.1", 0)).await?;
                *slot = Some(l.local_addr()?);
                tasks.push(tokio::spawn(accept_loop(inner.clone(), l, from, to)));
            }
        }
        Ok(FaultNet { inner, listen, tasks })
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.inner.n
    }

    pub fn is_empty(&self) -> bool {
        self.inner.n == 0
    }

    /// The address `from` must use to reach `to` through the proxy.
    pub fn addr(&self, from: usize, to: usize) -> Option<SocketAddr> {
        self.listen.get(from).and_then(|r| r.get(to)).copied().flatten()
    }

    /// Adds `d` of latency to bytes from `from` to `to` (replaces an earlier delay).
    pub fn delay(&self, from: usize, to: usize, d: Duration) {
        self.inner.update(|f| f.delay[from][to] = d);
    }

    /// Adds `d` of latency to every direction of every link.
    pub fn delay_all(&self, d: Duration) {
        self.inner.update(|f| {
            for row in f.delay.iter_mut() {
                for x in row.iter_mut() {
                    *x = d;
                }
            }
        });
    }

    /// Cuts the link between `a` and `b`: closes its connections and refuses new ones until
    /// [`FaultNet::heal`].
    pub fn cut(&self, a: usize, b: usize) {
        self.inner.update(|f| {
            f.down[a][b] = true;
            f.down[b][a] = true;
            f.epoch[a][b] += 1;
            f.epoch[b][a] += 1;
        });
    }

    /// Cuts every link of `a`.
    pub fn isolate(&self, a: usize) {
        for b in 0..self.inner.n {
            if b != a {
                self.cut(a, b);
            }
        }
    }

    /// One-way partition: bytes from `from` to `to` are discarded, the other direction flows.
    pub fn block(&self, from: usize, to: usize) {
        self.inner.update(|f| f.blocked[from][to] = true);
    }

    /// Nothing `a` sends reaches anyone; it still hears everybody.
    pub fn block_outbound(&self, a: usize) {
        for b in 0..self.inner.n {
            if b != a {
                self.block(a, b);
            }
        }
    }

    /// Removes every fault. Links that were blocked one way lost bytes mid-stream, which the
    /// encrypted session cannot survive: their connections are closed so the peers reconnect
    /// cleanly.
    pub fn heal(&self) {
        self.inner.update(|f| {
            let n = f.down.len();
            for a in 0..n {
                for b in 0..n {
                    if f.blocked[a][b] || f.blocked[b][a] {
                        f.epoch[a][b] += 1;
                    }
                }
            }
            for a in 0..n {
                for b in 0..n {
                    f.down[a][b] = false;
                    f.blocked[a][b] = false;
                    f.delay[a][b] = Duration::ZERO;
                }
            }
        });
    }

    pub fn stats(&self) -> ProxyStats {
        let c = &self.inner.counters;
        ProxyStats {
            connections: c.connections.load(Ordering::Relaxed),
            refused: c.refused.load(Ordering::Relaxed),
            closed_by_fault: c.closed_by_fault.load(Ordering::Relaxed),
            bytes_forwarded: c.bytes_forwarded.load(Ordering::Relaxed),
            bytes_dropped: c.bytes_dropped.load(Ordering::Relaxed),
        }
    }
}

async fn accept_loop(inner: Arc<Inner>, listener: TcpListener, from: usize, to: usize) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of file descriptors or similar: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (down, epoch) = {
            let f = inner.faults();
            (f.down[from][to], f.epoch[from][to])
        };
        if down {
            inner.counters.refused.fetch_add(1, Ordering::Relaxed);
            drop(client);
            continue;
        }
        let inner = inner.clone();
        tokio::spawn(async move {
            let target = inner.targets[to];
            let server = match tokio::time::timeout(Duration::from_secs(3), TcpStream::connect(target)).await {
                Ok(Ok(s)) => s,
                // The validator is down (killed): the dialler sees the connection close, as it
                // would without the proxy.
                _ => return,
            };
            inner.counters.connections.fetch_add(1, Ordering::Relaxed);
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            // Whichever direction ends first ends the connection: dropping both halves of both
            // sockets closes it for the two peers.
            tokio::select! {
                _ = pump(inner.clone(), cr, sw, from, to, epoch) => {}
                _ = pump(inner.clone(), sr, cw, to, from, epoch) => {}
            }
        });
    }
}

/// Forwards bytes `src` → `dst` (validator numbers) under the faults in force, until either
/// side closes or a fault closes the link (its epoch moves past `epoch`).
async fn pump(inner: Arc<Inner>, mut r: OwnedReadHalf, w: OwnedWriteHalf, src: usize, dst: usize, epoch: u64) {
    let mut changed = inner.changed.subscribe();
    // Delayed bytes wait in a bounded queue, so a slow link pushes back on the sender instead
    // of growing without bound; order is kept.
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>(256);
    let _writer = AbortOnDrop(tokio::spawn(write_delayed(inner.clone(), rx, w)));
    let mut buf = vec![0u8; 16 * 1024];
    let closed_by_fault = |inner: &Inner| {
        let f = inner.faults();
        f.epoch[src][dst] != epoch || f.down[src][dst]
    };
    loop {
        tokio::select! {
            read = r.read(&mut buf) => {
                let n = match read {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let (blocked, delay) = {
                    let f = inner.faults();
                    (f.blocked[src][dst], f.delay[src][dst])
                };
                if closed_by_fault(&inner) {
                    inner.counters.closed_by_fault.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                if blocked {
                    inner.counters.bytes_dropped.fetch_add(n as u64, Ordering::Relaxed);
                    continue;
                }
                if tx.send((Instant::now() + delay, buf[..n].to_vec())).await.is_err() {
                    break;
                }
            }
            c = changed.changed() => {
                if c.is_err() || closed_by_fault(&inner) {
                    inner.counters.closed_by_fault.fetch_add(1, Ordering::Relaxed);
                    break;
                }
            }
        }
    }
}

/// Ends the writer with its pump, also when the pump is cancelled because the other direction
/// ended: the socket closes only when both halves are gone.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn write_delayed(inner: Arc<Inner>, mut rx: mpsc::Receiver<(Instant, Vec<u8>)>, mut w: OwnedWriteHalf) {
    while let Some((due, bytes)) = rx.recv().await {
        tokio::time::sleep_until(due).await;
        if w.write_all(&bytes).await.is_err() {
            return;
        }
        inner.counters.bytes_forwarded.fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server standing in for validator 1; "validator 0" talks to it through the proxy.
    async fn echo_server() -> SocketAddr {
        let l = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let addr = l.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.into_split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn roundtrip(s: &mut TcpStream, msg: &[u8]) -> std::io::Result<Vec<u8>> {
        s.write_all(msg).await?;
        let mut got = vec![0u8; msg.len()];
        tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut got))
            .await
            .map_err(|_| std::io::Error::other("timed out"))??;
        Ok(got)
    }

    #[tokio::test]
    async fn forwards_delays_cuts_blocks_one_way_and_heals() {
        let echo = echo_server().await;
        let unused = TcpListener::bind(("127.0.0.1", 0)).await.expect("bind");
        let net = FaultNet::start(vec![unused.local_addr().expect("addr"), echo]).await.expect("proxy");
        let via = net.addr(0, 1).expect("a proxy for 0 -> 1");

        let mut s = TcpStream::connect(via).await.expect("connect");
        assert_eq!(roundtrip(&mut s, b"hello").await.expect("echo"), b"hello");

        // Latency is added, order and content kept.
        net.delay(0, 1, Duration::from_millis(200));
        let t = std::time::Instant::now();
        assert_eq!(roundtrip(&mut s, b"slow").await.expect("echo"), b"slow");
        assert!(t.elapsed() >= Duration::from_millis(200));

        // One way: 0 -> 1 discarded, so the echo never comes back.
        net.heal();
        net.block(0, 1);
        assert!(roundtrip(&mut s, b"lost").await.is_err(), "bytes 0 -> 1 must be dropped");
        assert!(net.stats().bytes_dropped >= 4);

        // Healing closes the connection that lost bytes; a new one works.
        net.heal();
        let mut buf = [0u8; 1];
        let eof = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.expect("closed in time");
        assert!(matches!(eof, Ok(0) | Err(_)), "the damaged connection is closed");
        let mut s = TcpStream::connect(via).await.expect("connect");
        assert_eq!(roundtrip(&mut s, b"again").await.expect("echo"), b"again");

        // Cut: the connection closes and reconnects are refused until healed.
        net.cut(0, 1);
        let eof = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await.expect("closed in time");
        assert!(matches!(eof, Ok(0) | Err(_)));
        let mut s = TcpStream::connect(via).await.expect("the listener still accepts");
        assert!(roundtrip(&mut s, b"x").await.is_err(), "a cut link refuses new connections");
        net.heal();
        let mut s = TcpStream::connect(via).await.expect("connect");
        assert_eq!(roundtrip(&mut s, b"healed").await.expect("echo"), b"healed");
        assert!(net.stats().refused >= 1 && net.stats().closed_by_fault >= 2);
    }
}
