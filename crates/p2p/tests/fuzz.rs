//! Fuzz target `p2p_frames` (see `jjj-fuzz-harness`; `scripts/fuzz.sh` runs them all): what an
//! authenticated but faulty peer can put on the wire, through the frame decoder.
//!
//! An input is a run of pieces: `Sealed` plaintexts, encrypted with the peer's real Noise
//! transport and framed (so they reach the chunked-message layer), and `Raw` bytes written as
//! they are (forged length prefixes, at and past the frame limit, garbage ciphertext). The
//! generator starts from well-formed messages of boundary sizes (one chunk, exactly full chunks,
//! over the message limit) with pings between chunks, then damages headers, chunk sizes and
//! prefixes. The check reads every message `MessageReader` accepts until it refuses one, and
//! runs the same bytes through the raw frame reader and the handshake's responder side.
use jjj_crypto::Keypair;
use jjj_fuzz_harness::rand::rngs::StdRng;
use jjj_fuzz_harness::rand::Rng;
use jjj_fuzz_harness::{interesting_number, mutate, verbose, Target};
use jjj_p2p::frame::{read_frame, TAG_LEN};
use jjj_p2p::{handshake, noise_handshake, MessageReader, Opener, Role, Sealer, MAX_CHUNK_PLAINTEXT, MAX_FRAME_LEN};
use std::io::Cursor;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::runtime::Runtime;

/// The reader's message limit in this target: small enough that messages over it are cheap to
/// build, larger than one chunk so multi-chunk messages are in range.
const MAX_MESSAGE: usize = 3 * MAX_CHUNK_PLAINTEXT;
const TAG: &[u8] = b"jjj-fuzz";
const LIMITS: &[u64] = &[
    MAX_FRAME_LEN as u64,
    MAX_CHUNK_PLAINTEXT as u64,
    (MAX_CHUNK_PLAINTEXT - 4) as u64,
    MAX_MESSAGE as u64,
    TAG_LEN as u64,
    4,
];
const SEALED: u8 = 0;
const RAW: u8 = 1;

