//! The socket under a connection: frames encoded once for all the sockets they go to, the write
//! side shared by the connection's task and whoever fans out to it, and the read side the
//! WebSocket codec reads from.
//!
//! A frame fanned out to a socket with nothing waiting is written at once by its publisher:
//! one `write`, and the connection's task is not woken (most deliveries at everyday load). What
//! the socket does not take at once, and every frame behind it, waits for the connection's task,
//! which writes it in order as the socket drains (see `fanout::Queue`).
//!
//! Order: bytes reach the socket only under the wire's lock, and a publisher writes only when
//! nothing waits (no bytes left over, nothing in the connection's queue), so no frame overtakes
//! one offered before it.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A server frame as it goes on the wire: FIN and the opcode, the length, the payload (a
/// server's frames are never masked: RFC 6455, section 5.2). Encoded once, written to every
/// socket it goes to as it is. A thin pointer, so an event in a queue is 16 bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame(Arc<Vec<u8>>);

const TEXT: u8 = 0x1;
const CLOSE: u8 = 0x8;

impl Frame {
    /// A text frame carrying `json`.
    pub fn text(json: &str) -> Frame {
        Frame::new(TEXT, &[json.as_bytes()])
    }

    /// A close frame with its status code and reason (at most 123 bytes, as the protocol allows).
    pub fn close(code: u16, reason: &str) -> Frame {
        let reason = &reason.as_bytes()[..reason.len().min(123)];
        Frame::new(CLOSE, &[&code.to_be_bytes(), reason])
    }

    fn new(opcode: u8, parts: &[&[u8]]) -> Frame {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        let mut bytes = Vec::with_capacity(len + 10);
        bytes.push(0x80 | opcode);
        match len {
            0..=125 => bytes.push(len as u8),
            126..=0xFFFF => {
                bytes.push(126);
                bytes.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                bytes.push(127);
                bytes.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        for part in parts {
            bytes.extend_from_slice(part);
        }
        Frame(Arc::new(bytes))
    }

    /// The frame as written: header and payload.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// The payload of a text frame (its JSON).
    pub fn as_str(&self) -> &str {
        let header = match self.0.get(1) {
            Some(126) => 4,
            Some(127) => 10,
            _ => 2,
        };
        self.0.get(header..).and_then(|p| std::str::from_utf8(p).ok()).unwrap_or_default()
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Frame").field(&self.as_str()).finish()
    }
}

/// The write side of one socket.
pub(super) struct Wire {
    state: Mutex<Out>,
    /// Set when bytes wait for the connection's task (the socket did not take them), or the
    /// socket broke: the task has something to do though its queue may be empty.
    pub(super) wants_writer: std::sync::atomic::AtomicBool,
    frames_out: ::metrics::Counter,
}

/// What the holder of the wire's lock may write to.
pub(super) struct Out {
    /// None once the socket broke or its connection ended: nothing more is written.
    socket: Option<Arc<TcpStream>>,
    /// Bytes the socket has not taken yet, oldest first (whole frames, the first maybe begun).
    /// Empty, and holding no buffer, while the socket keeps up.
    left: Vec<u8>,
}

/// What a write came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sent {
    /// All of it is on the socket.
    Done,
    /// Some waits for the socket to drain.
    Left,
    /// The socket is gone.
    Gone,
}

impl Wire {
    /// A socket whose first frame is `first`, written by the connection's task when it starts:
    /// until then publishers queue behind it.
    pub(super) fn new(socket: Arc<TcpStream>, first: &Frame, frames_out: ::metrics::Counter) -> Wire {
        let out = Out { socket: Some(socket), left: first.bytes().to_vec() };
        Wire { state: Mutex::new(out), wants_writer: true.into(), frames_out }
    }

    /// The lock, for the connection's task (held only between awaits, never across one).
    pub(super) fn lock(&self) -> MutexGuard<'_, Out> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The lock if nobody holds it: a publisher never waits for a socket.
    pub(super) fn try_lock(&self) -> Option<MutexGuard<'_, Out>> {
        match self.state.try_lock() {
            Ok(out) => Some(out),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    pub(super) fn count(&self, frames: u64) {
        self.frames_out.increment(frames);
    }
}

impl Out {
    /// Whether a frame may be written now: nothing is left over and the socket is open.
    pub(super) fn is_idle(&self) -> bool {
        self.left.is_empty() && self.socket.is_some()
    }

    pub(super) fn is_gone(&self) -> bool {
        self.socket.is_none()
    }

    /// Writes `bytes` at once, keeping what the socket does not take. Only when nothing is
    /// left over ([`Out::is_idle`]): bytes never overtake.
    pub(super) fn write_now(&mut self, bytes: &[u8]) -> Sent {
        debug_assert!(self.left.is_empty());
        let Some(socket) = &self.socket else { return Sent::Gone };
        match send(socket, bytes) {
            Ok(n) if n == bytes.len() => Sent::Done,
            Ok(n) => {
                self.left.extend_from_slice(&bytes[n..]);
                Sent::Left
            }
            Err(()) => self.gone(),
        }
    }

