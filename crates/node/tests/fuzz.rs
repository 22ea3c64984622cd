//! Fuzz targets of the node (see `jjj-fuzz-harness`; `scripts/fuzz.sh` runs them all), against a
//! real in-process node: one network whose four validators' keys the fuzzer holds (the node is
//! validator 0), a memory store, p2p on 127.0.0.1, all on one thread (a current-thread runtime), so a panic in
//! any of its tasks is caught within the case that caused it.
//!
//! - `node_wire`: bytes from a peer → `WireMessage::decode_bounded` → the consensus checks
//!   (`verify_sender`, each message's `verify`, certificates) → `Chain::deliver` as if from a
//!   validator, so the driver, the PBFT core and catch-up (re-executing certified blocks) see
//!   it too. Seeds are valid signed messages of every kind; half the mutated ones are re-signed
//!   by a validator key, so they pass the signature checks and reach the state machine.
//! - `node_rpc`: JSON-RPC requests → the node's RPC module (`raw_json_request`: the server's own
//!   parameter parsing and handlers). Requests are built per method with valid and odd values
//!   (hex, SCALE transactions, accounts, network ids, heights), then damaged as JSON trees or
//!   as text.
use jjj_config::{Genesis, GenesisAccount, GenesisValidator};
use jjj_consensus::{CommitCertificate, ConsensusMessage, NewView, PreparedCertificate, Proposal, ValidatorSet};
use jjj_consensus::{ViewChange, Vote, VoteKind};
use jjj_crypto::{Keypair, Suite};
use jjj_executive::{BlockTemplate, Runtime};
use jjj_fuzz_harness::json;
use jjj_fuzz_harness::rand::rngs::StdRng;
use jjj_fuzz_harness::rand::{Rng, SeedableRng};
use jjj_fuzz_harness::serde_json::{json, Value};
use jjj_fuzz_harness::{mutate, mutate_from, verbose, Target};
use jjj_node::chain::{Chain, ChainOptions};
use jjj_node::compact::CompactProposal;
use jjj_node::rpc::{module, NodeRpc};
use jjj_node::service::Node;
use jjj_node::wire::{CertifiedBlock, WireMessage};
use jjj_p2p::{P2p, P2pConfig};
use jjj_primitives::*;
use jjj_state::{MemoryState, StateCommitment};
use jjj_store::{ChainStore, MemoryStore};
use jsonrpsee::RpcModule;
use parity_scale_codec::Encode;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime as Tokio;

const NETWORK: &str = "fuzz";
const GENESIS_TIME: u64 = 1_767_225_600_000;
/// Small, so the fuzzer reaches a full mempool and a sender's full share.
const MEMPOOL_CAPACITY: usize = 64;
const MEMPOOL_PER_SENDER: usize = 8;
/// Node round trips: fewer cases by default than the pure decoders.
const DEFAULT_CASES: u64 = 1_000;
/// How long the fuzzing client waits for an answer before dropping the request.
const CLIENT_PATIENCE: Duration = Duration::from_millis(100);
const LIMITS: &[u64] = &[64, 512, 16 << 20, 32];

/// The node and what the fuzzer knows about its network.
struct Fixture {
    rt: Tokio,
    node: Arc<Node>,
    chain: Arc<Chain>,
    network: NetworkId,
    /// The network's crypto suite: the one the tests run with (`JJJ_TEST_SUITE`).
    suite: Suite,
    /// The validators' keys, in leader order; the node is validator 0.
    keys: Vec<Keypair>,
    validators: ValidatorSet,
    /// Certified block 1 (empty, on genesis): a catch-up answer the node can apply.
    block1: CertifiedBlock,
    users: Vec<Keypair>,
}

impl Fixture {
    /// The key of the leader of (height, view), as the validator set rotates it.
    fn leader(&self, height: u64, view: u64) -> &Keypair {
        let leader = self.validators.leader(height, view);
        self.keys.iter().find(|k| k.account() == leader).unwrap_or(&self.keys[0])
    }

    /// The network's hash.
    fn algo(&self) -> HashAlgo {
        self.suite.hash_algo()
    }

