//! The connection handshake: Noise XX for the encrypted channel, then each side proves it holds
//! a node key (ed25519 or SM2, its network's scheme) by signing the Noise handshake hash.
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
use jjj_crypto::{verify, Keypair, Scheme};
use jjj_primitives::AccountId;
use snow::params::NoiseParams;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

/// The Noise protocol name: XX so neither side needs the other's x25519 key in advance.
pub const NOISE_PARAMS: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
/// Protocol and version tag; part of the Noise prologue and of every identity signature.
pub const PROTOCOL_TAG: &[u8] = b"jjj/p2p/v1";
/// The XX handshake messages with empty payloads are at most 96 bytes; allow some slack.
pub const MAX_HANDSHAKE_FRAME: usize = 256;
/// Scheme (1 byte: 0 ed25519, 1 SM2) ++ key id (32) ++ signature (64).
pub const IDENTITY_LEN: usize = 1 + 32 + 64;

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
    #[error("identity message names signature scheme {0}, not 0 (ed25519) or 1 (sm2)")]
    UnknownScheme(u8),
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

/// The identity message: `scheme (1) ++ key id (32) ++ signature (64)` over [`signing_payload`].
/// The scheme is the node key's; which peers are allowed is the caller's question.
pub fn identity_message(key: &Keypair, handshake_hash: &[u8], network_tag: &[u8], role: Role) -> [u8; IDENTITY_LEN] {
    let sig = key.sign(&signing_payload(handshake_hash, network_tag, role));
    let mut out = [0u8; IDENTITY_LEN];
    out[0] = key.scheme().code();
    out[1..33].copy_from_slice(&sig.signer.0);
    out[33..].copy_from_slice(&sig.signature);
    out
}

/// Checks an identity message sent by the side playing `role`; returns the proven key.
pub fn verify_identity(
    msg: &[u8],
    handshake_hash: &[u8],
    network_tag: &[u8],
    role: Role,
) -> Result<AccountId, HandshakeError> {
    let Some(([scheme], rest)) = msg.split_first_chunk::<1>() else {
        return Err(HandshakeError::IdentityLength(msg.len()));
    };
    let Some((key, sig)) = rest.split_first_chunk::<32>() else {
        return Err(HandshakeError::IdentityLength(msg.len()));
    };
    let Ok(sig) = <&[u8; 64]>::try_from(sig) else {
        return Err(HandshakeError::IdentityLength(msg.len()));
    };
    let account = AccountId(*key);
    let Some(scheme) = Scheme::from_code(*scheme) else {
        return Err(HandshakeError::UnknownScheme(*scheme));
    };
    if !verify(scheme, &account, &signing_payload(handshake_hash, network_tag, role), sig) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_of_either_scheme_verify_and_forged_schemes_do_not() {
        let hash = [7u8; 32];
        for scheme in Scheme::ALL {
            let key = Keypair::named(scheme, "node");
            let msg = identity_message(&key, &hash, b"net", Role::Initiator);
            assert_eq!(msg[0], scheme.code());
            assert_eq!(verify_identity(&msg, &hash, b"net", Role::Initiator).ok(), Some(key.account()));
            // The responder's role, another session, or another scheme claimed: refused.
            assert!(matches!(
                verify_identity(&msg, &hash, b"net", Role::Responder),
                Err(HandshakeError::BadSignature(_))
            ));
            assert!(verify_identity(&msg, &[8u8; 32], b"net", Role::Initiator).is_err());
            let mut other = msg;
            other[0] = 1 - scheme.code();
            assert!(matches!(
                verify_identity(&other, &hash, b"net", Role::Initiator),
                Err(HandshakeError::BadSignature(_))
            ));
            let mut unknown = msg;
            unknown[0] = 7;
            assert!(matches!(
                verify_identity(&unknown, &hash, b"net", Role::Initiator),
                Err(HandshakeError::UnknownScheme(7))
            ));
            assert!(matches!(
                verify_identity(&msg[..IDENTITY_LEN - 1], &hash, b"net", Role::Initiator),
                Err(HandshakeError::IdentityLength(96))
            ));
        }
    }
}