    /// Puts `bytes` behind what is left over, to go out with the next [`Out::flush`].
    pub(super) fn put(&mut self, bytes: &[u8]) {
        if self.socket.is_some() {
            self.left.extend_from_slice(bytes);
        }
    }

    /// Writes what is left over, as far as the socket takes it: everything put since the last
    /// flush goes out in one `write`.
    pub(super) fn flush(&mut self) -> Sent {
        let Some(socket) = &self.socket else { return Sent::Gone };
        if !self.left.is_empty() {
            match write(socket, &self.left) {
                Ok(n) if n == self.left.len() => self.left.clear(),
                Ok(n) => {
                    self.left.drain(..n);
                    return Sent::Left;
                }
                Err(()) => return self.gone(),
            }
        }
        // Given back once written: most sockets are idle, and a buffer kept from one burst would
        // stay for the socket's life.
        self.left = Vec::new();
        Sent::Done
    }

    /// The socket, to wait for it to drain (outside the lock).
    pub(super) fn socket(&self) -> Option<Arc<TcpStream>> {
        self.socket.clone()
    }

    /// Nothing more is written; the socket closes once its reader lets go of it too.
    pub(super) fn close(&mut self) {
        self.socket = None;
        self.left = Vec::new();
    }

    fn gone(&mut self) -> Sent {
        self.close();
        Sent::Gone
    }
}

/// One `send` straight to the socket, past tokio's readiness bookkeeping (a tenth of the
/// fan-out's own CPU): most sockets take a small frame at once. A full socket's readiness is not
/// cleared here; the connection's task, which writes what is left, clears it with [`write`]
/// before it waits for the socket to drain.
fn send(socket: &TcpStream, bytes: &[u8]) -> Result<usize, ()> {
    let raw = socket2::SockRef::from(socket);
    nonblocking(bytes, |b| raw.send(b))
}

/// One non-blocking `write`: how much the socket took (0 when it is full), or `Err` when it broke.
fn write(socket: &TcpStream, bytes: &[u8]) -> Result<usize, ()> {
    nonblocking(bytes, |b| socket.try_write(b))
}

/// What one non-blocking write of `bytes` came to: how much the socket took (0 when it is full),
/// or `Err` when it broke. Retried only when interrupted.
fn nonblocking(bytes: &[u8], mut write: impl FnMut(&[u8]) -> io::Result<usize>) -> Result<usize, ()> {
    loop {
        match write(bytes) {
            Ok(0) if !bytes.is_empty() => return Err(()),
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(()),
        }
    }
}

/// The stream the WebSocket codec reads from: the socket's reads, and its own few writes (the
/// answers to a ping or a close) put on the wire in whole frames like any other.
pub struct ReadSide {
    socket: Arc<TcpStream>,
    outbox: super::fanout::Outbox,
}

impl ReadSide {
    pub(super) fn new(socket: Arc<TcpStream>, outbox: super::fanout::Outbox) -> ReadSide {
        ReadSide { socket, outbox }
    }
}

impl AsyncRead for ReadSide {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            ready!(self.socket.poll_read_ready(cx))?;
            match self.socket.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // Readiness was stale (and is now cleared): wait again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for ReadSide {
    /// Takes all of `buf` (the codec writes whole frames): onto the socket, or behind what waits.
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.outbox.write_raw(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::protocol::frame::{FrameHeader, coding::OpCode};

    fn parsed(frame: &Frame) -> (FrameHeader, u64, usize) {
        let mut cursor = std::io::Cursor::new(frame.bytes());
        let (header, len) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
        (header, len, cursor.position() as usize)
    }

    #[test]
    fn frames_are_what_a_websocket_codec_reads() {
        for len in [0, 5, 125, 126, 300, 65_535, 65_536, 70_000] {
            let json = "x".repeat(len);
            let frame = Frame::text(&json);
            let (header, payload, at) = parsed(&frame);
            assert!(header.is_final && header.mask.is_none(), "{len}");
            assert_eq!(header.opcode, OpCode::Data(tokio_tungstenite::tungstenite::protocol::frame::coding::Data::Text));
            assert_eq!((payload as usize, frame.bytes().len() - at), (len, len));
            assert_eq!(frame.as_str(), json);
        }
        let close = Frame::close(4001, "signed out");
        let (header, len, at) = parsed(&close);
        assert_eq!(header.opcode, OpCode::Control(tokio_tungstenite::tungstenite::protocol::frame::coding::Control::Close));
        assert_eq!(len, 12);
        assert_eq!(&close.bytes()[at..at + 2], &4001u16.to_be_bytes());
        assert_eq!(&close.bytes()[at + 2..], b"signed out");
    }
}
