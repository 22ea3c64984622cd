//! Peer-to-peer transport: tokio TCP, a Noise XX channel bound to the node's ed25519 key (see
//! [`handshake`]), chunked length-delimited messages (see [`frame`]), one connection per peer
//! pair, reconnect with backoff.
//!
//! Connection rule: of two peers, the one with the smaller [`AccountId`] dials and the larger one
//! only accepts, so both sides never race to open duplicate connections. A node accepts a
//! connection from any allowed key; if a second connection for the same peer appears anyway
//! (e.g. the peer restarted before we noticed the old one dying) the newest wins.
//!
//! Dropping every [`P2pHandle`] clone shuts the network down, as does [`P2pHandle::shutdown`].
// Input from outside the process must never panic this crate: no unwrap/expect/panic! outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
pub mod frame;
pub mod handshake;

pub use frame::{FrameError, MessageReader, MessageWriter, Opener, Sealer, MAX_CHUNK_PLAINTEXT, MAX_FRAME_LEN};
pub use handshake::{
    handshake, identity_message, noise_handshake, signing_payload, verify_identity, Established, HandshakeError, Role,
    IDENTITY_LEN, NOISE_PARAMS, PROTOCOL_TAG,
};

use jjj_crypto::Keypair;
use jjj_primitives::AccountId;
use rand::Rng;
use snow::params::NoiseParams;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

/// Default largest logical message a peer may send (16 MiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 << 20;
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Default per-peer outbound queue length, in messages.
pub const DEFAULT_PEER_QUEUE: usize = 1024;
/// Default length of the inbound channel handed to the node, in messages.
pub const DEFAULT_INBOUND_QUEUE: usize = 10_000;
/// Default bytes queued for one peer: four of the largest messages.
pub const DEFAULT_PEER_QUEUE_BYTES: usize = 4 * DEFAULT_MAX_MESSAGE_BYTES;
/// Default bytes received from one peer that the node has not taken yet: four of the largest
/// messages.
pub const DEFAULT_PEER_INBOUND_BYTES: usize = 4 * DEFAULT_MAX_MESSAGE_BYTES;
/// Default bytes received from all peers that the node has not taken yet.
pub const DEFAULT_INBOUND_BYTES: usize = 16 * DEFAULT_MAX_MESSAGE_BYTES;

/// Each side pings this often when otherwise idle...
const KEEPALIVE: Duration = Duration::from_secs(5);
/// ...so a peer silent for this long (no frame at all) is dead or stuck.
const IDLE_TIMEOUT: Duration = Duration::from_secs(20);
/// A peer that does not drain one message in this long is stuck; drop it rather than wait.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const BACKOFF_INITIAL: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// A connection that lasted this long resets the dial backoff.
const STABLE_CONNECTION: Duration = Duration::from_secs(1);
/// Unauthenticated connections in the handshake at once; more are dropped on accept.
const MAX_PENDING_HANDSHAKES: usize = 128;
const EVENT_QUEUE: usize = 256;

pub struct P2pConfig {
    /// Where to listen (port 0 picks a free port; see [`P2pHandle::local_addr`]).
    pub listen: SocketAddr,
    /// This node's key; its public key is the id peers know it by (listed in genesis).
    pub key: Keypair,
    /// Whom to dial. Only entries whose id is larger than ours are dialled (they dial us
    /// otherwise); these ids are also allowed to connect.
    pub peers: Vec<(AccountId, SocketAddr)>,
    /// Who may connect (besides `peers`).
    pub allowed: Vec<AccountId>,
    /// Largest logical message accepted from (and sent to) a peer.
    pub max_message_bytes: usize,
    /// Binds connections to one network: both sides must use the same tag (e.g. the network
    /// id or genesis hash). Goes into the Noise prologue and the identity signature.
    pub network_tag: Vec<u8>,
    pub handshake_timeout: Duration,
    pub peer_queue: usize,
    pub inbound_queue: usize,
    /// Bytes queued for one peer (besides `peer_queue` messages): a message past it is dropped
    /// and counted, like one past the count. At least `max_message_bytes`.
    pub peer_queue_bytes: usize,
    /// Bytes received from one peer and not yet taken by the node (an [`Inbound`] holds its
    /// bytes until dropped). Past it that connection stops reading, so TCP pushes back on that
    /// peer alone. At least `max_message_bytes`.
    pub peer_inbound_bytes: usize,
    /// The same over all peers. At least `max_message_bytes`.
    pub inbound_bytes: usize,
}

