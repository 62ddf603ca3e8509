import { execFileSync } from 'node:child_process';
import { createPayloadCodec } from '../../src/distribution/index.js';

/**
 * The default payload codec against msgpackr in a separate Node process: what a peer on another
 * machine (or another build of the library) decodes. An e2e suite because it starts a process.
 */
describe('msgpack payload codec across processes', () => {
  it('interoperates with msgpackr in another process, both ways, message by message', () => {
    const values = [
      { id: 1, at: new Date(1_000), tags: new Set(['a', 'b']), blob: Buffer.from([1, 2, 3]) },
      { id: 2, at: new Date(2_000), tags: new Set<string>(), blob: Buffer.alloc(0) },
      [{ x: 1 }, { x: 2, y: { z: [true] } }, new Map<unknown, unknown>([[1, { x: 3 }]])],
      { id: 3, nested: { id: 4, nested: null } },
    ];
    const sender = createPayloadCodec();
    const messages = values.map(value => sender.encode(value).toString('base64'));
    // The other process decodes each message alone, in reverse order, in a fresh Unpackr, then
    // encodes every value again with one long-lived Packr.
    const script = `
      import { readFileSync } from 'node:fs';
      import { Packr, Unpackr } from 'msgpackr';
      const messages = JSON.parse(readFileSync(0, 'utf8'));
      const values = [];
      for (let i = messages.length - 1; i >= 0; i--)
        values[i] = new Unpackr({ structuredClone: true }).unpack(Buffer.from(messages[i], 'base64'));
      const packr = new Packr({ structuredClone: true });
      process.stdout.write(JSON.stringify(values.map(v => packr.pack(v).toString('base64'))));
    `;
    const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      input: JSON.stringify(messages),
      cwd: process.cwd(),
      encoding: 'utf8',
    });
    const answers = JSON.parse(output) as string[];
    expect(answers).toHaveLength(values.length);
    for (let i = answers.length - 1; i >= 0; i--)
      expect(createPayloadCodec().decode(Buffer.from(answers[i], 'base64'))).toEqual(values[i]);
  });
});
