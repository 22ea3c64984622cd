//! The connection handshake: Noise XX for the encrypted channel, then each side proves it holds
//! an ed25519 node key by signing the Noise handshake hash.
//!
//! Order after the Noise XX handshake (whose payloads must be empty):
//! 1. the initiator sends its identity (first transport message);
//! 2. the responder checks it (signature, allowed set) and only then sends its own identity;
//! 3. the initiator checks the responder's identity (it must be the key it meant to dial).
//!
//! The responder speaks second so that a stranger learns nothing about us before proving itself.
//! Each side signs a payload that names its role, so a peer cannot reflect our own signature back
//! to us as its proof.
use super::frame::{read_frame, split_transport, write_frame, FrameError, Opener, Sealer};
use jjj_crypto::{ed25519_verify, Keypair};
use jjj_primitives::AccountId;
use snow::params::NoiseParams;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

/// The Noise protocol name: XX so neither side needs the other's x25519 key in advance.
pub const NOISE_PARAMS: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
/// Protocol and version tag; part of the Noise prologue and of every identity signature.
pub const PROTOCOL_TAG: &[u8] = b"jjj/p2p/v1";
/// The XX handshake messages with empty payloads are at most 96 bytes; allow some slack.
pub const MAX_HANDSHAKE_FRAME: usize = 256;
/// ed25519 public key ++ ed25519 signature.
pub const IDENTITY_LEN: usize = 32 + 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Initiator,
    Responder,
}

