/**
 * Instrumentation headers through the testing module: what an outgoing hook returns reaches the
 * serving node's incoming hook in-process (the in-memory network carries headers as TCP does).
 */
import type { INestApplication } from '@nestjs/common';
import type { ClusterService } from '../index.js';
import { threeNestNodes } from '../../test/support/nest-nodes.js';

describe('instrumentation headers in GenClusterTestingModule', () => {
  let apps: INestApplication[] = [];
  let clusters: ClusterService[] = [];

  beforeEach(async () => {
    ({ apps, clusters } = await threeNestNodes());
  });

  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
  });

  it("carries the outgoing hook's headers to the serving node's incoming hook", async () => {
    const [a, b] = clusters;
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
