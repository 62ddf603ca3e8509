import {
  Controller,
  Get,
  Header,
  type MessageEvent,
  type OnModuleDestroy,
  Sse,
} from '@nestjs/common';
import {
  catchError,
  defer,
  exhaustMap,
  map,
  merge,
  type Observable,
  of,
  Subject,
  takeUntil,
  timer,
} from 'rxjs';
import { type ClusterEvent, ClusterService } from '../../src/index.js';
import { CLUSTER_UI_PAGE } from './page.js';

/** How often the page gets every node's own view. */
export const OVERVIEW_INTERVAL_MS = 2_000;
/** How long one overview waits for the slowest node. */
const OVERVIEW_TIMEOUT_MS = 1_500;

/** One event as the page shows it (the shape of a recorded event, without its sequence). */
export interface PageEvent {
  readonly at: string;
  readonly type: ClusterEvent['type'];
  readonly node?: string;
  readonly reason?: string;
  readonly message?: string;
}

/** An event of `events$` in the page's shape: an error becomes its message, never a stack. */
export function toPageEvent(event: ClusterEvent, at = new Date()): PageEvent {
  const base = { at: at.toISOString(), type: event.type };
  switch (event.type) {
    case 'nodeDown':
      return { ...base, node: event.node, reason: event.reason };
    case 'connectFailed':
      return { ...base, node: event.node, message: event.error.message };
    case 'discoveryError':
      return { ...base, message: event.error.message };
    case 'quorumChanged': {
      const { has, size, needed } = event.quorum;
      return {
        ...base,
        message: `${has ? 'quorum' : 'no quorum'}: ${size} nodes, ${needed} needed`,
      };
    }
    case 'distDisconnected':
      return { ...base, message: event.reason };
    case 'distConnected':
      return { ...base, message: `reconnected after ${event.downForMs} ms` };
    default:
      return { ...base, node: event.node };
  }
}

/**
 * The live cluster page: `GET /cluster/ui` (the HTML) and `GET /cluster/ui/stream` (server-sent
 * events: `hello` with this node's name, each of this node's events at once, and every
 * {@link OVERVIEW_INTERVAL_MS} an overview of every node's own view).
 */
@Controller('cluster/ui')
export class ClusterUiController implements OnModuleDestroy {
  /** Ends open streams on shutdown, so they do not hold the HTTP server open. */
  private readonly closing = new Subject<void>();

  constructor(private readonly cluster: ClusterService) {}

  /** The page: self-contained HTML, no external asset. */
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  page(): string {
    return CLUSTER_UI_PAGE;
  }

  /** The page's data, as server-sent events. */
  @Sse('stream')
  stream(): Observable<MessageEvent> {
    const hello = of<MessageEvent>({
      type: 'hello',
      data: { self: this.cluster.self, at: new Date().toISOString() },
    });
    const events = this.cluster.events$.pipe(
      map((event): MessageEvent => ({ type: 'event', data: toPageEvent(event) })),
    );
    const overviews = timer(0, OVERVIEW_INTERVAL_MS).pipe(
      exhaustMap(() =>
        defer(() => this.cluster.system.overview({ timeoutMs: OVERVIEW_TIMEOUT_MS })).pipe(
          map((overview): MessageEvent => ({ type: 'overview', data: overview })),
          // A stopping cluster cannot be asked; the next tick tries again.
          catchError(() => []),
        ),
      ),
    );
    return merge(hello, events, overviews).pipe(takeUntil(this.closing));
  }

  /** Completes every open stream. */
  onModuleDestroy(): void {
    this.closing.next();
    this.closing.complete();
  }
}
