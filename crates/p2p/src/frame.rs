//! Wire framing: `u32` big-endian length + Noise ciphertext, and the chunked logical-message
//! layer on top of it.
//!
//! A Noise message is at most 65535 bytes, so a logical message is sent as a run of frames whose
//! plaintexts concatenate to `u32 BE total length ++ message bytes`. A frame whose plaintext is
//! empty is a keep-alive ping. Every size is checked before anything is allocated for it.
use snow::StatelessTransportState;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};

/// Largest Noise message (and so largest frame body) the protocol allows.
pub const MAX_FRAME_LEN: usize = 65535;
/// The AEAD tag every transport frame carries.
pub const TAG_LEN: usize = 16;
/// Most plaintext one transport frame can carry.
pub const MAX_CHUNK_PLAINTEXT: usize = MAX_FRAME_LEN - TAG_LEN;
/// Size of the logical-message length header.
pub const MESSAGE_HEADER_LEN: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection closed by peer")]
    Closed,
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    #[error("timed out after {0:?} waiting for the peer")]
    Timeout(Duration),
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge { len: usize, max: usize },
    #[error("frame of {len} bytes is shorter than the minimum of {min}")]
    FrameTooSmall { len: usize, min: usize },
    #[error("message of {len} bytes exceeds the limit of {max}")]
    MessageTooLarge { len: usize, max: usize },
    #[error("frame failed to decrypt (wrong key, tampering or garbage)")]
    Decrypt,
    #[error("encrypting a frame failed: {0}")]
    Encrypt(snow::Error),
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    #[error("nonce space exhausted; the connection must be re-established")]
    NonceExhausted,
}

fn map_eof(e: io::Error) -> FrameError {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        FrameError::Closed
    } else {
        FrameError::Io(e)
    }
}

/// Reads one frame body into `buf`, refusing a length outside `min..=max` before allocating.
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    min: usize,
    max: usize,
    buf: &mut Vec<u8>,
) -> Result<(), FrameError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).await.map_err(map_eof)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(FrameError::FrameTooLarge { len, max });
    }
    if len < min {
        return Err(FrameError::FrameTooSmall { len, min });
    }
    buf.clear();
    buf.resize(len, 0);
    r.read_exact(buf).await.map_err(map_eof)?;
    Ok(())
}

/// Writes one frame (length prefix + body). Does not flush.
pub async fn write_frame<W: AsyncWrite + Unpin>(w: &mut W, body: &[u8]) -> Result<(), FrameError> {
    if body.len() > MAX_FRAME_LEN {
        return Err(FrameError::FrameTooLarge { len: body.len(), max: MAX_FRAME_LEN });
    }
    w.write_all(&(body.len() as u32).to_be_bytes()).await?;
    w.write_all(body).await?;
    Ok(())
}

/// The sending half of a Noise transport: encrypts with an implicit, increasing nonce.
/// (The stateless transport lets the reader and writer tasks share the keys without a lock.)
pub struct Sealer {
    state: Arc<StatelessTransportState>,
    nonce: u64,
}

/// The receiving half of a Noise transport.
pub struct Opener {
    state: Arc<StatelessTransportState>,
    nonce: u64,
}

/// Splits a finished Noise transport into its two directions.
pub fn split_transport(state: StatelessTransportState) -> (Sealer, Opener) {
    let state = Arc::new(state);
    (Sealer { state: state.clone(), nonce: 0 }, Opener { state, nonce: 0 })
}

impl Sealer {
    /// Encrypts `plaintext` (at most [`MAX_CHUNK_PLAINTEXT`] bytes) into `out`.
    pub fn seal(&mut self, plaintext: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
        if plaintext.len() > MAX_CHUNK_PLAINTEXT {
            return Err(FrameError::FrameTooLarge { len: plaintext.len() + TAG_LEN, max: MAX_FRAME_LEN });
        }
        if self.nonce == u64::MAX {
            return Err(FrameError::NonceExhausted);
        }
        out.clear();
        out.resize(plaintext.len() + TAG_LEN, 0);
        let n = self.state.write_message(self.nonce, plaintext, out).map_err(FrameError::Encrypt)?;
        out.truncate(n);
        self.nonce += 1;
        Ok(())
    }

    /// Encrypts `plaintext` and writes it as one frame.
    pub async fn write<W: AsyncWrite + Unpin>(
        &mut self,
        w: &mut W,
        plaintext: &[u8],
        scratch: &mut Vec<u8>,
    ) -> Result<(), FrameError> {
        self.seal(plaintext, scratch)?;
        write_frame(w, scratch).await
    }
}

