/**
 * The `'json'` payload codec: `JSON.stringify` / `JSON.parse`, with JSON's usual losses (`Date` →
 * string, `Map` → `{}`, `undefined` properties dropped) and no binary support. Depth is measured
 * on the text (brackets outside strings) before parsing, so no payload can overflow the stack.
 * `JSON.parse` keeps a `"__proto__"` key as an own property, which a later `Object.assign` or deep
 * merge would turn into a prototype change: it is refused on decode and on encode.
 */
import { Refusal, codecFailure } from './codec-failure.js';
import { MessagingMessages } from './messaging.messages.js';
import type { PayloadCodec } from './payload-codec.js';

const EMPTY = Buffer.alloc(0);

/**
 * The JSON codec; build it with `createPayloadCodec('json')`, which checks the limits.
 * @internal
 */
export class JsonCodec implements PayloadCodec {
  readonly name = 'json';

  /** @param maxDepth deepest nesting accepted, already checked by the factory */
  constructor(private readonly maxDepth: number) {}

  encode(value: unknown): Buffer {
    let text: string | undefined;
    try {
      text = JSON.stringify(value, jsonReplacer);
      if (text !== undefined) checkJsonDepth(text, this.maxDepth);
    } catch (error) {
      throw codecFailure(error, this.name, this.maxDepth, 'encode');
    }
    // `undefined` (a void handler's answer) travels as an empty body.
    return text === undefined ? EMPTY : Buffer.from(text, 'utf8');
  }

  decode(bytes: Buffer): unknown {
    if (bytes.length === 0) return undefined;
    try {
      const text = bytes.toString('utf8');
      checkJsonDepth(text, this.maxDepth);
      // Only a text that could spell `__proto__` (plainly or with escapes) pays for the reviver.
      const risky = text.includes('__proto__') || text.includes('\\u');
      return JSON.parse(text, risky ? jsonReviver : undefined);
    } catch (error) {
      throw codecFailure(error, this.name, this.maxDepth, 'decode');
    }
  }
}

function jsonReplacer(key: string, value: unknown): unknown {
  const type = typeof value;
  if (type === 'function' || type === 'symbol')
    throw new Refusal(false, MessagingMessages.unencodable(type, key));
  if (key === '__proto__') throw new Refusal(false, MessagingMessages.forbiddenKey(key));
  return value;
}

function jsonReviver(key: string, value: unknown): unknown {
  if (key === '__proto__') throw new Refusal(false, MessagingMessages.forbiddenKey(key));
  return value;
}

/** Throws a too-deep {@link Refusal} when brackets outside strings nest deeper than `maxDepth`. */
function checkJsonDepth(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0, n = text.length; i < n; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) throw new Refusal(true, MessagingMessages.nestedTooDeep());
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
}
