/**
 * NATS server URLs as `GEN_CLUSTER_DIST` and the `nats://` discovery short form take them:
 * `nats://host:port` or `tls://host:port`, comma-separated. No credentials: they would show in
 * process listings and logs (the `GEN_CLUSTER_NATS_*` variables name files instead).
 */
import { InvalidConfigError } from '../core/index.js';
import { ConfigMessages } from './config.messages.js';

/** As `badValue` of the short forms: the variable, the value (URL credentials hidden), the forms. */
const badValue = (variable: string, value: string, accepted: string) =>
  new InvalidConfigError(ConfigMessages.badEnv(variable, value, accepted), { option: variable });

/** Whether `value` starts like a NATS server URL (`nats://` or `tls://`, any case). */
export function isNatsUrlList(value: string): boolean {
  return /^(nats|tls):\/\//i.test(value.trim());
}

/**
 * The server URLs of `value` (`nats://h1:4222,tls://h2:4222`), each as `scheme://host[:port]`
 * (scheme lowercased; a port left out is the client's default, 4222). Refuses, naming `variable`
 * and never quoting URL credentials: a URL that does not parse, another scheme, no host, a port
 * out of range, credentials, a path, a query or a fragment.
 */
export function parseNatsServers(value: string, variable: string, accepted: string): string[] {
  const urls = value
    .split(',')
    .map(s => s.trim())
    .filter(Boolean);
  if (urls.length === 0) throw badValue(variable, value, accepted);
  return urls.map(text => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw badValue(variable, value, accepted);
    }
    if (url.username || url.password)
      throw badValue(variable, value, ConfigMessages.natsCredentialsInUrl());
    const scheme = url.protocol.toLowerCase();
    if (
      (scheme !== 'nats:' && scheme !== 'tls:') ||
      !url.hostname ||
      (url.pathname !== '' && url.pathname !== '/') ||
      url.search ||
      url.hash
    )
      throw badValue(variable, value, accepted);
    return `${scheme}//${url.host}`;
  });
}
