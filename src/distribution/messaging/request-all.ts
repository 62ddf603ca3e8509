/**
 * `requestAll`, the counterpart of Erlang's `erpc:multicall`: one request to each of many nodes,
 * with one encoding of the payload and one timeout, collected into one result per node. A node's
 * failure is its result, never the call's: the call itself is refused only for what would fail
 * for every node (the topic, the options, the payload, an aborted signal, closed messaging).
 */
import {
  InvalidConfigError,
  type OutgoingScope,
  type RequestAllOptions,
  type RequestOutcome,
  type RequestAllResult,
  toError,
} from '../../core/index.js';
import { NodeDownError } from '../transport.errors.js';
import { RequestAbortedError } from './messaging.errors.js';
import { MessagingMessages } from './messaging.messages.js';
import type { NewRequest } from './pending-requests.js';
import { withRequest } from './request-errors.js';

/**
 * A request whose payload is encoded, ready to be opened and sent.
 * @internal
 */
export interface EncodedRequest extends NewRequest {
  /** The encoded payload, shared by every node of a requestAll. */
  readonly body: Buffer[];
}

/**
 * What {@link requestAll} needs of the messaging facade.
 * @internal
 */
export interface RequestAllDriver {
  /** This node's name. */
  readonly self: string;
  /** Connected member nodes (hidden nodes excluded). */
  members(): readonly string[];
  /** Refuses what fails for every node (closed, topic, timeout); returns the timeout. */
  prepare(topic: string, options: RequestAllOptions | undefined): number;
  /** Encodes the payload; throws PayloadError. */
  encode(payload: unknown): Buffer[];
  /** Refuses one node's request before it is opened (aborted signal, too many pending). */
  admit(node: string, topic: string, signal: AbortSignal | undefined): void;
  /** Opens and sends one request; returns its id; throws what the transport throws. */
  open(request: EncodedRequest): number;
  /** Forgets an open request; the caller settles it with `error`, counted as `outcome`. */
  drop(id: number, outcome: RequestOutcome, error: Error): void;
  /** Tells instrumentation of one node's request; its scope, when a hook returned one. */
  outgoing(node: string, topic: string): OutgoingScope | undefined;
  /** Ends (and counts) a request refused before it was sent. */
  refused(scope: OutgoingScope | undefined, error: unknown): void;
}

/**
 * Asks `topic` of every target at once; see `Messaging.requestAll` for the contract.
 * @internal
 */
export function requestAll<T>(
  driver: RequestAllDriver,
  topic: string,
  payload: unknown,
  options: RequestAllOptions | undefined,
): Promise<RequestAllResult<T>[]> {
  return new Promise<RequestAllResult<T>[]>(resolve => {
    const timeoutMs = driver.prepare(topic, options);
    const targets = targetsOf(driver, options);
    const signal = options?.signal;
    if (signal?.aborted)
      throw new RequestAbortedError(MessagingMessages.requestAllAborted(topic), {
        node: '*',
        topic,
        cause: signal.reason,
      });
    const results = new Array<RequestAllResult<T>>(targets.length);
    // Ids of the requests still open, by target index: the one abort listener of the call
    // (not one per node, which would pass Node's listener warning limit) drops them.
    const open = new Map<number, number>();
    let remaining = targets.length;
    let listening = false;
    const settle = (index: number, result: RequestAllResult<T>): void => {
      if (results[index] !== undefined) return;
      open.delete(index);
      results[index] = result;
      if (--remaining > 0) return;
      if (listening) signal?.removeEventListener('abort', onAbort);
      resolve(results);
    };
    const failed = (index: number, error: unknown): void => {
      const node = targets[index];
      settle(index, { node, ok: false, error: toError(withRequest(error, node, topic)) });
    };
    const members = new Set(driver.members());
    const asked: number[] = [];
    const notMembers: NodeDownError[] = [];
    for (let index = 0; index < targets.length; index++) {
      const node = targets[index];
      if (node === driver.self || members.has(node)) {
        asked.push(index);
        continue;
      }
      const error = new NodeDownError(MessagingMessages.notMember(node, topic), { node, topic });
      notMembers.push(error);
      failed(index, error);
    }
    // Each counted (once the call is sure to resolve) as a request() to a node not connected
    // is: refused; no scope, nothing was sent.
    const countNotMembers = (): void => {
      for (const error of notMembers) driver.refused(undefined, error);
    };
    if (targets.length === 0) return resolve([]);
    // Nobody to ask: the payload is not even encoded (as a broadcast that reaches nobody).
    if (asked.length === 0) return countNotMembers();
    let body: Buffer[];
    try {
      body = driver.encode(payload);
    } catch (error) {
      throw withRequest(error, '*', topic);
    }
    countNotMembers();
    for (const index of asked) {
      const node = targets[index];
      const scope = driver.outgoing(node, topic);
      try {
        driver.admit(node, topic, undefined);
        const id = driver.open({
          node,
          topic,
          body,
          timeoutMs,
          signal: undefined,
          resolve: value => settle(index, { node, ok: true, value: value as T }),
          reject: error => failed(index, error),
          scope,
        });
        if (results[index] === undefined) open.set(index, id);
      } catch (error) {
        driver.refused(scope, withRequest(error, node, topic));
        failed(index, error);
      }
    }
    if (signal === undefined || open.size === 0) return;
    function onAbort(): void {
      for (const [index, id] of [...open]) {
        const node = targets[index];
        const error = new RequestAbortedError(MessagingMessages.requestAborted(node, topic), {
          node,
          topic,
          cause: signal?.reason,
        });
        driver.drop(id, 'aborted', error);
        failed(index, error);
      }
    }
    listening = true;
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * The nodes to ask: `nodes` without repeats, in their order, or the sorted members; this node
 * first when `includeSelf` is set and it is not listed.
 */
function targetsOf(driver: RequestAllDriver, options: RequestAllOptions | undefined): string[] {
  const nodes = options?.nodes;
  const includeSelf = options?.includeSelf;
  if (includeSelf !== undefined && typeof includeSelf !== 'boolean')
    throw new InvalidConfigError(MessagingMessages.includeSelfInvalid(includeSelf), {
      option: 'includeSelf',
    });
  let targets: string[];
  if (nodes === undefined) {
    targets = driver.members().filter(node => node !== driver.self);
    targets.sort();
  } else {
    if (!Array.isArray(nodes) || !nodes.every(node => typeof node === 'string' && node !== ''))
      throw new InvalidConfigError(MessagingMessages.requestAllNodesInvalid(nodes), {
        option: 'nodes',
      });
    targets = [...new Set(nodes)];
  }
  if (includeSelf === true && !targets.includes(driver.self)) targets.unshift(driver.self);
  return targets;
}