/// Encodes pieces as `kind (1) ++ length (u32 LE) ++ bytes` each.
fn encode(pieces: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (kind, bytes) in pieces {
        out.push(*kind);
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

/// The pieces of an input; a damaged last piece keeps what is there.
fn decode(mut input: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut pieces = Vec::new();
    while let Some((&kind, rest)) = input.split_first() {
        let Some((len, rest)) = rest.split_first_chunk::<4>() else { break };
        let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
        pieces.push((kind % 2, rest[..len].to_vec()));
        input = &rest[len..];
    }
    pieces
}

/// A well-formed message of a boundary size, chunked as `MessageWriter` does, pings between.
fn message(rng: &mut StdRng) -> Vec<(u8, Vec<u8>)> {
    let len = match rng.gen_range(0..6) {
        0 => rng.gen_range(0..64),
        1 => MAX_CHUNK_PLAINTEXT - 4 + rng.gen_range(0..3) - 1,
        2 => 2 * MAX_CHUNK_PLAINTEXT - 4 + rng.gen_range(0..3) - 1,
        3 => MAX_MESSAGE + rng.gen_range(0..3) - 1,
        _ => rng.gen_range(0..3 * MAX_CHUNK_PLAINTEXT),
    };
    let body: Vec<u8> = (0..len).map(|i| i as u8).collect();
    let first = len.min(MAX_CHUNK_PLAINTEXT - 4);
    let mut head = (len as u32).to_be_bytes().to_vec();
    head.extend_from_slice(&body[..first]);
    let mut pieces = vec![(SEALED, head)];
    for chunk in body[first..].chunks(MAX_CHUNK_PLAINTEXT) {
        if rng.gen_bool(0.2) {
            pieces.push((SEALED, vec![])); // a ping
        }
        pieces.push((SEALED, chunk.to_vec()));
    }
    pieces
}

fn generate(rng: &mut StdRng) -> Vec<u8> {
    let mut pieces = Vec::new();
    for _ in 0..rng.gen_range(1..=3) {
        pieces.extend(message(rng));
    }
    // Damage: a piece's bytes, its kind, a forged frame prefix, a dropped or repeated piece.
    for _ in 0..rng.gen_range(0..4) {
        let i = rng.gen_range(0..pieces.len());
        match rng.gen_range(0..5) {
            0 => {
                let bytes = &mut pieces[i].1;
                // Mostly the 4-byte header or the first bytes: where the sizes are.
                if !bytes.is_empty() && rng.gen_bool(0.5) {
                    let at = rng.gen_range(0..bytes.len().min(4));
                    bytes[at] = rng.gen();
                } else {
                    mutate(rng, bytes, &[], LIMITS);
                }
            }
            1 => pieces[i].0 ^= 1,
            2 => {
                let prefix = (interesting_number(rng, LIMITS) as u32).to_be_bytes().to_vec();
                let mut raw = prefix;
                raw.extend((0..rng.gen_range(0..64)).map(|_| rng.gen::<u8>()));
                pieces.insert(i, (RAW, raw));
            }
            3 => {
                pieces.remove(i);
                if pieces.is_empty() {
                    break;
                }
            }
            _ => {
                let p = pieces[i].clone();
                pieces.insert(i, p);
            }
        }
    }
    encode(&pieces)
}

/// A fresh Noise transport pair over memory: the faulty peer's sealer and our opener.
fn transport(rt: &Runtime) -> (Sealer, Opener) {
    rt.block_on(async {
        let (mut a, mut b) = tokio::io::duplex(4096);
        let (ours, theirs) = tokio::join!(
            noise_handshake(&mut a, Role::Responder, &[1; 32], TAG),
            noise_handshake(&mut b, Role::Initiator, &[2; 32], TAG),
        );
        let (_, _, opener) = ours.expect("handshake");
        let (_, sealer, _) = theirs.expect("handshake");
        (sealer, opener)
    })
}

/// Returns how many messages the reader accepted.
fn check(rt: &Runtime, input: &[u8]) -> u64 {
    let pieces = decode(input);
    let (mut sealer, opener) = transport(rt);
    let mut stream = Vec::new();
    let mut ciphertext = Vec::new();
    for (kind, bytes) in &pieces {
        if *kind == SEALED && bytes.len() <= MAX_CHUNK_PLAINTEXT {
            sealer.seal(bytes, &mut ciphertext).expect("seal");
            stream.extend_from_slice(&(ciphertext.len() as u32).to_be_bytes());
            stream.extend_from_slice(&ciphertext);
        } else {
            stream.extend_from_slice(bytes);
        }
    }
    rt.block_on(async {
        let mut accepted = 0;
        let mut reader = MessageReader::new(Cursor::new(stream.clone()), opener, MAX_MESSAGE, Duration::from_secs(5));
        while let Ok(message) = reader.read_message().await {
            assert!(message.len() <= MAX_MESSAGE, "accepted a message of {} bytes", message.len());
            accepted += 1;
        }

        let mut raw = &stream[..];
        let mut frame = Vec::new();
        while read_frame(&mut raw, TAG_LEN, MAX_FRAME_LEN, &mut frame).await.is_ok() {
            assert!((TAG_LEN..=MAX_FRAME_LEN).contains(&frame.len()), "frame of {} bytes", frame.len());
        }

        // The same bytes offered to a node as an opening handshake.
        let (mut peer, mut ours) = tokio::io::duplex(1 << 20);
        let opening: Vec<u8> = pieces.iter().flat_map(|(_, b)| b.iter().copied()).take(1 << 16).collect();
        let _ = peer.write_all(&opening).await;
        drop(peer);
        let key = Keypair::from_name("fuzz-node");
        let refused = handshake(&mut ours, Role::Responder, &[3; 32], &key, TAG, |_| Ok(())).await;
        assert!(refused.is_err(), "a handshake of garbage succeeded");
        accepted
    })
}

#[test]
fn fuzz_p2p_frames() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    let mut accepted = 0;
    Target::new("p2p_frames").run(generate, |input| accepted += check(&rt, input));
    if verbose() {
        println!("p2p_frames: {accepted} messages accepted");
    }
}
