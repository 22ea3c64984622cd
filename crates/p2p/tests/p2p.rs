//! The p2p transport over real TCP on 127.0.0.1: mesh forming, chunked messages, refusal of
//! strangers, forged identities and garbage, reconnection after a restart.
use jjj_crypto::Keypair;
use jjj_p2p::{
    identity_message, noise_handshake, signing_payload, Inbound, P2p, P2pConfig, P2pHandle, PeerEvent, Role,
    MAX_CHUNK_PLAINTEXT, NOISE_PARAMS,
};
use jjj_primitives::AccountId;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::Receiver;
use tokio::time::{timeout, Instant};

const TAG: &[u8] = b"jjj-test";
const WAIT: Duration = Duration::from_secs(8);

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// `n` keys sorted by account id, so index order is dial order.
/// A node key of the test suite's scheme (`JJJ_TEST_SUITE`): identities are ed25519 or SM2.
fn key(name: &str) -> Keypair {
    Keypair::named(jjj_crypto::test_suite().scheme(), name)
}

fn keys(prefix: &str, n: usize) -> Vec<Keypair> {
    let mut keys: Vec<Keypair> = (0..n).map(|i| key(&format!("{prefix}-{i}"))).collect();
    keys.sort_by_key(|k| k.account());
    keys
}

fn config(key: &Keypair, listen: SocketAddr, peers: Vec<(AccountId, SocketAddr)>, allowed: &[Keypair]) -> P2pConfig {
    let mut c = P2pConfig::new(listen, key.clone());
    c.peers = peers;
    c.allowed = allowed.iter().map(|k| k.account()).collect();
    c.network_tag = TAG.to_vec();
    c
}

struct Node {
    key: Keypair,
    net: P2pHandle,
    rx: Receiver<Inbound>,
}

impl Node {
    fn id(&self) -> AccountId {
        self.key.account()
    }

    async fn recv(&mut self) -> Inbound {
        match timeout(WAIT, self.rx.recv()).await {
            Ok(Some(m)) => m,
            Ok(None) => panic!("inbound channel closed"),
            Err(_) => panic!("no message within {WAIT:?}"),
        }
    }
}

/// Starts one node per key, largest id first, each dialling the (larger) nodes already up.
async fn mesh(keys: &[Keypair]) -> Vec<Node> {
    mesh_with(keys, |_| {}).await
}

/// `mesh`, with every node's config changed by `tweak`.
async fn mesh_with(keys: &[Keypair], tweak: impl Fn(&mut P2pConfig)) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::new();
    for key in keys.iter().rev() {
        let peers = nodes.iter().map(|n| (n.id(), n.net.local_addr())).collect();
        let mut c = config(key, local(), peers, keys);
        tweak(&mut c);
        let (net, rx) = P2p::start(c).await.unwrap();
        nodes.push(Node { key: key.clone(), net, rx });
    }
    nodes.reverse();
    for n in &nodes {
        let others: Vec<AccountId> = keys.iter().map(|k| k.account()).filter(|id| *id != n.id()).collect();
        wait_for(&n.net, "full mesh", |h| others.iter().all(|o| h.is_connected(o))).await;
    }
    nodes
}

/// Waits, event-driven, until `cond` holds (re-checked after every peer event).
async fn wait_for(h: &P2pHandle, what: &str, cond: impl Fn(&P2pHandle) -> bool) {
    let mut events = h.subscribe();
    let deadline = Instant::now() + WAIT;
    while !cond(h) {
        if tokio::time::timeout_at(deadline, events.recv()).await.is_err() {
            panic!("timed out waiting for {what}; peers: {:?}", h.peers());
        }
    }
}

/// Waits for a refusal event whose reason contains `needle`.
async fn wait_refused(events: &mut tokio::sync::broadcast::Receiver<PeerEvent>, needle: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Err(_) => panic!("no refusal containing {needle:?} within {WAIT:?}"),
            Ok(Ok(PeerEvent::Refused { reason, .. })) if reason.contains(needle) => return reason,
            Ok(_) => {}
        }
    }
}

