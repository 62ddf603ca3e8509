import type { TcpDistOptions } from './tcp/tcp.dist.js';

export * from './messaging/index.js';
export { DEFAULT_TCP_DIST_OPTIONS, TcpDist, type TcpDistOptions } from './tcp/tcp.dist.js';
export * from './tcp/tcp.errors.js';
export type { TlsMinVersion, TlsOptions } from './tcp/tls-options.js';

/**
 * The TCP dist's options as the configuration names it (`{ strategy: 'tcp', ... }`). The public
 * union of every built-in dist's options is config's `BuiltInDistOptions`.
 */
export type TcpBuiltInDistOptions = TcpDistOptions & { readonly strategy: 'tcp' };
export { resolveCookie } from './tcp/cookie.js';
export { DeferredMessaging, type DeferredMessagingOptions } from './deferred-messaging.js';
