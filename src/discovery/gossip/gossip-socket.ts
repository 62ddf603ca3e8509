import { createSocket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { toError, withDeadline } from '../../core/index.js';
import { GossipSocketError, type GossipSocketOperation } from './gossip.errors.js';
import { GossipMessages } from './gossip.messages.js';

/** The part of `dgram.Socket` gossip uses, so specs can hand in a socket that fails at will. */
export interface DatagramSocket {
  bind(port: number, address: string, callback: () => void): unknown;
  on(event: 'message', listener: (message: Buffer, from: { address: string }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
  setMulticastTTL(ttl: number): unknown;
  setMulticastLoopback(on: boolean): unknown;
  setMulticastInterface(address: string): void;
  addMembership(group: string, iface?: string): void;
  send(
    packet: Buffer,
    port: number,
    address: string,
    callback: (error: Error | null) => void,
  ): void;
  close(callback?: () => void): unknown;
}

/**
 * The longest a bind or a send may take. Both finish at once on a working host; the bound keeps
 * a stuck socket from stalling the node's start (discovery's `init` awaits the first round) or
 * the chain of rounds.
 */
export const SOCKET_DEADLINE_MS = 1_000;

/** Where the socket gossips. */
export interface GossipSocketSettings {
  readonly group: string;
  readonly port: number;
  /** The `interface` option as given, for messages. */
  readonly interface: string | undefined;
  /** Its address; unset: the multicast route decides. */
  readonly interfaceAddress: string | undefined;
  readonly ttl: number;
}

/**
 * The UDP socket of the gossip: bound to the group's port on every address (shared with other
 * nodes of this host, `reuseAddr`), a member of the group on the chosen interface, multicast
 * loopback on (nodes of one host hear each other). Failures come back as values (a
 * {@link GossipSocketError} naming the fix), never as throws or unhandled `error` events: a host
 * without a multicast route must not crash the node, and the discovery retries.
 */
export class GossipSocket {
  private socket: DatagramSocket | undefined;
  private joinedGroup = false;
  /** Set by {@link close}: a bind still in flight then closes its socket instead of keeping it. */
  private closed = false;

  constructor(
    private readonly settings: GossipSocketSettings,
    private readonly onMessage: (message: Buffer, from: string) => void,
    private readonly onError: (error: GossipSocketError) => void,
    private readonly create: () => DatagramSocket = () =>
      createSocket({ type: 'udp4', reuseAddr: true }),
  ) {}

  /** Whether the socket is bound and a member of the group. */
  get ready(): boolean {
    return this.socket !== undefined && this.joinedGroup;
  }

  /**
   * Binds (when not bound), sets the multicast options and joins the group (when not a member).
   * @returns the failure, if any (the socket is closed again when the bind failed); nothing when
   *   {@link close} was called, before or during the bind (the socket is then closed, not kept)
   */
  async open(): Promise<GossipSocketError | undefined> {
    if (this.closed) return undefined;
    if (this.socket === undefined) {
      const socket = this.create();
      let failed: (error: Error) => void = () => undefined;
      const bound = await this.bounded(
        () =>
          new Promise<Error | undefined>(resolve => {
            failed = resolve;
            socket.on('error', failed);
            try {
              socket.bind(this.settings.port, '0.0.0.0', () => resolve(undefined));
            } catch (error) {
              resolve(toError(error));
            }
          }),
      );
      socket.off('error', failed);
      socket.on('error', error => this.onError(this.error('send', error)));
      if (bound !== undefined) {
        try {
          socket.close();
        } catch {
          // a socket whose bind failed may already be closed
        }
        return this.error('bind', bound);
      }
      if (this.closed) {
        // close() ran while the bind was in flight and found no socket to close: a kept socket
        // would stay ref'd (the process would not exit) and a member of the group.
        await closeSocket(socket);
        return undefined;
      }
      socket.on('message', (message, from) => this.onMessage(message, from.address));
      this.socket = socket;
    }
    if (this.joinedGroup) return undefined;
    try {
      const s = this.socket;
      s.setMulticastTTL(this.settings.ttl);
      s.setMulticastLoopback(true);
      const address = this.settings.interfaceAddress;
      if (address !== undefined) s.setMulticastInterface(address);
      if (address === undefined) s.addMembership(this.settings.group);
      else s.addMembership(this.settings.group, address);
      this.joinedGroup = true;
      return undefined;
    } catch (error) {
      return this.error('join', toError(error));
    }
  }

  /** Sends one packet to the group; resolves with the failure, if any. */
  send(packet: Buffer): Promise<GossipSocketError | undefined> {
    const socket = this.socket;
    if (socket === undefined) return Promise.resolve(this.error('send', new Error('not bound')));
    return this.bounded(
      () =>
        new Promise<Error | undefined>(resolve => {
          try {
            socket.send(packet, this.settings.port, this.settings.group, error =>
              resolve(error ?? undefined),
            );
          } catch (error) {
            resolve(toError(error));
          }
        }),
    ).then(error => (error === undefined ? undefined : this.error('send', error)));
  }

  /** `work`'s outcome, or a timeout error after {@link SOCKET_DEADLINE_MS}. */
  private bounded(work: () => Promise<Error | undefined>): Promise<Error | undefined> {
    return withDeadline(work, {
      ms: SOCKET_DEADLINE_MS,
      onTimeout: () => new Error(GossipMessages.socketTimeout(SOCKET_DEADLINE_MS)),
    }).catch((error: unknown) => toError(error));
  }

  /** Closes the socket for good (sends in flight may be lost; a later {@link open} does nothing). */
  close(): Promise<void> {
    const socket = this.socket;
    this.closed = true;
    this.socket = undefined;
    this.joinedGroup = false;
    return socket === undefined ? Promise.resolve() : closeSocket(socket);
  }

  private error(operation: GossipSocketOperation, cause: Error): GossipSocketError {
    const code = (cause as NodeJS.ErrnoException).code;
    const s = this.settings;
    const why = code ?? cause.message;
    const iface = s.interface ?? s.interfaceAddress;
    return new GossipSocketError(
      GossipMessages.socketFailed(operation, s.group, s.port, iface, why, exampleInterface()),
      { operation, syscallCode: code, cause },
    );
  }
}

function closeSocket(socket: DatagramSocket): Promise<void> {
  return new Promise(resolve => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}

/** A name to put in the advice: this host's first non-internal interface with IPv4. */
function exampleInterface(): string {
  for (const [name, addresses] of Object.entries(networkInterfaces()))
    if (addresses?.some(a => a.family === 'IPv4' && !a.internal)) return name;
  return 'eth0';
}