impl P2pConfig {
    /// A config with no peers, an empty network tag and default limits.
    pub fn new(listen: SocketAddr, key: Keypair) -> Self {
        P2pConfig {
            listen,
            key,
            peers: Vec::new(),
            allowed: Vec::new(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            network_tag: Vec::new(),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            peer_queue: DEFAULT_PEER_QUEUE,
            inbound_queue: DEFAULT_INBOUND_QUEUE,
            peer_queue_bytes: DEFAULT_PEER_QUEUE_BYTES,
            peer_inbound_bytes: DEFAULT_PEER_INBOUND_BYTES,
            inbound_bytes: DEFAULT_INBOUND_BYTES,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    pub id: AccountId,
    pub addr: SocketAddr,
    /// Unix time in milliseconds when the handshake completed.
    pub connected_since_ms: u64,
    /// True when we dialled the peer.
    pub outbound: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inbound {
    pub from: AccountId,
    pub bytes: Vec<u8>,
    /// The message's share of the inbound byte budgets, given back when the last clone drops.
    held: Held,
}

impl Inbound {
    /// The message's share of the inbound byte budgets, for a consumer that queues what it
    /// decoded from it: while the permit lives the bytes stay counted against the sender (whose
    /// further messages then wait in TCP, never dropped), and they return when it drops.
    pub fn permit(&self) -> InboundPermit {
        InboundPermit(self.held.clone())
    }
}

/// A share of the inbound byte budgets ([`Inbound::permit`]). Never read: it only holds.
#[derive(Clone, Debug)]
pub struct InboundPermit(#[allow(dead_code)] Held);

/// Permits of the inbound byte budgets (the sender's and everyone's). Not part of a message's
/// identity: every `Held` compares equal.
#[derive(Clone)]
struct Held {
    _permits: Arc<(OwnedSemaphorePermit, OwnedSemaphorePermit)>,
}

impl PartialEq for Held {
    fn eq(&self, _: &Held) -> bool {
        true
    }
}

impl Eq for Held {}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Held")
    }
}

/// A byte budget for a queue its producers add to and its consumer drains.
#[derive(Debug)]
pub struct ByteBudget {
    limit: usize,
    used: AtomicUsize,
}

impl ByteBudget {
    pub fn new(limit: usize) -> ByteBudget {
        ByteBudget { limit, used: AtomicUsize::new(0) }
    }

    /// Takes `n` bytes if they fit under the limit; false (and nothing taken) if not.
    pub fn try_take(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|total| *total <= self.limit)
            })
            .is_ok()
    }

    /// Gives back `n` bytes taken before.
    pub fn give_back(&self, n: usize) {
        let _ = self.used.fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| Some(used.saturating_sub(n)));
    }

    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// Connection events, for the node above (e.g. to catch a peer up when it connects) and tests.
