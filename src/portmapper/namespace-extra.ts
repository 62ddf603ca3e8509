/**
 * The cluster namespace in a registration's EPMD `Extra` field, so that `local` discovery lists
 * only the nodes of its own namespace while the EPMD wire format stays as it is: `Extra` is opaque
 * to every mapper (Erlang's `epmd` included), which stores it with the registration and returns it
 * in PORT2_RESP.
 *
 * The form is ASCII: `gen-cluster:` followed by `key=value` items separated by `;`, of which `ns`
 * is the namespace, e.g. `gen-cluster:ns=payments`. Keys this version does not know are skipped, so
 * a newer version may add items.
 */
import { DEFAULT_NAMESPACE, isClusterNamespace } from '../core/index.js';

/** What starts an `Extra` written by this library. */
const EXTRA_PREFIX = Buffer.from('gen-cluster:', 'latin1');
/** The key of the namespace item. */
const NAMESPACE_KEY = 'ns';

/** The `Extra` bytes of a registration in `namespace` (assumed valid: callers check it first). */
export function encodeNamespaceExtra(namespace: string): Uint8Array {
  return Buffer.concat([EXTRA_PREFIX, Buffer.from(`${NAMESPACE_KEY}=${namespace}`, 'latin1')]);
}

/**
 * The namespace a registration's `Extra` declares. An `Extra` not written by this library (empty,
 * as Erlang nodes and older versions of this library register, or anything else) and one of ours
 * without an `ns` item mean `default`. One of ours whose namespace cannot be read (invalid, or
 * given twice) gives `undefined`: the node belongs to no namespace a reader can match.
 */
export function namespaceOfExtra(extra: Uint8Array): string | undefined {
  const bytes = Buffer.from(extra.buffer, extra.byteOffset, extra.byteLength);
  if (
    bytes.length < EXTRA_PREFIX.length ||
    !bytes.subarray(0, EXTRA_PREFIX.length).equals(EXTRA_PREFIX)
  )
    return DEFAULT_NAMESPACE;
  const found: string[] = [];
  for (const item of bytes.toString('latin1', EXTRA_PREFIX.length).split(';')) {
    const equals = item.indexOf('=');
    if (equals > 0 && item.slice(0, equals) === NAMESPACE_KEY) found.push(item.slice(equals + 1));
  }
  if (found.length === 0) return DEFAULT_NAMESPACE;
  return found.length === 1 && isClusterNamespace(found[0]) ? found[0] : undefined;
}