/// Reads until the peer closes the connection; panics if it stays open.
async fn expect_closed(stream: &mut TcpStream, what: &str) {
    let mut buf = vec![0u8; 4096];
    let deadline = Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => panic!("{what}: node kept the connection open"),
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(_)) => {}
        }
    }
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed).wrapping_add((i >> 8) as u8)).collect()
}

async fn exchange_all(nodes: &mut [Node], round: u8) {
    let ids: Vec<AccountId> = nodes.iter().map(|n| n.id()).collect();
    for (i, n) in nodes.iter().enumerate() {
        for (j, to) in ids.iter().enumerate() {
            if i != j {
                n.net.send(to, vec![round, i as u8, j as u8]);
            }
        }
    }
    for (j, n) in nodes.iter_mut().enumerate() {
        let mut got = Vec::new();
        for _ in 0..ids.len() - 1 {
            let m = n.recv().await;
            let i = ids.iter().position(|id| *id == m.from).expect("sender is a mesh member");
            assert_eq!(m.bytes, vec![round, i as u8, j as u8], "message content and sender agree");
            got.push(i);
        }
        got.sort();
        let expected: Vec<usize> = (0..ids.len()).filter(|&i| i != j).collect();
        assert_eq!(got, expected, "node {j} heard from every other node once");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_form_a_mesh_and_exchange_messages_including_chunked_ones() {
    let keys = keys("mesh", 3);
    let mut nodes = mesh(&keys).await;

    // Exactly one connection per pair, dialled by the smaller id.
    for (i, n) in nodes.iter().enumerate() {
        let peers = n.net.peers();
        assert_eq!(peers.len(), 2);
        for p in peers {
            let j = keys.iter().position(|k| k.account() == p.id).unwrap();
            assert_eq!(p.outbound, i < j, "node {i} -> {j}: the smaller id dials");
            assert!(p.connected_since_ms > 0);
        }
    }

    exchange_all(&mut nodes, 1).await;

    // Sizes around the chunk boundaries (first chunk carries a 4-byte header), and 1 MiB.
    let sizes = [0, 1, MAX_CHUNK_PLAINTEXT - 4, MAX_CHUNK_PLAINTEXT - 3, 2 * MAX_CHUNK_PLAINTEXT - 4, 1 << 20];
    let (a, c) = (nodes[0].id(), nodes[2].id());
    for (k, &len) in sizes.iter().enumerate() {
        nodes[0].net.send(&c, pattern(len, k as u8));
        nodes[2].net.send(&a, pattern(len + 3, 100 + k as u8));
    }
    for (k, &len) in sizes.iter().enumerate() {
        let m = nodes[2].recv().await;
        assert_eq!(m.from, a);
        assert!(m.bytes == pattern(len, k as u8), "a->c message {k} ({len} bytes) intact and in order");
        let m = nodes[0].recv().await;
        assert_eq!(m.from, c);
        assert!(m.bytes == pattern(len + 3, 100 + k as u8), "c->a message {k} intact and in order");
    }

    // Broadcast reaches every connected peer.
    nodes[1].net.broadcast(b"to all".to_vec());
    for i in [0, 2] {
        let m = nodes[i].recv().await;
        assert_eq!((m.from, m.bytes.as_slice()), (nodes[1].id(), &b"to all"[..]));
    }

    // Too large to send: dropped and counted, not sent (the peer would have to disconnect).
    let before = nodes[0].net.stats().dropped_outbound;
    nodes[0].net.send(&c, vec![0; (16 << 20) + 1]);
    assert_eq!(nodes[0].net.stats().dropped_outbound, before + 1);
    // Sending to an unknown peer is dropped and counted as well.
    nodes[0].net.send(&key("nobody").account(), vec![1]);
    assert_eq!(nodes[0].net.stats().dropped_outbound, before + 2);
    exchange_all(&mut nodes, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_is_refused_and_the_mesh_keeps_working() {
    let keys = keys("strangers", 3);
    let mut nodes = mesh(&keys).await;
    // A stranger whose id is smaller than everyone's, so it dials all three.
    let stranger = (0..).map(|i| key(&format!("stranger-{i}"))).find(|k| k.account() < keys[0].account()).unwrap();
    let mut watch: Vec<_> = nodes.iter().map(|n| n.net.subscribe()).collect();
    let peers = nodes.iter().map(|n| (n.id(), n.net.local_addr())).collect();
    let (s, _srx) = P2p::start(config(&stranger, local(), peers, &keys)).await.unwrap();

    for (i, events) in watch.iter_mut().enumerate() {
        let reason = wait_refused(events, "not in the allowed set").await;
        assert!(reason.contains(&stranger.account().to_string()), "node {i}: {reason}");
    }
    for n in &nodes {
        assert!(!n.net.is_connected(&stranger.account()));
        assert!(n.net.stats().refused_handshakes >= 1);
    }
    // The responder refuses before revealing its identity, so the stranger never connects.
    assert!(s.peers().is_empty());
    s.send(&nodes[0].id(), b"let me in".to_vec());
    assert_eq!(s.stats().dropped_outbound, 1);

    exchange_all(&mut nodes, 7).await;
    s.shutdown();
    s.closed().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_oversize_frames_are_disconnected_and_the_node_keeps_serving() {
    let keys = keys("garbage", 2);
    let mut nodes = Vec::new();
    let (b, brx) = {
        let mut c = config(&keys[1], local(), vec![], &keys);
        c.handshake_timeout = Duration::from_millis(500);
        P2p::start(c).await.unwrap()
    };
    let baddr = b.local_addr();
    let (a, arx) = P2p::start(config(&keys[0], local(), vec![(keys[1].account(), baddr)], &keys)).await.unwrap();
    nodes.push(Node { key: keys[0].clone(), net: a, rx: arx });
    nodes.push(Node { key: keys[1].clone(), net: b, rx: brx });
    wait_for(&nodes[1].net, "a connects", |h| h.peers().len() == 1).await;

    let mut events = nodes[1].net.subscribe();
    // An HTTP request: "GET " read as a length is far beyond any handshake frame.
    let mut s = TcpStream::connect(baddr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    expect_closed(&mut s, "http request").await;
    wait_refused(&mut events, "exceeds the limit").await;

    // The largest possible length prefix: refused before any allocation.
    let mut s = TcpStream::connect(baddr).await.unwrap();
    s.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    expect_closed(&mut s, "oversize length prefix").await;
    wait_refused(&mut events, "exceeds the limit").await;

    // 32 random bytes pass as a Noise ephemeral key; the random third message must not decrypt.
    let mut s = TcpStream::connect(baddr).await.unwrap();
    s.write_all(&32u32.to_be_bytes()).await.unwrap();
    s.write_all(&pattern(32, 9)).await.unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.unwrap();
    let mut msg2 = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut msg2).await.unwrap();
    s.write_all(&64u32.to_be_bytes()).await.unwrap();
    s.write_all(&pattern(64, 3)).await.unwrap();
    expect_closed(&mut s, "undecryptable handshake message").await;
    wait_refused(&mut events, "noise").await;

    // A client that says nothing is dropped at the handshake timeout.
    let mut s = TcpStream::connect(baddr).await.unwrap();
    expect_closed(&mut s, "silent client").await;
    wait_refused(&mut events, "timed out").await;

    // A burst of junk connections at once, while the real peers keep talking.
    let junk: Vec<_> = (0..40u8)
        .map(|i| {
            tokio::spawn(async move {
                let mut s = TcpStream::connect(baddr).await.unwrap();
                let _ = s.write_all(&pattern(200, i)).await;
                expect_closed(&mut s, "junk").await;
            })
        })
        .collect();
    exchange_all(&mut nodes, 3).await;
    for j in junk {
        j.await.unwrap();
    }
    assert!(nodes[1].net.stats().refused_handshakes >= 44);
    assert!(nodes[1].net.is_connected(&keys[0].account()));
    exchange_all(&mut nodes, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_is_reconnected_and_messages_flow_again() {
    let keys = keys("restart", 3);
    let mut nodes = mesh(&keys).await;
    exchange_all(&mut nodes, 1).await;

    // Restart the middle node: it is dialled by node 0 and dials node 2.
    let mid = nodes.remove(1);
    let addr = mid.net.local_addr();
    mid.net.shutdown();
    mid.net.closed().await;
    assert!(mid.net.peers().is_empty(), "no connection survives shutdown");
    for n in &nodes {
        wait_for(&n.net, "the restarted node to drop", |h| !h.is_connected(&mid.id())).await;
    }
    drop(mid);

    let peers = vec![(keys[2].account(), nodes[1].net.local_addr())];
    let (net, rx) = P2p::start(config(&keys[1], addr, peers, &keys)).await.unwrap();
    assert_eq!(net.local_addr(), addr);
    nodes.insert(1, Node { key: keys[1].clone(), net, rx });
    for n in &nodes {
        wait_for(&n.net, "mesh to re-form", |h| h.peers().len() == 2).await;
    }
    exchange_all(&mut nodes, 2).await;
}

/// Speaks the handshake by hand as a client claiming `claimed` but signing with `signer`.
async fn forged_client(addr: SocketAddr, claimed: &Keypair, signer: &Keypair, bad_hash: bool) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let x25519 = snow::Builder::new(NOISE_PARAMS.parse().unwrap()).generate_keypair().unwrap();
    let (hash, mut sealer, _opener) = noise_handshake(&mut s, Role::Initiator, &x25519.private, TAG).await.unwrap();
    let identity = if claimed.account() == signer.account() {
        let hash = if bad_hash { vec![0u8; hash.len()] } else { hash };
        identity_message(signer, &hash, TAG, Role::Initiator).to_vec()
    } else {
        let sig = signer.sign(&signing_payload(&hash, TAG, Role::Initiator));
        [&[signer.scheme().code()][..], claimed.account().0.as_slice(), sig.signature.as_slice()].concat()
    };
    let mut scratch = Vec::new();
    sealer.write(&mut s, &identity, &mut scratch).await.unwrap();
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_noise_handshake_with_a_forged_identity_is_refused() {
    let allowed = key("forge-allowed");
    let node_key = key("forge-node");
    let other = key("forge-other");
    let (n, mut rx) =
        P2p::start(config(&node_key, local(), vec![], &[allowed.clone(), node_key.clone()])).await.unwrap();
    let addr = n.local_addr();
    let mut events = n.subscribe();

    // Claims the allowed key, signs with another one.
    let mut s = forged_client(addr, &allowed, &other, false).await;
    expect_closed(&mut s, "forged signature").await;
    wait_refused(&mut events, "does not verify").await;

    // Signs with the right key, but not over this session's handshake hash (a replay).
    let mut s = forged_client(addr, &allowed, &allowed, true).await;
    expect_closed(&mut s, "signature over another session").await;
    wait_refused(&mut events, "does not verify").await;

    // Presents the node's own key back at it.
    let mut s = forged_client(addr, &node_key, &node_key, false).await;
    expect_closed(&mut s, "own key").await;
    wait_refused(&mut events, "our own node key").await;
    assert!(n.peers().is_empty());
    assert_eq!(n.stats().refused_handshakes, 3);

    // Positive control: the same hand-written client with the real key is accepted, so the
    // refusals above are about the identity, not the harness. Then it announces a message
    // over the size limit and is dropped before the node allocates for it.
    let mut s = forged_client(addr, &allowed, &allowed, false).await;
    wait_for(&n, "the honest client to connect", |h| h.is_connected(&allowed.account())).await;
    n.send(&allowed.account(), b"hello".to_vec());
    drop(s.shutdown().await);
    expect_closed(&mut s, "client half-closed").await;
    wait_for(&n, "the client to drop", |h| !h.is_connected(&allowed.account())).await;
    assert!(rx.try_recv().is_err(), "nothing was delivered from refused clients");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticated_peer_announcing_an_oversize_message_is_disconnected() {
    let peer = key("oversize-peer");
    let node_key = key("oversize-node");
    let mut c = config(&node_key, local(), vec![], std::slice::from_ref(&peer));
    c.max_message_bytes = 1 << 20;
    let (n, mut rx) = P2p::start(c).await.unwrap();
    let addr = n.local_addr();

    // First a well-formed message at exactly the limit is delivered...
    let x25519 = snow::Builder::new(NOISE_PARAMS.parse().unwrap()).generate_keypair().unwrap();
    let mut s = TcpStream::connect(addr).await.unwrap();
    let (hash, sealer, _opener) = noise_handshake(&mut s, Role::Initiator, &x25519.private, TAG).await.unwrap();
    let mut scratch = Vec::new();
    let mut sealer = sealer;
    sealer.write(&mut s, &identity_message(&peer, &hash, TAG, Role::Initiator), &mut scratch).await.unwrap();
    let mut writer = jjj_p2p::MessageWriter::new(s, sealer);
    writer.write_message(&pattern(1 << 20, 5)).await.unwrap();
    let m = timeout(WAIT, rx.recv()).await.unwrap().unwrap();
    assert_eq!((m.from, m.bytes.len()), (peer.account(), 1 << 20));
    assert!(m.bytes == pattern(1 << 20, 5));
    // ...then one byte over the limit closes the connection.
    let mut events = n.subscribe();
    let _ = writer.write_message(&vec![7; (1 << 20) + 1]).await;
    let reason = loop {
        if let PeerEvent::Disconnected { reason, .. } = timeout(WAIT, events.recv()).await.unwrap().unwrap() {
            break reason;
        }
    };
    assert!(reason.contains("exceeds the limit"), "{reason}");
    assert!(!n.is_connected(&peer.account()));
    assert!(rx.try_recv().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_connection_replaces_the_older_one_and_the_dialler_recovers() {
    let keys = keys("dup", 2);
    let mut nodes = mesh(&keys).await;
    let baddr = nodes[1].net.local_addr();
    let a = keys[0].account();

    // A second connection proving node A's key (say A restarted before B noticed): newest wins.
    let mut s = forged_client(baddr, &keys[0], &keys[0], false).await;
    let client_addr = s.local_addr().unwrap();
    wait_for(&nodes[1].net, "the newer connection to take over", |h| {
        h.peers().iter().any(|p| p.id == a && p.addr == client_addr && !p.outbound)
    })
    .await;
    assert_eq!(nodes[1].net.peers().len(), 1, "still one connection per peer");

    // A's own connection was closed by B, so A redials; that connection is newer again.
    expect_closed(&mut s, "the replaced hand-made connection").await;
    wait_for(&nodes[1].net, "A to reconnect", |h| h.peers().iter().any(|p| p.id == a && p.addr != client_addr)).await;
    wait_for(&nodes[0].net, "A to see B again", |h| h.is_connected(&keys[1].account())).await;
    exchange_all(&mut nodes, 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_does_not_read_overflows_only_its_own_queue() {
    let keys = keys("slow", 3);
    let slow = &keys[1];
    let mut c = config(&keys[2], local(), vec![], &keys);
    c.peer_queue = 4;
    let (net, rx) = P2p::start(c).await.unwrap();
    let addr = net.local_addr();
    let (a, arx) = P2p::start(config(&keys[0], local(), vec![(keys[2].account(), addr)], &keys)).await.unwrap();
    let mut nodes = vec![Node { key: keys[0].clone(), net: a, rx: arx }, Node { key: keys[2].clone(), net, rx }];

    // The slow peer completes the handshake and then never reads.
    let s = forged_client(addr, slow, slow, false).await;
    wait_for(&nodes[1].net, "both peers to connect", |h| h.peers().len() == 2).await;
    for _ in 0..50 {
        nodes[1].net.send(&slow.account(), vec![1; 1 << 20]);
    }
    let dropped = nodes[1].net.stats().dropped_outbound;
    assert!(dropped >= 30, "a full queue drops instead of blocking (dropped {dropped})");
    assert!(nodes[1].net.is_connected(&slow.account()));
    // The other peer is unaffected.
    exchange_all(&mut nodes, 6).await;
    drop(s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_queue_is_bounded_in_bytes_not_only_in_messages() {
    let keys = keys("bytes", 3);
    let slow = &keys[1];
    let mut c = config(&keys[2], local(), vec![], &keys);
    c.max_message_bytes = 1 << 20;
    c.peer_queue_bytes = 4 << 20; // four messages of 1 MiB; the count (1024) is far away
    let (net, rx) = P2p::start(c).await.unwrap();
    let addr = net.local_addr();
    let (a, arx) = P2p::start(config(&keys[0], local(), vec![(keys[2].account(), addr)], &keys)).await.unwrap();
    let mut nodes = vec![Node { key: keys[0].clone(), net: a, rx: arx }, Node { key: keys[2].clone(), net, rx }];

    let s = forged_client(addr, slow, slow, false).await;
    wait_for(&nodes[1].net, "both peers to connect", |h| h.peers().len() == 2).await;
    for _ in 0..50 {
        nodes[1].net.send(&slow.account(), vec![1; 1 << 20]);
    }
    let dropped = nodes[1].net.stats().dropped_outbound;
    assert!(dropped >= 30, "a queue past its byte budget drops (dropped {dropped})");
    assert!(nodes[1].net.is_connected(&slow.account()));
    exchange_all(&mut nodes, 7).await;
    drop(s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_peer_waits_on_its_own_inbound_budget_and_others_get_through() {
    let keys = keys("flood", 3);
    let mut nodes = mesh_with(&keys, |c| {
        c.max_message_bytes = 1 << 20;
        c.peer_inbound_bytes = 2 << 20; // two messages of 1 MiB per peer
    })
    .await;
    let receiver = nodes[0].id();
    let (flooder, other) = (nodes[1].id(), nodes[2].id());
    for i in 0..20u8 {
        nodes[1].net.send(&receiver, vec![i; 1 << 20]);
    }
    // The receiver does not take anything: the flooder's budget fills and its connection waits.
    let deadline = Instant::now() + WAIT;
    while nodes[0].rx.len() < 2 {
        assert!(Instant::now() < deadline, "the flooder's first messages never arrived");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    nodes[2].net.send(&receiver, vec![42]);
    while nodes[0].rx.len() < 3 {
        assert!(Instant::now() < deadline, "the other peer's message did not get through");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut before_other = 0;
    loop {
        let m = nodes[0].recv().await;
        if m.from == other {
            assert_eq!(m.bytes, vec![42]);
            break;
        }
        assert_eq!(m.from, flooder);
        before_other += 1;
    }
    assert_eq!(before_other, 2, "the flooder got past its own inbound budget");
    // Nothing was lost: taking messages frees the budget and the rest follows, in order.
    for i in 2..20u8 {
        let m = nodes[0].recv().await;
        assert_eq!((m.from, m.bytes[0], m.bytes.len()), (flooder, i, 1 << 20));
    }
}
