import type { Socket } from 'node:net';
import { PortMapperError } from './port-mapper.errors.js';
import { PortMapperMessages as M } from './port-mapper.messages.js';
import type { RegisteredNode, RegistrationEnd } from './port-mapper.client.js';

/**
 * The connection that holds a registration made by {@link PortMapperClient.register}: EPMD keeps a
 * name registered exactly as long as this connection stays open, so closing it unregisters, and
 * losing it (the mapper's process died) is reported through `ended`.
 */
export class RegistrationConnection implements RegisteredNode {
  readonly ended: Promise<RegistrationEnd>;
  private finish!: (end: RegistrationEnd) => void;
  private closing = false;
  private isActive = true;
  private error: Error | undefined;
  private readonly socketClosed: Promise<void>;

  /** Takes over `socket`, on which the mapper has just accepted the registration. */
  constructor(
    private readonly socket: Socket,
    readonly name: string,
    readonly port: number,
    readonly creation: number,
    readonly address: string,
  ) {
    this.ended = new Promise(resolve => (this.finish = resolve));
    socket.setKeepAlive(true, 5_000);
    this.socketClosed = new Promise(resolve => socket.once('close', () => resolve()));
    if (socket.closed || socket.destroyed) {
      // Closed between the answer and now: report it rather than wait for a 'close' already gone.
      this.isActive = false;
      this.finish({ reason: 'dropped', error: this.mapperClosed() });
    }
    socket.on('error', error => (this.error ??= error));
    socket.on('data', () => {
      // A mapper never speaks after the answer: whatever this is, the registration is unreliable.
      this.error ??= new PortMapperError(
        M.invalidAnswer(M.alive2Request(name), address, M.bytesAfterAnswer()),
        { code: 'ERR_PORT_MAPPER_PROTOCOL' },
      );
      socket.destroy();
    });
    socket.once('close', () => {
      this.isActive = false;
      if (this.closing) this.finish({ reason: 'closed' });
      else this.finish({ reason: 'dropped', error: this.error ?? this.mapperClosed() });
    });
  }

  get active(): boolean {
    return this.isActive;
  }

  async close(): Promise<void> {
    if (this.isActive) {
      this.closing = true;
      this.socket.destroy();
    }
    await this.socketClosed;
  }

  private mapperClosed(): PortMapperError {
    return new PortMapperError(M.registrationDropped(this.name, this.address, M.mapperClosed()), {
      code: 'ERR_PORT_MAPPER_UNREACHABLE',
    });
  }
}