    fn start() -> Fixture {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        let suite = jjj_testkit::test_suite();
        let key = |name: String| Keypair::named(suite.scheme(), &name);
        let keys: Vec<Keypair> = (0..4).map(|i| key(format!("fuzz-validator-{i}"))).collect();
        let users: Vec<Keypair> = (0..3).map(|i| key(format!("fuzz-user-{i}"))).collect();
        let hex = |a: AccountId| format!("0x{}", jjj_fuzz_harness::to_hex(&a.0));
        let validators = keys
            .iter()
            .enumerate()
            .map(|(i, k)| GenesisValidator { id: hex(k.account()), name: format!("v{i}"), addr: None })
            .collect();
        let accounts = users
            .iter()
            .enumerate()
            .map(|(i, k)| GenesisAccount {
                id: hex(k.account()),
                name: format!("u{i}"),
                balance: 1_000_000_000,
                member: String::new(),
                roles: vec![],
            })
            .collect();
        let genesis = Genesis {
            crypto: suite.name().into(),
            max_block_txs: 64,
            max_block_bytes: 1 << 20,
            ..Genesis::dev(NETWORK, GENESIS_TIME, validators, accounts)
        };
        let network = genesis.network_id().expect("network");
        let validators = ValidatorSet::new(genesis.validator_ids().expect("ids")).expect("set");
        let runtime = Runtime::new().expect("runtime").with_suite(suite);
        let block1 = certified_block1(&genesis, &runtime, &keys);
        let node = rt.block_on(async {
            let config = P2pConfig::new("127.0.0.1:0".parse().expect("addr"), keys[0].clone());
            let (net, _inbound) = P2p::start(config).await.expect("p2p");
            let store: Arc<dyn ChainStore> = Arc::new(MemoryStore::new(suite.hash_algo()));
            let options = ChainOptions::new(2_000, MEMPOOL_CAPACITY, MEMPOOL_PER_SENDER);
            let chain = Chain::start(genesis, store, runtime, keys[0].clone(), net.clone(), options).expect("chain");
            let chains = BTreeMap::from([(NETWORK.to_string(), chain)]);
            Arc::new(Node {
                name: "fuzz".into(),
                id: keys[0].account(),
                chains,
                net,
                started_ms: 0,
                unserved_network_messages: Default::default(),
            })
        });
        let chain = node.chains[NETWORK].clone();
        Fixture { rt, node, chain, network, suite, keys, validators, block1, users }
    }

    /// Lets the node's tasks run (the driver handles what was delivered).
    fn settle(&self) {
        self.rt.block_on(tokio::time::sleep(Duration::from_millis(1)));
    }

    fn transfer(&self, rng: &mut StdRng) -> SignedTransaction {
        let from = &self.users[rng.gen_range(0..self.users.len())];
        let to = self.users[rng.gen_range(0..self.users.len())].account();
        let tx = Transaction {
            network: self.network.clone(),
            sender: from.account(),
            nonce: rng.gen_range(0..4),
            gas_limit: 100_000,
            call: Call::Transfer { to, amount: rng.gen_range(0..1000) },
        };
        from.sign_tx(tx)
    }

    fn block(&self, height: u64, rng: &mut StdRng) -> Block {
        let mut block = self.block1.block.clone();
        block.header.height = height;
        if rng.gen_bool(0.5) {
            block.transactions.push(self.transfer(rng));
        }
        block
    }

    fn commit_certificate(&self, block: &Block, view: u64, signers: usize) -> CommitCertificate {
        let hash = block.header.hash(self.algo());
        let signatures = self.keys[..signers]
            .iter()
            .map(|k| {
                let v = Vote::sign(&self.network, k, VoteKind::Commit, block.header.height, view, hash);
                (v.voter, v.signature)
            })
            .collect();
        CommitCertificate { height: block.header.height, view, block_hash: hash, signatures }
    }

    fn prepared(&self, block: &Block, view: u64) -> PreparedCertificate {
        let hash = block.header.hash(self.algo());
        let signatures = self.keys[..3]
            .iter()
            .map(|k| {
                let v = Vote::sign(&self.network, k, VoteKind::Prepare, block.header.height, view, hash);
                (v.voter, v.signature)
            })
            .collect();
        PreparedCertificate { height: block.header.height, view, block_hash: hash, signatures }
    }

