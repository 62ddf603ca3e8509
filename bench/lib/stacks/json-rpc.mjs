// The minimal coalesced JSON RPC: the most a general-purpose Node RPC does with a structured
// codec, as a reference beside the raw echo (the byte-level limit), not a competitor. Two
// processes, one net.Socket over 127.0.0.1 (noDelay); each frame is a 4-byte big-endian length and
// the JSON text of one message:
//   request   {"id":7,"method":"echo","payload":{...}}    (method `echo` or `count`)
//   response  {"id":7,"result":{...}}
//   one-way   {"topic":"sink","payload":{...}}            (no id, no answer)
// The payload is the same JS value the framework stacks send (payloadOf: `{ d: 'x'.repeat(n) }`);
// requests are correlated with their responses by id in a Map, JSON.parse on receipt, and each
// side makes one socket.write per event-loop turn.
//
// Coalescing: everything queued while one task runs leaves in one buffer, written from a
// queueMicrotask flush. That is the most a general-purpose RPC can do without adding latency:
// the flush runs as soon as the current task (a 'data' callback with every frame of its chunk,
// or the client's loop) and its promise continuations are done, so at 1 in flight a frame waits
// for nothing, and at 100 in flight every reply to one chunk leaves in one write. A setImmediate
// flush would also gather the frames of other I/O callbacks of the same poll phase (other
// sockets), which one socket per side never has, and would hold every frame until the check
// phase. With one socket and one 'data' callback per turn, a flush per task is one write per turn.
// What it leaves out, as any minimal RPC does: request timeouts, bounds on the pending map and the
// write queue beyond the socket's back-pressure, prototype-pollution checks of parsed payloads.
import net from 'node:net';
import { payloadOf, yieldTurn } from '../common.mjs';

/** A frame's length prefix: 4 bytes, big-endian. */
const PREFIX = 4;

/**
 * Bytes the one-way sender lets wait in the socket before it waits for 'drain': a general-purpose
 * RPC queues past the socket's 16 KiB highWaterMark and stops its producer at a bound of its own
 * (gen-cluster's is 64 MiB). Waiting at 16 KiB cost about a third more CPU per 1 KiB message in
 * a quick run (10-11 µs against 6.5-9 µs), the sender idle while each batch drained.
 */
const MAX_BACKLOG = 1024 * 1024;

/**
 * A sender of JSON frames on `socket`: `send(text)` queues one message's JSON, and every text
 * queued during one task leaves in one buffer, one socket.write, at the task's end.
 */
function coalescingWriter(socket) {
  let texts = [];
  let queued = false;
  const flush = () => {
    queued = false;
    const batch = texts;
    texts = [];
    let total = 0;
    const lengths = new Array(batch.length);
    for (let i = 0; i < batch.length; i++) {
      lengths[i] = Buffer.byteLength(batch[i]);
      total += PREFIX + lengths[i];
    }
    const out = Buffer.allocUnsafe(total);
    let offset = 0;
    for (let i = 0; i < batch.length; i++) {
      out.writeUInt32BE(lengths[i], offset);
      out.write(batch[i], offset + PREFIX, lengths[i], 'utf8');
      offset += PREFIX + lengths[i];
    }
    socket.write(out);
  };
  return {
    send(text) {
      texts.push(text);
      if (!queued) {
        queued = true;
        queueMicrotask(flush);
      }
    },
  };
}

/**
 * Splits a byte stream into frames and calls `onMessage` with each frame's parsed JSON. The chunks
 * of a frame that straddles them are kept until the frame is complete and joined once, so a
 * large frame costs one copy however many chunks it came in.
 */
function messageReader(onMessage) {
  let parts = [];
  let partBytes = 0;
  let need = 0; // bytes the kept parts must reach before they are joined
  return chunk => {
    let buf = chunk;
    if (parts.length) {
      parts.push(chunk);
      partBytes += chunk.length;
      if (partBytes < need) return;
      buf = Buffer.concat(parts, partBytes);
      parts = [];
      partBytes = 0;
    }
    let offset = 0;
    const end = buf.length;
    while (end - offset >= PREFIX) {
      const length = buf.readUInt32BE(offset);
      if (end - offset - PREFIX < length) break;
      const start = offset + PREFIX;
      onMessage(JSON.parse(buf.toString('utf8', start, start + length)));
      offset = start + length;
    }
    if (offset < end) {
      const rest = buf.subarray(offset);
      parts = [rest];
      partBytes = rest.length;
      need = rest.length >= PREFIX ? PREFIX + rest.readUInt32BE(0) : PREFIX;
    }
  };
}

/** The server: answers `echo` with its payload and `count` with the `sink` messages received. */
export async function serve() {
  let received = 0;
  const server = net.createServer({ noDelay: true }, socket => {
    const out = coalescingWriter(socket);
    const read = messageReader(message => {
      if (message.topic === 'sink') received++;
      else if (message.method === 'echo')
        out.send(JSON.stringify({ id: message.id, result: message.payload }));
      else if (message.method === 'count')
        out.send(JSON.stringify({ id: message.id, result: received }));
      else out.send(JSON.stringify({ id: message.id, error: `no method ${message.method}` }));
    });
    socket.on('data', read);
    socket.on('error', () => undefined);
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  return { port: server.address().port };
}

/** The client, in the interface of the other stacks (see messagingClient in ../common.mjs). */
export async function connect({ port }) {
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  const out = coalescingWriter(socket);
  /** Callbacks of the requests in flight by id: `(error, result)`. */
  const pending = new Map();
  let nextId = 1;
  const read = messageReader(message => {
    const cb = pending.get(message.id);
    if (!cb) return;
    pending.delete(message.id);
    if (message.error !== undefined) cb(new Error(String(message.error)));
    else cb(undefined, message.result);
  });
  socket.on('data', read);
  const request = (method, payload, cb) => {
    const id = nextId++;
    pending.set(id, cb);
    out.send(JSON.stringify({ id, method, payload }));
  };

  let payload = payloadOf(32);
  let sinkBytes = 0;
  return {
    prepare(size) {
      payload = payloadOf(size);
      sinkBytes = Buffer.byteLength(JSON.stringify({ topic: 'sink', payload }));
    },
    issue(cb) {
      request('echo', payload, error => cb(error));
    },
    barrier() {
      return new Promise((resolve, reject) =>
        request('count', null, (error, count) => (error ? reject(error) : resolve(count))),
      );
    },
    /**
     * One-way `sink` messages for `ms` (at most `maxCount`), honouring the socket's back-pressure:
     * each message is queued on its own, at most about 256 KiB (and 1,024 messages) per turn,
     * and the loop waits for 'drain' once MAX_BACKLOG bytes wait in the socket.
     */
    async oneway(ms, maxCount) {
      const end = performance.now() + ms;
      const perTurn = Math.max(1, Math.min(1024, Math.floor((256 * 1024) / (sinkBytes || 1))));
      let sent = 0;
      while (sent < maxCount && performance.now() < end) {
        for (let i = 0; i < perTurn && sent < maxCount; i++, sent++)
          out.send(JSON.stringify({ topic: 'sink', payload }));
        await yieldTurn(); // the microtask flush has written this turn's messages
        if (socket.writableLength >= MAX_BACKLOG)
          await new Promise(resolve => socket.once('drain', resolve));
      }
      return sent;
    },
    close() {
      socket.destroy();
    },
  };
}
