/**
 * Instrumentation headers through the testing module: what an outgoing hook returns reaches the
 * serving node's incoming hook in-process (the in-memory network carries headers as TCP does).
 */
import { threeNestNodesEachTest } from '../../test/support/nest-nodes.js';

describe('instrumentation headers in GenClusterTestingModule', () => {
  const nodes = threeNestNodesEachTest();

  it("carries the outgoing hook's headers to the serving node's incoming hook", async () => {
    const [a, b] = nodes.clusters;
    b!.on('ops.echo', (text: string) => text);
    a!.instrument({ outgoing: () => ({ headers: { 'x-test': 'carried' }, end: () => undefined }) });
    const headers: unknown[] = [];
    b!.instrument({
      incoming: (info, carried) => {
        if (!info.internal) headers.push(carried);
        return undefined;
      },
    });
    await a!.request(b!.self, 'ops.echo', 'hi');
    expect(headers).toEqual([{ 'x-test': 'carried' }]);
  });
});
