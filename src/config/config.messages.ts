import { describeValue, redactUrlCredentials } from '../core/index.js';

/** User-facing texts of the configuration layer (environment, strategy names, option merging). */
export const ConfigMessages = {
  // URL credentials are hidden: these errors end up in crash logs and CI output
  badEnv: (variable: string, value: string, accepted: string, cause?: unknown) =>
    `Invalid ${variable}=${redactUrlCredentials(JSON.stringify(value))}: expected ${accepted}.${cause instanceof Error ? ` (${redactUrlCredentials(cause.message)})` : ''}`,
  badJson: (variable: string, position: number | undefined, accepted: string) =>
    `Invalid ${variable}: not valid JSON${position === undefined ? '' : ` (at position ${position})`}; the value is not shown, since it may hold a password. Expected ${accepted}.`,
  portInNodeName: () => 'a port does not belong in the node name; use GEN_CLUSTER_PORT',
  unknownStrategy: (kind: 'discovery' | 'dist', strategy: unknown, known: readonly string[]) =>
    `Unknown ${kind} strategy ${JSON.stringify(strategy)}; built-in ${kind} strategies: ${known.map(k => `"${k}"`).join(', ') || 'none'}. A custom strategy may be given as an instance (or, in Nest, a class or a provider token).`,
  badStrategy: (kind: 'discovery' | 'dist', value: unknown) =>
    `Invalid ${kind} option: ${describeValue(value)}. Give a built-in strategy as { strategy: "<name>", ... } or an object implementing the ${kind === 'discovery' ? 'DiscoveryStrategy' : 'DistStrategy'} interface.`,
  optionsNotObject: (where: string, value: unknown) =>
    `${where}: the options must be an object; received ${describeValue(value)}.`,
  unknownOption: (where: string, key: string, known: readonly string[]) =>
    `${where}: unknown option "${key}". The options are: ${known.join(', ')}.`,
  besideFactory: (where: string, key: string) =>
    `${where}: "${key}" was returned by the options factory, where it has no effect. It shapes the module graph, so it goes beside useFactory/useClass/useExisting: GenClusterModule.forRootAsync({ ${key}: ..., useFactory: ... }).`,
  notAShortForm: (value: string) =>
    `Invalid discovery option ${redactUrlCredentials(JSON.stringify(value))}: no provider has this token, and it is not a discovery short form ("static:a@h1,b@h2", "dns:svc.ns", "dns+srv:_dist._tcp.svc.ns", "local", "local:h1,h2", "kubernetes:svc", "gossip", "gossip:239.255.43.69:45892", "hosts:/path/file", "etcd:http://h:2379/prefix", "nats://h:4222", or several joined by "|").`,
  aggregateForms: () =>
    'short forms joined by "|", none of them empty or JSON, e.g. "hosts:/etc/gen-cluster.hosts|gossip" (for JSON children use {"strategy":"aggregate","of":[...]})',
  pipeSplitValue: (stray: string, forms: string) =>
    `${forms}. ${JSON.stringify(stray)} is not a short form: \`|\` separates aggregate parts; use the JSON form for a value containing \`|\` (e.g. {"strategy":"hosts","file":"/etc/a|b.hosts"})`,
  hostsForms: () => 'a file path after "hosts:", e.g. "hosts:/etc/gen-cluster.hosts"',
  gossipForms: () =>
    '"gossip" (group 239.255.43.69, port 45892), or "gossip:<group>:<port>" with an IPv4 multicast group (224.0.0.0 to 239.255.255.255) and a port from 1 to 65535, e.g. "gossip:239.255.43.69:45892"',
  etcdForms: () =>
    'one or more http(s) URLs after "etcd:", comma-separated, each with the same path as the key prefix and no query, e.g. "etcd:http://10.0.0.1:2379/gen-cluster,http://10.0.0.2:2379/gen-cluster"',
  etcdCredentialsInUrl: () =>
    'etcd URLs without credentials (they would show in process listings and logs); give the user in GEN_CLUSTER_ETCD_USERNAME and the password in a file named by GEN_CLUSTER_ETCD_PASSWORD_FILE, or username/passwordFile in the JSON options',
  etcdPrefixes: (paths: readonly string[]) =>
    `one key prefix: every URL carries the same path (these carry ${paths.map(p => JSON.stringify(p)).join(', ')})`,
  natsForms: (kind: 'dist' | 'discovery') =>
    kind === 'dist'
      ? '"tcp" (the TCP mesh, the default), or the NATS dist\'s servers: one or more NATS servers, comma-separated, the first with its scheme, e.g. "nats://10.0.0.1:4222,10.0.0.2:4222" ("tls://host:4222" for TLS; a server without a scheme takes the first one\'s)'
      : 'one or more NATS servers, comma-separated, the first with its scheme, e.g. "nats://10.0.0.1:4222,10.0.0.2:4222" ("tls://host:4222" for TLS; a server without a scheme takes the first one\'s)',
  natsCredentialsInUrl: () =>
    'NATS URLs without credentials (they would show in process listings and logs): give the user in GEN_CLUSTER_NATS_USER and the password in a file named by GEN_CLUSTER_NATS_PASSWORD_FILE, or a token, an nkey seed or a creds file in files named by GEN_CLUSTER_NATS_TOKEN_FILE, GEN_CLUSTER_NATS_NKEY_SEED_FILE or GEN_CLUSTER_NATS_CREDS_FILE (or the options user/passwordFile, tokenFile, nkeySeedFile, credsFile)',
  natsCredentialsRefused: (variable: string): string =>
    `Invalid ${variable}: a NATS server in it holds credentials (something before "@"); the value is not shown, since it may hold a password or a token. Expected ${ConfigMessages.natsCredentialsInUrl()}.`,
  natsDiscoveryWithNatsDist: (option: string) =>
    `The ${option} is the NATS discovery (GEN_CLUSTER_DISCOVERY=nats://... or strategy "nats"), which finds members for the TCP mesh, but the dist is the NATS dist (GEN_CLUSTER_DIST=nats://... or dist.strategy "nats"), which listens on no TCP port and finds its peers itself. Use the NATS dist alone (unset GEN_CLUSTER_DISCOVERY / the discovery option), or, to narrow the members it hears under removalPolicy "disconnect", a dns, static or kubernetes discovery; or keep the NATS discovery with the TCP dist (GEN_CLUSTER_DIST=tcp).`,
  localDiscoveryWithNatsDist: (option: string) =>
    `The ${option} is local discovery, which asks this host's port mapper, but the dist is the NATS dist (GEN_CLUSTER_DIST=nats://... or dist.strategy "nats"), which registers nothing there: it would find nobody. Use the NATS dist alone (unset GEN_CLUSTER_DISCOVERY / the discovery option), or, to narrow the members it hears under removalPolicy "disconnect", a dns, static or kubernetes discovery.`,
  tcpOnlyWithNats: (variable: string) =>
    `${variable} is set, but the dist is the NATS dist (GEN_CLUSTER_DIST=nats://... or dist.strategy "nats"), which listens on no port: ${variable} configures the TCP mesh only. Unset it (or use the TCP dist).`,
  namespaceConflict: (given: readonly (readonly [string, string])[]) =>
    `The cluster's namespace is given differently in several places (${given.map(([o, v]) => `${o}: ${JSON.stringify(v)}`).join(', ')}): the TCP handshake and discovery (local, hosts, gossip, etcd) must use one. Set "namespace" (or GEN_CLUSTER_NAMESPACE) once.`,
  expectedSizeForms: (max: number) =>
    `the whole cluster's size, this node included: an integer from 1 to ${max}; or "discovered-unsafe" to take it from what discovery names (unsafe when discovery itself can be partitioned)`,
  stableMsWithoutSize: (variable: string, sizeVariable: string) =>
    `${variable} is set, but no quorum rule is: set ${sizeVariable} (or the quorum option's expectedSize) as well, or unset ${variable}.`,
  noDiscovery: () =>
    'No discovery is configured: set the "discovery" option (e.g. { strategy: "static", nodes: [...] }) or GEN_CLUSTER_DISCOVERY (e.g. "local" or "dns:my-svc.my-ns"), or use a dist that finds its peers itself (GEN_CLUSTER_DIST=nats://host:4222).',
  distDiscoveryNotAStrategy: (dist: string, value: unknown) =>
    `The discovery() of dist "${dist}" returned ${describeValue(value)}, not a discovery strategy (an object with peers()).`,
} as const;
