import type { TcpDistOptions } from './tcp/tcp.dist.js';

export * from './messaging/index.js';
export { DEFAULT_TCP_DIST_OPTIONS, TcpDist, type TcpDistOptions } from './tcp/tcp.dist.js';
export * from './tcp/tcp.errors.js';
export { TlsError, type TlsFailureReason, type TlsMinVersion, type TlsOptions } from './tcp/tls.js';

/** Options of the built-in dists, by `strategy` name. */
export type BuiltInDistOptions = TcpDistOptions & { readonly strategy: 'tcp' };
