import {
  type DiscoveryContext,
  DiscoveryError,
  type DiscoveryStrategy,
  type Peer,
} from '../../core/index.js';
import type { EtcdDiscovery } from './etcd.discovery.js';
import { EtcdMessages } from './etcd.messages.js';
import { type EtcdDiscoveryOptions, resolveEtcdDiscoveryOptions } from './etcd-options.js';

/**
 * The `etcd` discovery for `{ strategy: 'etcd' }` and the `etcd:` short form: the options are
 * checked now (a bad option fails at construction), and the implementation (gateway client, lease
 * keeper, watcher) is loaded in `init` with a dynamic `import()`, so apps that never use etcd never
 * load it. The options resolved here (password and TLS files read) are the ones the
 * implementation uses. The class itself is exported from the `./etcd` entry.
 * @throws InvalidConfigError naming the option, the value and the accepted forms.
 */
export function createEtcdDiscovery(
  options: EtcdDiscoveryOptions | Omit<EtcdDiscoveryOptions, 'strategy'>,
): DiscoveryStrategy {
  // resolved once: the files read now are the ones used (a file removed later cannot fail init)
  const resolved = resolveEtcdDiscoveryOptions(options);
  let impl: EtcdDiscovery | undefined;
  let closed = false;
  return {
    name: 'etcd',
    async init(context: DiscoveryContext): Promise<void> {
      const { EtcdDiscovery } = await import('./etcd.discovery.js');
      if (closed) return;
      impl ??= EtcdDiscovery.withInternals(options, { resolved });
      await impl.init(context);
    },
    peers(signal: AbortSignal): Promise<Peer[]> {
      if (impl === undefined) return Promise.reject(new DiscoveryError(EtcdMessages.notStarted()));
      return impl.peers(signal);
    },
    async close(): Promise<void> {
      closed = true;
      await impl?.close();
    },
  };
}
