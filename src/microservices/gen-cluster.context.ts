import { BaseRpcContext } from '@nestjs/microservices';
import type { MessageContext } from '../core/index.js';

/**
 * The RPC context of a message served by {@link GenClusterTransport}; `@Ctx()` injects it.
 *
 * @publicApi
 */
export class GenClusterContext extends BaseRpcContext<[MessageContext, string]> {
  /** The pattern's route, as Nest normalised it (`{"cmd":"sum"}` for `{ cmd: 'sum' }`). */
  getPattern(): string {
    return this.args[1];
  }

  /** The node that sent the message, `name@host`. */
  getFrom(): string {
    return this.args[0].from;
  }

  /** The cluster's own context: sender, topic, kind and (for a request) the abort signal. */
  getMessageContext(): MessageContext {
    return this.args[0];
  }
}
