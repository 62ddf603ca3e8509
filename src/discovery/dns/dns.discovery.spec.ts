import { DiscoveryError } from '../../core/index.js';
import type { DnsDiscoveryOptions } from './dns-options.js';
import { DnsDiscovery } from './dns.discovery.js';

const build = (options: Record<string, unknown>) =>
  new DnsDiscovery(options as unknown as DnsDiscoveryOptions);

describe('DnsDiscovery.peers without a network', () => {
  it('fails with a clear error when it has no node name (no init(), no nodeName)', async () => {
    const d = build({ domain: 'svc.ns', servers: [{ host: '127.0.0.1', port: 9 }] });
    await expect(d.peers(new AbortController().signal)).rejects.toThrow(DiscoveryError);
    await expect(d.peers(new AbortController().signal)).rejects.toThrow(/nodeName/);
  });

  it('rejects with the abort reason, without asking, when the signal is already aborted', async () => {
    const d = build({ domain: 'svc.ns', nodeName: 'app', servers: [{ host: '127.0.0.1' }] });
    const reason = new Error('stopping');
    await expect(d.peers(AbortSignal.abort(reason))).rejects.toBe(reason);
  });
});