#[derive(Clone, Debug)]
pub enum PeerEvent {
    Connected(PeerInfo),
    /// The peer has no connection any more (not sent when a connection is replaced by a newer one).
    Disconnected {
        id: AccountId,
        addr: SocketAddr,
        reason: String,
    },
    /// A connection failed its handshake (unknown key, bad signature, garbage, timeout...).
    Refused {
        addr: SocketAddr,
        reason: String,
    },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct P2pStats {
    /// Connections that failed the handshake (or were dropped for too many pending handshakes).
    pub refused_handshakes: u64,
    /// Outbound messages dropped: peer queue full, peer not connected, or message too large.
    pub dropped_outbound: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    #[error("invalid network config: {0}")]
    Config(String),
    #[error("noise setup: {0}")]
    Noise(#[from] snow::Error),
    #[error("binding the p2p listener on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("reading the p2p listener's bound address: {0}")]
    LocalAddr(std::io::Error),
}

struct PeerEntry {
    conn_id: u64,
    info: PeerInfo,
    queue: mpsc::Sender<Arc<Vec<u8>>>,
    /// Bytes in `queue` and the message being written.
    queued: Arc<ByteBudget>,
    cancel: CancellationToken,
}

struct Shared {
    key: Keypair,
    local_id: AccountId,
    local_addr: SocketAddr,
    noise_private: Vec<u8>,
    network_tag: Vec<u8>,
    allowed: HashSet<AccountId>,
    max_message_bytes: usize,
    handshake_timeout: Duration,
    peer_queue: usize,
    peer_queue_bytes: usize,
    peer_inbound_bytes: usize,
    /// Bytes received from all peers that the node has not taken yet.
    inbound_bytes: Arc<Semaphore>,
    peers: Mutex<HashMap<AccountId, PeerEntry>>,
    next_conn: AtomicU64,
    inbound: mpsc::Sender<Inbound>,
    events: broadcast::Sender<PeerEvent>,
    shutdown: CancellationToken,
    refused: AtomicU64,
    dropped: AtomicU64,
}

impl Shared {
    fn peers(&self) -> MutexGuard<'_, HashMap<AccountId, PeerEntry>> {
        // The lock is never held across a panic-prone operation; recover rather than propagate.
        self.peers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_connected(&self, id: &AccountId) -> bool {
        self.peers().contains_key(id)
    }

    fn refuse(&self, addr: SocketAddr, reason: String) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        let _ = self.events.send(PeerEvent::Refused { addr, reason });
    }
}

/// Every spawned task holds one of these; when the last is gone the network is fully closed.
type Alive = Arc<watch::Sender<()>>;

fn spawn(alive: &Alive, fut: impl Future<Output = ()> + Send + 'static) {
    let guard = alive.clone();
    tokio::spawn(async move {
        let _guard = guard;
        fut.await;
    });
}

/// Cancels the network when the last handle clone is dropped.
struct Owner(CancellationToken);

impl Drop for Owner {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

#[derive(Clone)]
pub struct P2pHandle {
    shared: Arc<Shared>,
    closed: watch::Receiver<()>,
    _owner: Arc<Owner>,
}

/// Starts the transport; see the module docs.
pub struct P2p;

impl P2p {
    /// Binds the listener, spawns the accept loop and one dialler per peer we are to dial, and
    /// returns the handle plus the channel of messages received from peers.
    pub async fn start(config: P2pConfig) -> Result<(P2pHandle, mpsc::Receiver<Inbound>), P2pError> {
        if config.max_message_bytes == 0 || config.max_message_bytes > u32::MAX as usize {
            return Err(P2pError::Config(format!(
                "max_message_bytes must be in 1..={}, got {}",
                u32::MAX,
                config.max_message_bytes
            )));
        }
        if config.peer_queue == 0 || config.inbound_queue == 0 {
            return Err(P2pError::Config("peer_queue and inbound_queue must be positive".into()));
        }
        // A message larger than a byte budget could never be queued (and inbound, would wait
        // for ever).
        let budgets = [config.peer_queue_bytes, config.peer_inbound_bytes, config.inbound_bytes];
        if budgets.iter().any(|b| *b < config.max_message_bytes || *b > Semaphore::MAX_PERMITS) {
            return Err(P2pError::Config(format!(
                "peer_queue_bytes, peer_inbound_bytes and inbound_bytes must be in {}..={}",
                config.max_message_bytes,
                Semaphore::MAX_PERMITS
            )));
        }
        let params: NoiseParams = NOISE_PARAMS.parse()?;
        // A fresh x25519 static key per start: identity comes from the ed25519 signature, not it.
        let noise_key = snow::Builder::new(params).generate_keypair()?;
        let listener =
            TcpListener::bind(config.listen).await.map_err(|source| P2pError::Bind { addr: config.listen, source })?;
        let local_addr = listener.local_addr().map_err(P2pError::LocalAddr)?;
        let local_id = config.key.account();

        let mut allowed: HashSet<AccountId> = config.allowed.iter().copied().collect();
        allowed.extend(config.peers.iter().map(|(id, _)| *id));
        allowed.remove(&local_id);

        let (inbound_tx, inbound_rx) = mpsc::channel(config.inbound_queue);
        let (events, _) = broadcast::channel(EVENT_QUEUE);
        let shutdown = CancellationToken::new();
        let shared = Arc::new(Shared {
            key: config.key,
            local_id,
            local_addr,
            noise_private: noise_key.private,
            network_tag: config.network_tag,
            allowed,
            max_message_bytes: config.max_message_bytes,
            handshake_timeout: config.handshake_timeout,
            peer_queue: config.peer_queue,
            peer_queue_bytes: config.peer_queue_bytes,
            peer_inbound_bytes: config.peer_inbound_bytes,
            inbound_bytes: Arc::new(Semaphore::new(config.inbound_bytes)),
            peers: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
            inbound: inbound_tx,
            events,
            shutdown: shutdown.clone(),
            refused: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        });

        let (alive, closed) = watch::channel(());
        let alive = Arc::new(alive);
        spawn(&alive, accept_loop(shared.clone(), alive.clone(), listener));
        let mut dialled = HashSet::new();
        for (id, addr) in config.peers {
            if id == local_id || !dialled.insert(id) {
                continue;
            }
            if local_id < id {
                spawn(&alive, dial_loop(shared.clone(), id, addr));
            } else {
                debug!(peer = %id, "larger id dials; waiting for the peer to connect");
            }
        }
        info!(addr = %local_addr, id = %local_id, "p2p listening");
        let handle = P2pHandle { shared, closed, _owner: Arc::new(Owner(shutdown)) };
        Ok((handle, inbound_rx))
    }
}

impl P2pHandle {
    /// Queues `bytes` for one peer. Best effort: dropped (and counted) when the peer is not
    /// connected, its queue is full, or the message exceeds `max_message_bytes`.
    pub fn send(&self, to: &AccountId, bytes: Vec<u8>) {
        if !self.fits(bytes.len()) {
            return;
        }
        let bytes = Arc::new(bytes);
        let peers = self.shared.peers();
        match peers.get(to) {
            Some(entry) => self.enqueue(entry, bytes),
            None => {
                drop(peers);
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                debug!(peer = %to, "send to unconnected peer dropped");
            }
        }
    }

