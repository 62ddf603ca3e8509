// The physical reference: two processes, one net.Socket over 127.0.0.1, length-prefixed frames,
// no serialization. Two variants:
//   raw            one socket.write per message on both sides (one syscall per message)
//   raw-coalesced  every frame produced while handling one 'data' chunk (or issued in one
//                  event-loop turn) leaves in a single write: the physical limit.
import net from 'node:net';
import { yieldTurn } from '../common.mjs';
import { OP_COUNT, OP_ECHO, OP_SINK, frameReader, makeFrame } from '../framing.mjs';

export async function serve({ coalesce }) {
  let received = 0;
  const server = net.createServer({ noDelay: true }, socket => {
    let out = [];
    const reply = frame => (coalesce ? out.push(frame) : socket.write(frame));
    const read = frameReader((frame, op) => {
      if (op === OP_ECHO) reply(frame);
      else if (op === OP_SINK) received++;
      else if (op === OP_COUNT) {
        const answer = makeFrame(OP_COUNT, 9);
        answer.writeDoubleBE(received, 5);
        reply(answer);
      }
    });
    socket.on('data', chunk => {
      read(chunk);
      if (out.length) {
        socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
        out = [];
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve));
  return { port: server.address().port };
}

export async function connect({ port, coalesce }) {
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  // replies come back in order: one FIFO of callbacks
  let waiters = [];
  let head = 0;
  const read = frameReader(frame => {
    const cb = waiters[head];
    waiters[head++] = undefined;
    if (head > 65_536) {
      waiters = waiters.slice(head);
      head = 0;
    }
    cb(frame);
  });
  socket.on('data', chunk => read(chunk));
  let out = [];
  let flushQueued = false;
  const flush = () => {
    flushQueued = false;
    if (out.length) {
      socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
      out = [];
    }
  };
  const write = frame => {
    if (!coalesce) return socket.write(frame);
    out.push(frame);
    if (!flushQueued) {
      flushQueued = true;
      queueMicrotask(flush);
    }
    return true;
  };
  let echoFrame = makeFrame(OP_ECHO, 32);
  let sinkFrame = makeFrame(OP_SINK, 32);
  const client = {
    prepare(size) {
      echoFrame = makeFrame(OP_ECHO, size);
      sinkFrame = makeFrame(OP_SINK, size);
    },
    issue(cb) {
      waiters.push(() => cb());
      write(echoFrame);
    },
    barrier() {
      return new Promise(resolve => {
        waiters.push(frame => resolve(frame.readDoubleBE(5)));
        write(makeFrame(OP_COUNT, 1));
      });
    },
    /**
     * One-way flood for `ms` (at most `maxCount` messages), honouring the socket's back-pressure.
     * Every message is handed over on its own (as the RR client does); the coalesced variant
     * gathers about 64 KiB of frames per socket.write.
     */
    async oneway(ms, maxCount) {
      const end = performance.now() + ms;
      let sent = 0;
      const perWrite = coalesce ? Math.max(1, Math.floor((64 * 1024) / sinkFrame.length)) : 1;
      while (sent < maxCount && performance.now() < end) {
        let room = true;
        for (let burst = 0; burst < 256 && room && sent < maxCount; burst++) {
          if (perWrite === 1) {
            room = socket.write(sinkFrame);
            sent++;
            continue;
          }
          const frames = [];
          for (let i = 0; i < perWrite && sent < maxCount; i++, sent++) frames.push(sinkFrame);
          room = socket.write(Buffer.concat(frames));
        }
        if (!room) await new Promise(resolve => socket.once('drain', resolve));
        else await yieldTurn();
      }
      return sent;
    },
    close() {
      socket.destroy();
    },
  };
  return client;
}
