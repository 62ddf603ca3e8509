import {
  BadRequestException,
  Controller,
  Get,
  HttpException,
  Injectable,
  type OnModuleInit,
  Param,
  Query,
  ServiceUnavailableException,
} from '@nestjs/common';
import {
  ClusterService,
  GenClusterError,
  type GenClusterErrorCode,
  InvalidConfigError,
} from '../src/index.js';

/** The variable naming the topics this node serves, comma-separated (`prices,stock`). */
export const SAMPLE_SERVES = 'SAMPLE_SERVES';

/** How long `GET /cluster/call/:topic` waits for the answer, retry included. */
const CALL_TIMEOUT_MS = 2_000;

/** The sample's texts about its served topics. */
const SampleServicesMessages = {
  invalidTopic: (value: string, topic: string, reason: string) =>
    `${SAMPLE_SERVES}="${value}": cannot serve "${topic}": ${reason} Expected topic names ` +
    `separated by commas, such as "prices,stock".`,
} as const;

/** What a sample topic's handler answers: the node that served the call, and what it was sent. */
export interface ServedAnswer {
  readonly servedBy: string;
  readonly payload: unknown;
}

/** The answer of `GET /cluster/call/:topic`. */
export interface CallAnswer {
  /** The node whose handler answered. */
  readonly servedBy: string;
  /** What the handler was sent (`{"key":...}` with a key, `{}` without). */
  readonly value: unknown;
}

/** The answer of `GET /cluster/servers/:topic`. */
export interface ServersAnswer {
  readonly topic: string;
  /** The connected nodes serving the topic, this one included, sorted. */
  readonly servers: string[];
}

/**
 * The topics `SAMPLE_SERVES` names: trimmed, empty entries (a trailing comma) left out, each
 * once. An unset variable serves nothing.
 */
export function parseSampleServes(value: string | undefined): string[] {
  if (value === undefined) return [];
  return [
    ...new Set(
      value
        .split(',')
        .map(topic => topic.trim())
        .filter(topic => topic !== ''),
    ),
  ];
}

/**
 * Serves the topics of `SAMPLE_SERVES` on this node, so that the cluster has a service on some
 * nodes only. Each handler answers with this node's name and the payload it got. The handlers are
 * registered with `on()` at module init, before the cluster starts, so they are in the table this
 * node gives its peers when they connect.
 */
@Injectable()
export class SampleServices implements OnModuleInit {
  private readonly removers = new Map<string, () => void>();

  constructor(private readonly cluster: ClusterService) {}

  /** Registers the handlers; a name the cluster refuses fails the bootstrap, naming the variable. */
  onModuleInit(): void {
    const value = process.env[SAMPLE_SERVES];
    for (const topic of parseSampleServes(value)) {
      try {
        this.removers.set(
          topic,
          this.cluster.on(topic, (payload): ServedAnswer => ({
            servedBy: this.cluster.self,
            payload,
          })),
        );
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new InvalidConfigError(
          SampleServicesMessages.invalidTopic(value ?? '', topic, reason),
          { option: SAMPLE_SERVES, cause: error },
        );
      }
    }
  }

  /** The topics this node serves now. */
  get served(): string[] {
    return [...this.removers.keys()];
  }

  /** Stops serving `topic` (its peers are told); `false` when this node did not serve it. */
  withdraw(topic: string): boolean {
    const remove = this.removers.get(topic);
    if (remove === undefined) return false;
    this.removers.delete(topic);
    remove();
    return true;
  }
}

/** Failures that mean "nobody can answer now": a 503, not a 500. */
const UNAVAILABLE: ReadonlySet<GenClusterErrorCode> = new Set<GenClusterErrorCode>([
  'ERR_NO_SERVER',
  'ERR_NODE_DOWN',
  'ERR_REQUEST_TIMEOUT',
  'ERR_QUEUE_FULL',
  'ERR_TOO_MANY_REQUESTS',
  'ERR_CONNECT_FAILED',
  'ERR_CONNECT_TIMEOUT',
  'ERR_NOT_STARTED',
  'ERR_CLUSTER_STOPPED',
]);
/** Failures of what the HTTP caller asked for (a reserved topic, an empty key): a 400. */
const BAD_REQUEST: ReadonlySet<GenClusterErrorCode> = new Set<GenClusterErrorCode>([
  'ERR_INVALID_TOPIC',
  'ERR_INVALID_CONFIG',
]);

/** The HTTP answer for a failed call: 503 or 400 with `{ code, message }`, else as it came. */
function toHttpError(error: unknown): unknown {
  if (error instanceof HttpException || !(error instanceof GenClusterError)) return error;
  const body = { code: error.code, message: error.message };
  if (UNAVAILABLE.has(error.code as GenClusterErrorCode))
    return new ServiceUnavailableException(body, { cause: error });
  if (BAD_REQUEST.has(error.code as GenClusterErrorCode))
    return new BadRequestException(body, { cause: error });
  return error;
}

/** `{ servedBy, value }` of a sample handler's answer; another handler's answer is the value. */
function toCallAnswer(answer: unknown): CallAnswer {
  const served = answer as Partial<ServedAnswer> | null;
  if (served !== null && typeof served === 'object' && typeof served.servedBy === 'string')
    return { servedBy: served.servedBy, value: served.payload };
  return { servedBy: '', value: answer };
}

/** Shows the service registry from outside: who serves a topic, and a call to whoever does. */
@Controller('cluster')
export class ServicesController {
  constructor(private readonly cluster: ClusterService) {}

  /** `{"topic":"...","servers":["name@host",...]}`: the nodes serving `topic`, this one included. */
  @Get('servers/:topic')
  servers(@Param('topic') topic: string): ServersAnswer {
    try {
      return { topic, servers: this.cluster.servers(topic) };
    } catch (error) {
      throw toHttpError(error);
    }
  }

  /**
   * Calls `topic` on a node that serves it: round-robin, or with `?key=K` the node that owns `K`
   * (rendezvous hashing, so a key keeps its node while membership is stable). The sample topics
   * are idempotent, so one retry on another server covers a server going down mid-call. Nobody
   * serving it, a node down or no answer in time give a 503 with `{"code","message"}`.
   */
  @Get('call/:topic')
  async call(@Param('topic') topic: string, @Query('key') key?: string): Promise<CallAnswer> {
    try {
      const answer = await this.cluster.call(topic, key === undefined ? {} : { key }, {
        ...(key === undefined ? {} : { select: { key } }),
        retries: 1,
        timeoutMs: CALL_TIMEOUT_MS,
      });
      return toCallAnswer(answer);
    } catch (error) {
      throw toHttpError(error);
    }
  }
}