impl Opener {
    /// Decrypts one frame body into `out`.
    pub fn open(&mut self, ciphertext: &[u8], out: &mut Vec<u8>) -> Result<(), FrameError> {
        if self.nonce == u64::MAX {
            return Err(FrameError::NonceExhausted);
        }
        out.clear();
        out.resize(ciphertext.len(), 0);
        let n = self.state.read_message(self.nonce, ciphertext, out).map_err(|_| FrameError::Decrypt)?;
        out.truncate(n);
        self.nonce += 1;
        Ok(())
    }

    /// Reads and decrypts one frame into `out`.
    pub async fn read<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
        scratch: &mut Vec<u8>,
        out: &mut Vec<u8>,
    ) -> Result<(), FrameError> {
        read_frame(r, TAG_LEN, MAX_FRAME_LEN, scratch).await?;
        self.open(scratch, out)
    }
}

/// Writes logical messages (chunked) and pings over an encrypted stream.
pub struct MessageWriter<W: AsyncWrite + Unpin> {
    w: BufWriter<W>,
    sealer: Sealer,
    plain: Vec<u8>,
    scratch: Vec<u8>,
}

impl<W: AsyncWrite + Unpin> MessageWriter<W> {
    pub fn new(w: W, sealer: Sealer) -> Self {
        MessageWriter {
            w: BufWriter::with_capacity(MAX_FRAME_LEN + 4, w),
            sealer,
            plain: Vec::with_capacity(MAX_CHUNK_PLAINTEXT),
            scratch: Vec::with_capacity(MAX_FRAME_LEN),
        }
    }

    /// Sends one logical message and flushes.
    pub async fn write_message(&mut self, msg: &[u8]) -> Result<(), FrameError> {
        let total = u32::try_from(msg.len())
            .map_err(|_| FrameError::MessageTooLarge { len: msg.len(), max: u32::MAX as usize })?;
        let first = msg.len().min(MAX_CHUNK_PLAINTEXT - MESSAGE_HEADER_LEN);
        self.plain.clear();
        self.plain.extend_from_slice(&total.to_be_bytes());
        self.plain.extend_from_slice(&msg[..first]);
        self.sealer.write(&mut self.w, &self.plain, &mut self.scratch).await?;
        for chunk in msg[first..].chunks(MAX_CHUNK_PLAINTEXT) {
            self.sealer.write(&mut self.w, chunk, &mut self.scratch).await?;
        }
        self.w.flush().await?;
        Ok(())
    }

    /// Sends a keep-alive (an empty encrypted frame) and flushes.
    pub async fn write_ping(&mut self) -> Result<(), FrameError> {
        self.sealer.write(&mut self.w, &[], &mut self.scratch).await?;
        self.w.flush().await?;
        Ok(())
    }
}

/// Reads logical messages from an encrypted stream, enforcing the message size limit and an
/// idle timeout per frame (the peer pings well within it).
pub struct MessageReader<R: AsyncRead + Unpin> {
    r: BufReader<R>,
    opener: Opener,
    max_message: usize,
    idle: Duration,
    scratch: Vec<u8>,
    plain: Vec<u8>,
}

impl<R: AsyncRead + Unpin> MessageReader<R> {
    pub fn new(r: R, opener: Opener, max_message: usize, idle: Duration) -> Self {
        MessageReader {
            r: BufReader::with_capacity(MAX_FRAME_LEN + 4, r),
            opener,
            max_message,
            idle,
            scratch: Vec::new(),
            plain: Vec::new(),
        }
    }

    /// Reads the next non-empty frame's plaintext into `self.plain` (skipping pings).
    async fn next_chunk(&mut self) -> Result<(), FrameError> {
        loop {
            let read = self.opener.read(&mut self.r, &mut self.scratch, &mut self.plain);
            match tokio::time::timeout(self.idle, read).await {
                Err(_) => return Err(FrameError::Timeout(self.idle)),
                Ok(r) => r?,
            }
            if !self.plain.is_empty() {
                return Ok(());
            }
        }
    }

    /// Reads the next logical message.
    pub async fn read_message(&mut self) -> Result<Vec<u8>, FrameError> {
        self.next_chunk().await?;
        let Some((header, rest)) = self.plain.split_first_chunk::<MESSAGE_HEADER_LEN>() else {
            return Err(FrameError::Malformed("first chunk shorter than the length header"));
        };
        let total = u32::from_be_bytes(*header) as usize;
        if total > self.max_message {
            return Err(FrameError::MessageTooLarge { len: total, max: self.max_message });
        }
        if rest.len() > total {
            return Err(FrameError::Malformed("chunk longer than the announced message"));
        }
        // Grow with what actually arrives rather than trusting the announced total up front.
        let mut msg = Vec::with_capacity(total.min(MAX_CHUNK_PLAINTEXT));
        msg.extend_from_slice(rest);
        while msg.len() < total {
            self.next_chunk().await?;
            if self.plain.len() > total - msg.len() {
                return Err(FrameError::Malformed("chunk longer than the announced message"));
            }
            msg.extend_from_slice(&self.plain);
        }
        Ok(msg)
    }
}