    /// Valid messages of every kind, as peers send them.
    fn wire_corpus(&self, rng: &mut StdRng) -> Vec<Vec<u8>> {
        let net = &self.network;
        let k = &self.keys;
        let b1 = self.block(1, rng);
        let h1 = b1.header.hash(self.algo());
        let vc = |key: &Keypair, prepared: bool| {
            let p = prepared.then(|| (self.prepared(&b1, 0), b1.clone()));
            ViewChange::sign(net, key, 1, 1, p)
        };
        // Inside a NEW-VIEW the view changes carry only their signed claim; the NEW-VIEW carries
        // the prepared certificate once.
        let claim_only = |mut v: ViewChange| {
            v.proof = None;
            v
        };
        let new_view = NewView {
            height: 1,
            view: 1,
            view_changes: vec![claim_only(vc(&k[1], true)), vc(&k[2], false), vc(&k[3], false)],
            prepared: Some(Box::new(self.prepared(&b1, 0))),
            proposal: Proposal::sign(self.algo(), net, self.leader(1, 1), 1, 1, b1.clone()),
        };
        let consensus = [
            ConsensusMessage::Proposal(Proposal::sign(self.algo(), net, self.leader(1, 0), 1, 0, b1.clone())),
            ConsensusMessage::Vote(Vote::sign(net, &k[1], VoteKind::Prepare, 1, 0, h1)),
            ConsensusMessage::Vote(Vote::sign(net, &k[2], VoteKind::Commit, 1, 0, h1)),
            ConsensusMessage::ViewChange(vc(&k[3], true)),
            ConsensusMessage::NewView(new_view),
        ];
        let mut corpus: Vec<WireMessage> =
            consensus.into_iter().map(|message| WireMessage::Consensus { network: net.clone(), message }).collect();
        corpus.push(WireMessage::Transactions {
            network: net.clone(),
            txs: vec![self.transfer(rng), self.transfer(rng)],
        });
        corpus.push(WireMessage::SyncRequest { network: net.clone(), from: 1 });
        let p1 = Proposal::sign(self.algo(), net, self.leader(1, 0), 1, 0, b1.clone());
        corpus.push(WireMessage::CompactProposal {
            network: net.clone(),
            proposal: CompactProposal::of(&p1, self.algo()),
        });
        corpus.push(WireMessage::ProposalRequest { network: net.clone(), height: 1, view: 0 });
        corpus.push(WireMessage::SyncResponse { network: net.clone(), blocks: vec![self.block1.clone()] });
        let b2 = self.block(2, rng);
        let c2 = self.commit_certificate(&b2, 0, 3);
        corpus.push(WireMessage::SyncResponse {
            network: net.clone(),
            blocks: vec![self.block1.clone(), CertifiedBlock { block: b2, certificate: c2 }],
        });
        corpus.iter().map(Encode::encode).collect()
    }

    /// Signs a decoded message again with the key of a validator, so that it passes signature
    /// checks however its fields were damaged. Certified blocks get fresh certificates.
    fn resign(&self, rng: &mut StdRng, message: WireMessage) -> WireMessage {
        let net = &self.network;
        let key = &self.keys[rng.gen_range(0..self.keys.len())];
        match message {
            WireMessage::Consensus { network, message } => {
                let message = match message {
                    ConsensusMessage::Proposal(p) => {
                        let leader = self.leader(p.height, p.view);
                        ConsensusMessage::Proposal(Proposal::sign(self.algo(), net, leader, p.height, p.view, p.block))
                    }
                    ConsensusMessage::Vote(v) => {
                        ConsensusMessage::Vote(Vote::sign(net, key, v.kind, v.height, v.view, v.block_hash))
                    }
                    ConsensusMessage::ViewChange(vc) => {
                        let proof = vc.proof.map(|p| (p.certificate, p.block));
                        ConsensusMessage::ViewChange(ViewChange::sign(net, key, vc.height, vc.new_view, proof))
                    }
                    ConsensusMessage::NewView(mut nv) => {
                        let p = nv.proposal;
                        let leader = self.leader(p.height, p.view);
                        nv.proposal = Proposal::sign(self.algo(), net, leader, p.height, p.view, p.block);
                        ConsensusMessage::NewView(nv)
                    }
                };
                WireMessage::Consensus { network, message }
            }
            WireMessage::CompactProposal { network, mut proposal } => {
                let leader = self.leader(proposal.height, proposal.view);
                let header = Block { header: proposal.header.clone(), transactions: Vec::new() };
                proposal.signature =
                    Proposal::sign(self.algo(), net, leader, proposal.height, proposal.view, header).signature;
                proposal.proposer = leader.account();
                WireMessage::CompactProposal { network, proposal }
            }
            WireMessage::SyncResponse { network, blocks } => {
                let blocks = blocks
                    .into_iter()
                    .map(|cb| {
                        let certificate = self.commit_certificate(&cb.block, cb.certificate.view, rng.gen_range(2..=4));
                        CertifiedBlock { block: cb.block, certificate }
                    })
                    .collect();
                WireMessage::SyncResponse { network, blocks }
            }
            other => other,
        }
    }

