import { Injectable } from '@nestjs/common';
import {
  EXCEPTION_FILTERS_METADATA,
  FILTER_CATCH_EXCEPTIONS,
  PIPES_METADATA,
} from '@nestjs/common/constants.js';
import { ApplicationConfig } from '@nestjs/core';
import type { ClusterEventMetadata } from './cluster-event.decorators.js';
import {
  ClusterParamtype,
  GEN_CLUSTER_ARGS_METADATA,
  GEN_CLUSTER_EVENT_METADATA,
  GEN_CLUSTER_HANDLER_METADATA,
  GEN_CLUSTER_SUBSCRIBER_METADATA,
} from './cluster-handler.constants.js';
import type { ClusterTopicMetadata } from './cluster-handler.decorators.js';

/** Reads what the handler, parameter and pipe decorators left on a class and its methods. @internal */
@Injectable()
export class ClusterMetadataAccessor {
  constructor(private readonly config: ApplicationConfig) {}

  /** The `@ClusterHandler` registrations of a method, in decoration order. */
  handlers(method: object): readonly ClusterTopicMetadata[] {
    return ownArray<ClusterTopicMetadata>(GEN_CLUSTER_HANDLER_METADATA, method);
  }

  /** The `@OnClusterMessage` registrations of a method. */
  subscribers(method: object): readonly ClusterTopicMetadata[] {
    return ownArray<ClusterTopicMetadata>(GEN_CLUSTER_SUBSCRIBER_METADATA, method);
  }

  /** The node-event registrations of a method. */
  events(method: object): readonly ClusterEventMetadata[] {
    return ownArray<ClusterEventMetadata>(GEN_CLUSTER_EVENT_METADATA, method);
  }

  /** Whether one parameter of `classRef.prototype[key]` has `@Payload()` (pipes apply to it). */
  hasPayloadParameter(classRef: object, key: string): boolean {
    const args = Reflect.getMetadata(GEN_CLUSTER_ARGS_METADATA, classRef, key) as
      Record<string, unknown> | undefined;
    // Nest keys parameter metadata `<type>:<index>`.
    const prefix = `${ClusterParamtype.PAYLOAD}:`;
    return args !== undefined && Object.keys(args).some(k => k.startsWith(prefix));
  }

  /**
   * Whether pipes apply to the method: its own or its class's `@UsePipes`, `APP_PIPE` providers
   * or `app.useGlobalPipes()` (both end up in the application config before `onModuleInit`).
   */
  hasPipes(classRef: object, method: object): boolean {
    return (
      nonEmpty(Reflect.getMetadata(PIPES_METADATA, method)) ||
      nonEmpty(Reflect.getMetadata(PIPES_METADATA, classRef)) ||
      this.config.getGlobalPipes().length > 0 ||
      this.config.getGlobalRequestPipes().length > 0
    );
  }

  /**
   * Whether an exception filter that applies to the method (its own, its class's, `APP_FILTER`
   * or `app.useGlobalFilters()`) catches `error` by its `@Catch()` types. Nest's own exceptions
   * handler logs only what no such filter catches; what a filter caught and threw on, nobody
   * has logged yet.
   */
  filterCatches(classRef: object, method: object, error: unknown): boolean {
    const filters: unknown[] = [
      ...asArray(Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, method)),
      ...asArray(Reflect.getMetadata(EXCEPTION_FILTERS_METADATA, classRef)),
      ...this.config.getGlobalFilters(),
      ...this.config.getGlobalRequestFilters().map(wrapper => wrapper.metatype),
    ];
    return filters.some(filter => {
      const type =
        typeof filter === 'function' ? filter : (filter as object | null | undefined)?.constructor;
      if (type === undefined) return false;
      const caught = asArray(Reflect.getMetadata(FILTER_CATCH_EXCEPTIONS, type));
      return (
        caught.length === 0 ||
        caught.some(exception => typeof exception === 'function' && error instanceof exception)
      );
    });
  }
}

function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function ownArray<T>(key: string, method: object): readonly T[] {
  const value: unknown = Reflect.getOwnMetadata(key, method);
  return Array.isArray(value) ? (value as T[]) : [];
}

function nonEmpty(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}