    /// Queues `bytes` for every connected peer (best effort, like [`P2pHandle::send`]).
    pub fn broadcast(&self, bytes: Vec<u8>) {
        self.broadcast_to(|_| true, bytes);
    }

    /// Queues `bytes` for every connected peer that `to` accepts (a network's own nodes).
    pub fn broadcast_to(&self, to: impl Fn(&AccountId) -> bool, bytes: Vec<u8>) {
        if !self.fits(bytes.len()) {
            return;
        }
        let bytes = Arc::new(bytes);
        for entry in self.shared.peers().values().filter(|e| to(&e.info.id)) {
            self.enqueue(entry, bytes.clone());
        }
    }

    /// Connected peers, sorted by id.
    pub fn peers(&self) -> Vec<PeerInfo> {
        let mut out: Vec<PeerInfo> = self.shared.peers().values().map(|e| e.info.clone()).collect();
        out.sort_by_key(|p| p.id);
        out
    }

    pub fn is_connected(&self, id: &AccountId) -> bool {
        self.shared.is_connected(id)
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// This node's id (the public key of its node key).
    pub fn local_id(&self) -> AccountId {
        self.shared.local_id
    }

    /// Connection events from now on. Lossy if the receiver falls far behind.
    pub fn subscribe(&self) -> broadcast::Receiver<PeerEvent> {
        self.shared.events.subscribe()
    }

    pub fn stats(&self) -> P2pStats {
        P2pStats {
            refused_handshakes: self.shared.refused.load(Ordering::Relaxed),
            dropped_outbound: self.shared.dropped.load(Ordering::Relaxed),
        }
    }

    /// Stops listening, dialling and every connection. Returns at once; see [`P2pHandle::closed`].
    pub fn shutdown(&self) {
        self.shared.shutdown.cancel();
    }

    /// Resolves once every task has ended, so the listen port is free and sockets are closed.
    pub async fn closed(&self) {
        let mut rx = self.closed.clone();
        while rx.changed().await.is_ok() {}
    }

    fn fits(&self, len: usize) -> bool {
        if len > self.shared.max_message_bytes {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
            warn!(len, max = self.shared.max_message_bytes, "outbound message too large; dropped");
            return false;
        }
        true
    }

    fn enqueue(&self, entry: &PeerEntry, bytes: Arc<Vec<u8>>) {
        // Drop the newest on overflow: the queue already holds older messages the peer needs first.
        let len = bytes.len();
        let full = if entry.queued.try_take(len) {
            let refused = entry.queue.try_send(bytes).is_err();
            if refused {
                entry.queued.give_back(len);
            }
            refused
        } else {
            true
        };
        if full {
            let n = self.shared.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            debug!(peer = %entry.info.id, len, queued_bytes = entry.queued.used(), dropped_total = n, "peer queue full; message dropped");
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

async fn accept_loop(shared: Arc<Shared>, alive: Alive, listener: TcpListener) {
    let pending = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
    loop {
        let accepted = tokio::select! {
            _ = shared.shutdown.cancelled() => break,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, addr)) => match pending.clone().try_acquire_owned() {
                Ok(permit) => {
                    let fut = connection(shared.clone(), stream, addr, None, Some(permit));
                    spawn(&alive, async move {
                        let _ = fut.await;
                    });
                }
                Err(_) => {
                    warn!(%addr, "too many connections in the handshake; dropping this one");
                    shared.refuse(addr, "too many pending handshakes".into());
                }
            },
            Err(e) => {
                // E.g. out of file descriptors: back off instead of spinning.
                warn!(error = %e, "accept failed");
                tokio::select! {
                    _ = shared.shutdown.cancelled() => break,
                    _ = tokio::time::sleep(BACKOFF_INITIAL) => {}
                }
            }
        }
    }
    debug!(addr = %shared.local_addr, "p2p listener closed");
}

async fn dial_loop(shared: Arc<Shared>, id: AccountId, addr: SocketAddr) {
    let mut backoff = BACKOFF_INITIAL;
    let mut failures = 0u32;
    loop {
        // The peer may have dialled us (against the rule, or after a config change); don't
        // replace a working connection, wait for it to go away.
        loop {
            let mut events = shared.events.subscribe();
            if !shared.is_connected(&id) {
                break;
            }
            tokio::select! {
                _ = shared.shutdown.cancelled() => return,
                _ = wait_disconnected(&mut events, id) => {}
            }
        }
        let connect = tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            c = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)) => c,
        };
        // `connection` watches the shutdown token itself so it can unregister the peer on the
        // way out; it must not be dropped mid-flight.
        let outcome = match connect {
            Err(_) => Err("connect timed out".to_string()),
            Ok(Err(e)) => Err(format!("connect: {e}")),
            Ok(Ok(stream)) => connection(shared.clone(), stream, addr, Some(id), None).await,
        };
        match outcome {
            Ok(lasted) => {
                failures = 0;
                if lasted >= STABLE_CONNECTION {
                    backoff = BACKOFF_INITIAL;
                }
            }
            Err(reason) => {
                if failures == 0 {
                    info!(peer = %id, %addr, %reason, "dial failed; retrying with backoff");
                } else {
                    debug!(peer = %id, %addr, %reason, failures, "dial failed");
                }
                failures = failures.saturating_add(1);
            }
        }
        let jitter = Duration::from_millis(rand::thread_rng().gen_range(0..=backoff.as_millis() as u64 / 10 + 10));
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff + jitter) => {}
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

async fn wait_disconnected(events: &mut broadcast::Receiver<PeerEvent>, id: AccountId) {
    loop {
        match events.recv().await {
            Ok(PeerEvent::Disconnected { id: gone, .. }) if gone == id => return,
            Ok(_) => {}
            // Lagged: we may have missed it; the caller re-checks. Closed cannot happen while
            // `Shared` (which owns the sender) is alive, but returning is safe either way.
            Err(_) => return,
        }
    }
}

/// Runs one connection from handshake to close. `expected` is the dialled peer for outbound
/// connections (None for inbound). Returns how long the connection was up, or why it never was.
async fn connection(
    shared: Arc<Shared>,
    mut stream: TcpStream,
    addr: SocketAddr,
    expected: Option<AccountId>,
    permit: Option<OwnedSemaphorePermit>,
) -> Result<Duration, String> {
    // Small consensus messages should not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let role = if expected.is_some() { Role::Initiator } else { Role::Responder };
    let allowed = &shared.allowed;
    let check = |peer: &AccountId| match expected {
        Some(want) if *peer != want => Err(HandshakeError::UnexpectedPeer { expected: want, actual: *peer }),
        Some(_) => Ok(()),
        None if allowed.contains(peer) => Ok(()),
        None => Err(HandshakeError::NotAllowed(*peer)),
    };
    let hs = handshake(&mut stream, role, &shared.noise_private, &shared.key, &shared.network_tag, check);
    let result = tokio::select! {
        _ = shared.shutdown.cancelled() => return Err("shutting down".into()),
        r = tokio::time::timeout(shared.handshake_timeout, hs) => r.unwrap_or(Err(HandshakeError::Timeout)),
    };
    drop(permit);
    let Established { peer, sealer, opener } = match result {
        Ok(est) => est,
        Err(e) => {
            let quiet =
                expected.is_some() && matches!(e, HandshakeError::Frame(FrameError::Closed | FrameError::Io(_)));
            if quiet {
                // A peer that is restarting: expected, the dialler retries.
                debug!(%addr, error = %e, "handshake aborted by peer");
            } else {
                warn!(%addr, outbound = expected.is_some(), error = %e, "handshake refused; closing connection");
            }
            shared.refuse(addr, e.to_string());
            return Err(format!("handshake: {e}"));
        }
    };

    let (queue, rx) = mpsc::channel(shared.peer_queue);
    let queued = Arc::new(ByteBudget::new(shared.peer_queue_bytes));
    let cancel = shared.shutdown.child_token();
    let conn_id = shared.next_conn.fetch_add(1, Ordering::Relaxed);
    let info = PeerInfo { id: peer, addr, connected_since_ms: now_ms(), outbound: expected.is_some() };
    let replaced = shared
        .peers()
        .insert(peer, PeerEntry { conn_id, info: info.clone(), queue, queued: queued.clone(), cancel: cancel.clone() });
    if let Some(old) = replaced {
        info!(peer = %peer, old = %old.info.addr, new = %addr, "duplicate connection; keeping the newest");
        old.cancel.cancel();
    }
    info!(peer = %peer, %addr, outbound = info.outbound, "peer connected");
    let _ = shared.events.send(PeerEvent::Connected(info));
    let started = Instant::now();

    let (read_half, write_half) = stream.into_split();
    let reader = MessageReader::new(read_half, opener, shared.max_message_bytes, IDLE_TIMEOUT);
    let writer = MessageWriter::new(write_half, sealer);
    let reason = tokio::select! {
        _ = cancel.cancelled() => "closed locally".to_string(),
        e = read_loop(&shared, peer, reader) => format!("read: {e}"),
        e = write_loop(rx, writer, &queued) => format!("write: {e}"),
    };

    let removed = {
        let mut peers = shared.peers();
        if peers.get(&peer).is_some_and(|e| e.conn_id == conn_id) {
            peers.remove(&peer);
            true
        } else {
            false
        }
    };
    if removed {
        info!(peer = %peer, %addr, %reason, "peer disconnected");
        let _ = shared.events.send(PeerEvent::Disconnected { id: peer, addr, reason });
    }
    Ok(started.elapsed())
}

async fn read_loop(shared: &Shared, from: AccountId, mut reader: MessageReader<OwnedReadHalf>) -> FrameError {
    // What this peer sent that the node has not taken yet.
    let own = Arc::new(Semaphore::new(shared.peer_inbound_bytes));
    loop {
        match reader.read_message().await {
            // Awaiting here pushes back on the peer (through TCP) when the node falls behind:
            // first on its own budget, so a peer flooding us stalls before anyone else does.
            // A closed receiver means nobody listens any more; keep draining the peer.
            Ok(bytes) => {
                // Fits: `max_message_bytes` ≤ u32::MAX and ≤ every budget (checked at start).
                let n = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
                let Ok(mine) = own.clone().acquire_many_owned(n).await else { return FrameError::Closed };
                let Ok(all) = shared.inbound_bytes.clone().acquire_many_owned(n).await else {
                    return FrameError::Closed;
                };
                let held = Held { _permits: Arc::new((mine, all)) };
                let _ = shared.inbound.send(Inbound { from, bytes, held }).await;
            }
            Err(e) => return e,
        }
    }
}

async fn write_loop(
    mut rx: mpsc::Receiver<Arc<Vec<u8>>>,
    mut writer: MessageWriter<OwnedWriteHalf>,
    queued: &ByteBudget,
) -> FrameError {
    let mut keepalive = tokio::time::interval(KEEPALIVE);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let write = tokio::select! {
            msg = rx.recv() => match msg {
                Some(msg) => {
                    let written = tokio::time::timeout(WRITE_TIMEOUT, writer.write_message(&msg)).await;
                    queued.give_back(msg.len());
                    written
                }
                None => return FrameError::Closed,
            },
            _ = keepalive.tick() => tokio::time::timeout(WRITE_TIMEOUT, writer.write_ping()).await,
        };
        match write {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return e,
            Err(_) => return FrameError::Timeout(WRITE_TIMEOUT),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ByteBudget;

    #[test]
    fn a_byte_budget_refuses_what_does_not_fit() {
        let budget = ByteBudget::new(100);
        assert!(budget.try_take(60));
        assert!(!budget.try_take(41), "past the budget");
        assert_eq!(budget.used(), 60, "a refusal takes nothing");
        assert!(budget.try_take(40));
        assert!(!budget.try_take(1));
        budget.give_back(60);
        assert!(budget.try_take(60));
        assert!(!budget.try_take(usize::MAX), "no overflow");
        budget.give_back(usize::MAX);
        assert_eq!(budget.used(), 0);
    }
}
