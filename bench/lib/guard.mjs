// Loopback guard, preloaded with `--import` into the orchestrator and every child: any TCP
// connect or UDP send to an address outside 127.0.0.0/8 and ::1 aborts the process (exit 99).
// The benchmark and its competitors must never send a byte beyond this machine.
import dgram from 'node:dgram';
import net from 'node:net';

const isLoopback = host => {
  if (host == null || host === '') return true; // net defaults to localhost
  const h = String(host).toLowerCase();
  return (
    h === 'localhost' ||
    h === '::1' ||
    h === '[::1]' ||
    h.startsWith('127.') ||
    h.startsWith('::ffff:127.')
  );
};

const refuse = (what, host) => {
  process.stderr.write(`[bench guard] refusing ${what} to non-loopback address ${host}\n`);
  process.exit(99);
};

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  let options = args[0];
  if (Array.isArray(options)) options = options[0]; // normalized [options, callback]
  let host;
  if (options && typeof options === 'object') host = options.path ? 'localhost' : options.host;
  else if (typeof options === 'number') host = typeof args[1] === 'string' ? args[1] : undefined;
  else if (typeof options === 'string') host = 'localhost'; // a unix socket path
  if (!isLoopback(host)) refuse('TCP connect', host);
  return connect.apply(this, args);
};

const send = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function guardedSend(message, ...rest) {
  // (msg, port, address, cb) or (msg, offset, length, port, address, cb)
  let address =
    typeof rest[0] === 'number' && typeof rest[1] === 'number' && typeof rest[2] === 'number'
      ? rest[3]
      : rest[1];
  if (typeof address === 'function') address = undefined;
  if (!isLoopback(address)) refuse('UDP send', address);
  return send.call(this, message, ...rest);
};