impl Role {
    fn byte(self) -> u8 {
        match self {
            Role::Initiator => b'i',
            Role::Responder => b'r',
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    #[error("framing: {0}")]
    Frame(#[from] FrameError),
    #[error("noise: {0}")]
    Noise(#[from] snow::Error),
    #[error("noise handshake message carried an unexpected payload")]
    UnexpectedPayload,
    #[error("identity message has {0} bytes, expected {IDENTITY_LEN}")]
    IdentityLength(usize),
    #[error("identity signature by {0} does not verify")]
    BadSignature(AccountId),
    #[error("peer {0} is not in the allowed set")]
    NotAllowed(AccountId),
    #[error("dialled {expected} but the peer proved it is {actual}")]
    UnexpectedPeer { expected: AccountId, actual: AccountId },
    #[error("peer presented our own node key")]
    SelfConnection,
    #[error("handshake timed out")]
    Timeout,
}

/// What a finished handshake yields: the proven peer key and the two transport directions.
pub struct Established {
    pub peer: AccountId,
    pub sealer: Sealer,
    pub opener: Opener,
}

/// The Noise prologue: both sides must agree on protocol and network, or the handshake fails.
pub fn prologue(network_tag: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(PROTOCOL_TAG.len() + 1 + network_tag.len());
    p.extend_from_slice(PROTOCOL_TAG);
    p.push(0);
    p.extend_from_slice(network_tag);
    p
}

/// The bytes a node signs to bind its key to this channel:
/// `"jjj/p2p/v1" ++ handshake_hash ++ network_tag ++ role` (role is `i` or `r`).
pub fn signing_payload(handshake_hash: &[u8], network_tag: &[u8], role: Role) -> Vec<u8> {
    let mut m = Vec::with_capacity(PROTOCOL_TAG.len() + handshake_hash.len() + network_tag.len() + 1);
    m.extend_from_slice(PROTOCOL_TAG);
    m.extend_from_slice(handshake_hash);
    m.extend_from_slice(network_tag);
    m.push(role.byte());
    m
}

/// The identity message: `ed25519 public key (32) ++ signature (64)` over [`signing_payload`].
pub fn identity_message(key: &Keypair, handshake_hash: &[u8], network_tag: &[u8], role: Role) -> [u8; IDENTITY_LEN] {
    let sig = key.sign(&signing_payload(handshake_hash, network_tag, role));
    let mut out = [0u8; IDENTITY_LEN];
    out[..32].copy_from_slice(&sig.signer.0);
    out[32..].copy_from_slice(&sig.signature);
    out
}

/// Checks an identity message sent by the side playing `role`; returns the proven key.
pub fn verify_identity(
    msg: &[u8],
    handshake_hash: &[u8],
    network_tag: &[u8],
    role: Role,
) -> Result<AccountId, HandshakeError> {
    let Some((key, sig)) = msg.split_first_chunk::<32>() else {
        return Err(HandshakeError::IdentityLength(msg.len()));
    };
    let Ok(sig) = <&[u8; 64]>::try_from(sig) else {
        return Err(HandshakeError::IdentityLength(msg.len()));
    };
    let account = AccountId(*key);
    if !ed25519_verify(&account, &signing_payload(handshake_hash, network_tag, role), sig) {
        return Err(HandshakeError::BadSignature(account));
    }
    Ok(account)
}

/// Runs the Noise XX handshake alone and returns the handshake hash and the transport halves.
/// `static_private` is this process's x25519 key.
pub async fn noise_handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    role: Role,
    static_private: &[u8],
    network_tag: &[u8],
) -> Result<(Vec<u8>, Sealer, Opener), HandshakeError> {
    let params: NoiseParams = NOISE_PARAMS.parse()?;
    let prologue = prologue(network_tag);
    let builder = snow::Builder::new(params).local_private_key(static_private)?.prologue(&prologue)?;
    let mut hs = match role {
        Role::Initiator => builder.build_initiator()?,
        Role::Responder => builder.build_responder()?,
    };
    let mut out = vec![0u8; MAX_HANDSHAKE_FRAME];
    let mut frame = Vec::with_capacity(MAX_HANDSHAKE_FRAME);
    let mut payload = vec![0u8; MAX_HANDSHAKE_FRAME];
    while !hs.is_handshake_finished() {
        if hs.is_my_turn() {
            let n = hs.write_message(&[], &mut out)?;
            write_frame(stream, &out[..n]).await?;
            stream.flush().await.map_err(FrameError::Io)?;
        } else {
            read_frame(stream, 1, MAX_HANDSHAKE_FRAME, &mut frame).await?;
            if hs.read_message(&frame, &mut payload)? != 0 {
                return Err(HandshakeError::UnexpectedPayload);
            }
        }
    }
    let hash = hs.get_handshake_hash().to_vec();
    let (sealer, opener) = split_transport(hs.into_stateless_transport_mode()?);
    Ok((hash, sealer, opener))
}

/// The full handshake. `check` decides whether a proven peer key is acceptable (allowed set for
/// inbound connections, the dialled key for outbound ones). The caller applies the timeout.
pub async fn handshake<S, F>(
    stream: &mut S,
    role: Role,
    static_private: &[u8],
    key: &Keypair,
    network_tag: &[u8],
    check: F,
) -> Result<Established, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: Fn(&AccountId) -> Result<(), HandshakeError>,
{
    let (hash, mut sealer, mut opener) = noise_handshake(stream, role, static_private, network_tag).await?;
    let mut scratch = Vec::new();
    let mut plain = Vec::new();
    let ours = identity_message(key, &hash, network_tag, role);
    let their_role = match role {
        Role::Initiator => Role::Responder,
        Role::Responder => Role::Initiator,
    };
    if role == Role::Initiator {
        sealer.write(stream, &ours, &mut scratch).await?;
        stream.flush().await.map_err(FrameError::Io)?;
    }
    opener.read(stream, &mut scratch, &mut plain).await?;
    let peer = verify_identity(&plain, &hash, network_tag, their_role)?;
    if peer == key.account() {
        return Err(HandshakeError::SelfConnection);
    }
    check(&peer)?;
    if role == Role::Responder {
        sealer.write(stream, &ours, &mut scratch).await?;
        stream.flush().await.map_err(FrameError::Io)?;
    }
    Ok(Established { peer, sealer, opener })
}
