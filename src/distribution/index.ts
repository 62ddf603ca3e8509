import type { TcpDistOptions } from './tcp/tcp.dist.js';

export * from './messaging/index.js';
export { DEFAULT_TCP_DIST_OPTIONS, TcpDist, type TcpDistOptions } from './tcp/tcp.dist.js';
export * from './tcp/tcp.errors.js';
export type { TlsMinVersion, TlsOptions } from './tcp/tls-options.js';

/** Options of the built-in dists, by `strategy` name. */
export type BuiltInDistOptions = TcpDistOptions & { readonly strategy: 'tcp' };
export { resolveCookie } from './tcp/cookie.js';
export { DeferredMessaging, type DeferredMessagingOptions } from './deferred-messaging.js';