    /// What a node does with a peer's bytes: decode, check, deliver.
    fn receive(&self, bytes: &[u8], from: usize) {
        let Ok(message) = WireMessage::decode_bounded(bytes) else { return };
        let again = WireMessage::decode_bounded(&message.encode());
        assert_eq!(again.as_ref(), Ok(&message), "a decoded message does not survive re-encoding");
        let (suite, net, set) = (self.suite, &self.network, &self.validators);
        match &message {
            WireMessage::Consensus { message, .. } => {
                let _ = message.verify_sender(suite, net, set);
                let _ = (message.height(), message.view(), message.kind());
                let _ = match message {
                    ConsensusMessage::Proposal(p) => p.verify(suite, net, set),
                    ConsensusMessage::Vote(v) => {
                        let _ = v.verify(suite, net);
                        Ok(())
                    }
                    ConsensusMessage::ViewChange(vc) => vc.verify(suite, net, set),
                    ConsensusMessage::NewView(nv) => nv.verify(suite, net, set),
                };
            }
            WireMessage::SyncResponse { blocks, .. } => {
                for b in blocks {
                    let _ = b.certificate.verify(suite, net, set);
                    let _ = b.block.header.hash(self.algo());
                }
            }
            WireMessage::Transactions { txs, .. } => {
                for tx in txs {
                    let _ = (tx.hash(self.algo()), tx.encoded_size());
                }
            }
            WireMessage::CompactProposal { proposal, .. } => {
                let _ = proposal.header.hash(self.algo());
            }
            WireMessage::SyncRequest { .. } | WireMessage::ProposalRequest { .. } => {}
        }
        if message.network() == &self.network {
            self.chain.deliver(self.keys[from % self.keys.len()].account(), message, None);
            self.settle();
        }
    }
}

/// Block 1 built on genesis by validator 0 and committed by validators 0..3.
fn certified_block1(genesis: &Genesis, runtime: &Runtime, keys: &[Keypair]) -> CertifiedBlock {
    let algo = runtime.hash_algo();
    let mut state = MemoryState::new(algo);
    state.apply(&genesis.state_changes().expect("genesis")).expect("genesis state");
    let header = genesis.header().expect("genesis header");
    assert_eq!(header.state_root, state.state_root());
    let template = BlockTemplate {
        network: header.network.clone(),
        height: 1,
        parent_hash: header.hash(algo),
        timestamp: GENESIS_TIME + 1_000,
        proposer: keys[0].account(),
    };
    let (block, _, _) = runtime.build_block(Arc::new(state), template, vec![]).expect("block 1");
    let hash = block.header.hash(algo);
    let signatures = keys[..3]
        .iter()
        .map(|k| {
            let v = Vote::sign(&header.network, k, VoteKind::Commit, 1, 0, hash);
            (v.voter, v.signature)
        })
        .collect();
    CertifiedBlock { block, certificate: CommitCertificate { height: 1, view: 0, block_hash: hash, signatures } }
}

#[test]
fn fuzz_node_wire() {
    let f = Fixture::start();
    // The driver's channels and timers need the runtime's context between `block_on`s too.
    let _entered = f.rt.enter();
    let corpus = f.wire_corpus(&mut StdRng::seed_from_u64(0));
    Target::with_default_cases("node_wire", DEFAULT_CASES).run(
        |rng| {
            let mut bytes = mutate_from(rng, &corpus, LIMITS);
            if rng.gen_bool(0.5) {
                if let Ok(message) = WireMessage::decode_bounded(&bytes) {
                    bytes = f.resign(rng, message).encode();
                }
            }
            // The first byte picks the sending validator.
            let mut input = vec![rng.gen()];
            input.extend(bytes);
            input
        },
        |input| {
            if let Some((&from, bytes)) = input.split_first() {
                f.receive(bytes, from as usize);
            }
        },
    );
    if verbose() {
        let (height, _) = f.chain.head();
        let view = f.chain.metrics.view.load(std::sync::atomic::Ordering::Relaxed);
        println!("node_wire: the node ended at height {height}, view {view}");
    }
}

