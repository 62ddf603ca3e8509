import { describeValue } from '../core/index.js';

/** User-facing texts of the microservices transport (error messages and log lines). */
export const MicroservicesMessages = {
  badRoute: (route: string, maxBytes: number) =>
    `GenClusterTransport: the pattern ${JSON.stringify(route.slice(0, 200))} cannot be served over the cluster: its route is over ${maxBytes} bytes, nested deeper than 5 levels or has more than 20 keys (Nest's limits). Use a shorter pattern.`,
  /** Nest's own text for an error that is not an RpcException (as every Nest transport sends it). */
  internalError: 'Internal server error',
  streamStopped:
    'gen-cluster: the answer was stopped (its requester went away or the server is closing)',
  streamTooLong: (maxValues: number) => `gen-cluster: stream answer over ${maxValues} values`,
  streamTooLarge: (maxBytes: number) => `gen-cluster: stream answer over ${maxBytes} bytes`,
  streamCut: (route: string, reason: string) =>
    `The answer of pattern ${route} was cut: ${reason}. The transport buffers a finite Observable; use a shorter stream or raise maxStreamValues.`,
  handlerRejected: (route: string, error: string) =>
    `The handler of pattern ${route} failed outside Nest's exception handling: ${error}`,
  noSubscriber: (route: string) =>
    `emit(${route}): no member subscribes to this pattern; the event reached nobody.`,
  noCluster: (token: string) =>
    `createGenClusterTransport: no cluster ${token} in this application. Import GenClusterModule.forRoot() (with the same "name") in the application's module, and call createGenClusterTransport(app) after NestFactory.create().`,
  noClusterOption: (value: unknown) =>
    `GenClusterClientProxy: "cluster" must be the ClusterService to call through (inject it, or use GenClusterClientsModule.register()); received ${describeValue(value)}.`,
} as const;
