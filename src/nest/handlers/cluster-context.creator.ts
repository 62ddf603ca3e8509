import { Injectable } from '@nestjs/common';
import {
  type ContextId,
  ContextIdFactory,
  ExternalContextCreator,
  type ModuleRef,
} from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';
import type { MessageContext, MessageHandler } from '../../core/index.js';
import type { MappedHandlerError } from '../../distribution/index.js';
import { toMappedError } from '../errors/to-mapped-error.js';
import {
  GEN_CLUSTER_ARGS_METADATA,
  GEN_CLUSTER_CONTEXT_TYPE,
} from './cluster-handler.constants.js';
import { ClusterMetadataAccessor } from './cluster-metadata.accessor.js';
import { ClusterParamsFactory } from './cluster-params.factory.js';
import type { ClusterRequest } from './cluster-request.interface.js';

/** The whole pipeline, as for `@MessagePattern` handlers. */
const PIPELINE = { guards: true, interceptors: true, filters: true } as const;

/** A method and the instance it is called on. */
type Method = (...args: unknown[]) => unknown;

/**
 * A host whose instance is built per message (request-scoped, transient, or depending on one):
 * how to resolve it in its own module.
 * @internal
 */
export interface ScopedHost {
  /** The host module's `ModuleRef`, so another module's provider of the same class is not used. */
  readonly moduleRef: ModuleRef;
  /** The provider's token in that module. */
  readonly token: unknown;
  /** The provider's wrapper id, the inquirer of its transient enhancers. */
  readonly id: string;
}

/**
 * Turns a decorated method into the `MessageHandler` messaging calls: Nest's own pipeline built by
 * `ExternalContextCreator` (context type `'gen-cluster'`), its result settled (the last value of
 * an Observable) and its failure mapped for the wire and the serving log.
 * @internal
 */
@Injectable()
export class ClusterContextCreator {
  private readonly paramsFactory = new ClusterParamsFactory();

  constructor(
    private readonly externalContextCreator: ExternalContextCreator,
    private readonly accessor: ClusterMetadataAccessor,
  ) {}

  /**
   * The fast path: a static host's proxy is built once, and a message adds one promise reaction
   * to Nest's pipeline (no async wrapper of its own).
   */
  staticHandler(instance: object, key: string): MessageHandler {
    const proxy = this.proxy(instance, key);
    const fail = (error: unknown): never => {
      throw this.mapped(instance, key, error);
    };
    // A handler, an interceptor or a filter that handled the error may answer with an Observable.
    const settle = (result: unknown): unknown =>
      isObservable(result) ? lastValueFrom(result).then(undefined, fail) : result;
    return (payload: unknown, context: MessageContext) =>
      proxy(payload, context).then(settle, fail);
  }

  /**
   * The slow path: for each message a context id, the host resolved in it (with `REQUEST` being a
   * {@link ClusterRequest}), and the pipeline built for that instance.
   */
  scopedHandler(host: ScopedHost, key: string): MessageHandler {
    return async (payload: unknown, context: MessageContext) => {
      let proxy: (...args: unknown[]) => Promise<unknown>;
      let instance: object;
      try {
        const request: ClusterRequest = { payload, context };
        const contextId = ContextIdFactory.getByRequest(request);
        instance = await resolveScoped(host, request, contextId);
        proxy = this.proxy(instance, key, contextId, host.id);
      } catch (error) {
        // not through the pipeline: Nest logged nothing, so the library logs it as an on() failure
        throw toMappedError(error, 'imperative');
      }
      try {
        const result: unknown = await proxy(payload, context);
        return isObservable(result) ? await lastValueFrom(result) : result;
      } catch (error) {
        throw this.mapped(instance, key, error);
      }
    };
  }

  /**
   * A failure out of the pipeline, mapped for the wire and the serving log. Nest's exceptions
   * handler logged it unless an exception filter caught it (a catch-all HTTP filter calling
   * `switchToHttp()` throws on cluster traffic): then it is logged as a plain handler's failure.
   */
  private mapped(instance: object, key: string, error: unknown): MappedHandlerError {
    const method = (instance as Record<string, Method>)[key];
    const caught = this.accessor.filterCatches(instance.constructor, method, error);
    return toMappedError(error, caught ? 'imperative' : 'pipeline');
  }

  private proxy(
    instance: object,
    key: string,
    contextId?: ContextId,
    inquirerId?: string,
  ): (...args: unknown[]) => Promise<unknown> {
    const callback = (instance as Record<string, Method>)[key];
    return this.externalContextCreator.create(
      instance,
      callback,
      key,
      GEN_CLUSTER_ARGS_METADATA,
      this.paramsFactory,
      contextId,
      inquirerId,
      PIPELINE,
      GEN_CLUSTER_CONTEXT_TYPE,
    );
  }
}

/**
 * The host's instance for one message or event: `request` registered as `REQUEST` under
 * `contextId`, then the provider resolved in its own module.
 * @internal
 */
export async function resolveScoped(
  host: ScopedHost,
  request: object,
  contextId: ContextId,
): Promise<object> {
  host.moduleRef.registerRequestByContextId(request, contextId);
  return host.moduleRef.resolve<object>(host.token as string, contextId, { strict: true });
}