/// Parameter values per name: valid ones and near misses.
fn values(f: &Fixture, rng: &mut StdRng, name: &str) -> Value {
    let account = |k: &Keypair| format!("0x{}", jjj_fuzz_harness::to_hex(&k.account().0));
    let tx = f.transfer(rng);
    match (name, rng.gen_range(0..4)) {
        ("network", 0) => json!("jj"),
        ("network", _) => json!(NETWORK),
        ("tx", 0) => {
            let mut bytes = tx.encode();
            mutate(rng, &mut bytes, &[], LIMITS);
            json!(format!("0x{}", jjj_fuzz_harness::to_hex(&bytes)))
        }
        ("tx", _) => json!(format!("0x{}", jjj_fuzz_harness::to_hex(&tx.encode()))),
        ("hash", 0) => json!(f.block1.block.header.hash(f.algo()).to_string()),
        ("hash", _) => json!(tx.hash(f.algo()).to_string()),
        ("account" | "contract" | "sender", 0) => json!(account(&f.keys[0])),
        ("account" | "contract" | "sender", _) => json!(account(&f.users[rng.gen_range(0..f.users.len())])),
        ("input", _) => json!(format!("0x{}", jjj_fuzz_harness::to_hex(&rng.gen::<[u8; 8]>()))),
        ("raw", _) => json!(rng.gen::<bool>()),
        ("topic", _) => json!(format!("0x{}", "11".repeat(32))),
        (_, 0) => json!(rng.gen::<u64>()),
        (_, _) => json!(rng.gen_range(0..4)),
    }
}

const METHODS: &[(&str, &[&str])] = &[
    ("tx_submit", &["network", "tx"]),
    ("tx_receipt", &["network", "hash", "wait_ms"]),
    ("chain_getBlock", &["network", "height", "hash", "raw"]),
    ("chain_getFinalizedHead", &["network"]),
    ("chain_getCertificate", &["network", "height"]),
    ("state_getAccount", &["network", "account"]),
    ("contract_query", &["network", "contract", "input", "sender", "value", "gas_limit", "at", "read"]),
    ("contract_dryRun", &["network", "contract", "input", "sender", "value", "gas_limit", "at", "read"]),
    ("audit_accessLog", &["network", "from", "limit"]),
    ("contract_events", &["network", "contract", "topic", "from", "to", "limit", "read"]),
    ("contract_info", &["network", "account"]),
    ("node_health", &[]),
    ("node_peers", &[]),
    ("chain_subscribeFinalizedHeads", &["network"]),
    ("contract_subscribeEvents", &["network", "contract"]),
    ("no_suchMethod", &["network"]),
];

fn request(f: &Fixture, rng: &mut StdRng) -> Vec<u8> {
    let (method, params) = METHODS[rng.gen_range(0..METHODS.len())];
    // In declaration order (by position needs it); an optional one is sometimes left out.
    let mut given: Vec<(&str, Value)> = Vec::new();
    for p in params.iter() {
        if rng.gen_bool(0.9) {
            given.push((p, values(f, rng, p)));
        }
    }
    let params = if rng.gen_bool(0.7) {
        Value::Object(given.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    } else {
        Value::Array(given.into_iter().map(|(_, v)| v).collect())
    };
    let mut doc = json!({"jsonrpc": "2.0", "id": rng.gen_range(0..100), "method": method, "params": params});
    let pool = [json!(NETWORK), json!(format!("0x{}", jjj_fuzz_harness::to_hex(&f.transfer(rng).encode())))];
    match rng.gen_range(0..4) {
        0 => {}
        1 => {
            let mut text = doc.to_string().into_bytes();
            mutate(rng, &mut text, &[], LIMITS);
            return text;
        }
        _ => json::mutate(rng, &mut doc, &pool),
    }
    doc.to_string().into_bytes()
}

#[test]
fn fuzz_node_rpc() {
    let f = Fixture::start();
    let _entered = f.rt.enter();
    let rpc: RpcModule<NodeRpc> = module(f.node.clone(), &jjj_config::RpcLimits::default()).expect("rpc module");
    Target::with_default_cases("node_rpc", DEFAULT_CASES).run(
        |rng| request(&f, rng),
        |input| {
            let Ok(text) = std::str::from_utf8(input) else { return };
            // A client that gives up: `tx_receipt` may wait up to a minute for finality.
            let call = tokio::time::timeout(CLIENT_PATIENCE, rpc.raw_json_request(text, 16));
            if let Ok(Ok((response, _subscription))) = f.rt.block_on(call) {
                let parsed: Result<Value, _> = jjj_fuzz_harness::serde_json::from_str(response.get());
                assert!(parsed.is_ok(), "the response is not JSON: {}", response.get());
            }
            f.settle();
        },
    );
    // The node still serves after everything it was sent.
    let head = f.rt.block_on(rpc.raw_json_request(
        r#"{"jsonrpc":"2.0","id":1,"method":"chain_getFinalizedHead","params":{"network":"fuzz"}}"#,
        1,
    ));
    let (response, _) = head.expect("a plain request");
    assert!(response.get().contains("\"result\""), "{}", response.get());
}
