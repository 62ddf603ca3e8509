/**
 * The search list and `ndots` of the system resolver (resolv.conf(5)), which the `dns` discovery
 * applies itself: `node:dns` resolvers ask for names as given, never searched.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { canonicalHost } from '../../core/index.js';

/** How a name with few dots is searched. */
export interface SearchConfig {
  /** Suffixes tried, in order. */
  readonly search: readonly string[];
  /** Dots a name needs to be tried as is before the search list. */
  readonly ndots: number;
}

/** The system resolver's configuration file. */
export const RESOLV_CONF = '/etc/resolv.conf';

/** The largest `ndots` the system resolver honours; larger values are read as this. */
const MAX_NDOTS = 15;

/** The search list and ndots of a resolv.conf text (the last `search`/`domain` line wins). */
export function parseResolvConf(text: string): SearchConfig {
  let search: string[] = [];
  let ndots = 1;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [keyword, ...args] = line.split(/\s+/);
    if (keyword === 'search' || keyword === 'domain') {
      search = args
        .map(arg => canonicalHost(arg))
        .filter((h): h is string => h !== undefined && h !== '' && isIP(h) === 0);
    } else if (keyword === 'options') {
      for (const arg of args) {
        const match = /^ndots:(\d+)$/.exec(arg);
        if (match) ndots = Math.min(Number(match[1]), MAX_NDOTS);
      }
    }
  }
  return { search, ndots };
}

/** The system's search configuration; none (no search, ndots 1) when it cannot be read. */
export function readResolvConf(file = RESOLV_CONF): Promise<SearchConfig> {
  return readFile(file, 'utf8').then(parseResolvConf, () => ({ search: [], ndots: 1 }));
}
