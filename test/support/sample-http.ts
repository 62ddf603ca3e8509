import type { SampleNode } from './nodes.js';

/** A status and a parsed JSON body (undefined when the body is empty). */
export interface HttpAnswer<T> {
  readonly status: number;
  readonly body: T;
}

/**
 * One JSON request to `node`'s HTTP routes, aborted after `timeoutMs` so a hung node fails the
 * test with a reason instead of at the test's own timeout.
 */
export async function http<T = unknown>(
  node: SampleNode,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<HttpAnswer<T>> {
  const response = await fetch(`http://127.0.0.1:${node.http}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}
