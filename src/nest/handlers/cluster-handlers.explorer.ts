import { Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { GenClusterError, InvalidConfigError, type MessageHandler } from '../../core/index.js';
import { DuplicateHandlerError, InvalidTopicError, defineTopic } from '../../distribution/index.js';
import type { ClusterService } from '../cluster.service.js';
import { NestMessages } from '../gen-cluster.messages.js';
import { ClusterContextCreator } from './cluster-context.creator.js';
import { ClusterEventListeners, type EventRegistration } from './cluster-event.listeners.js';
import {
  type Host,
  clusterName,
  clusterOf,
  clustersByName,
  hostOf,
  prototypeOf,
} from './cluster-hosts.js';
import { ClusterMetadataAccessor } from './cluster-metadata.accessor.js';

/** One `@ClusterHandler` or `@OnClusterMessage` registration. */
interface TopicRegistration {
  readonly kind: 'handler' | 'subscriber';
  readonly host: Host;
  readonly key: string;
  readonly method: object;
  readonly where: string;
  readonly topic: unknown;
  readonly cluster: unknown;
}

/**
 * Finds the decorated methods of every provider and controller at `onModuleInit` (before the
 * cluster starts, so no message arrives before its handler exists), checks them all, then
 * registers request handlers, subscribers and node-event listeners; removes them at shutdown.
 * Modelled on `@nestjs/schedule`'s explorer and `@nestjs/event-emitter`'s loader.
 * @internal
 */
@Injectable()
export class ClusterHandlersExplorer implements OnModuleInit, OnApplicationShutdown {
  private readonly teardown: (() => void)[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: ClusterMetadataAccessor,
    private readonly creator: ClusterContextCreator,
    private readonly listeners: ClusterEventListeners,
  ) {}

  onModuleInit(): void {
    const topics: TopicRegistration[] = [];
    const events: EventRegistration[] = [];
    this.collect(topics, events);
    if (topics.length === 0 && events.length === 0) return;
    const clusters = clustersByName(this.discovery);
    this.validate(topics, clusters);
    this.listeners.validate(events, clusters);
    try {
      this.warnPipesWithoutPayload(topics);
      for (const registration of topics) this.register(registration, clusters);
      for (const registration of events)
        this.teardown.push(this.listeners.listen(registration, clusters));
    } catch (error) {
      this.onApplicationShutdown();
      throw error;
    }
  }

  /** Removes every registration; the cluster itself closes in its own hook. */
  onApplicationShutdown(): void {
    for (const off of this.teardown.splice(0)) off();
  }

  private collect(topics: TopicRegistration[], events: EventRegistration[]): void {
    const wrappers = [...this.discovery.getControllers(), ...this.discovery.getProviders()];
    for (const wrapper of wrappers) {
      if (wrapper.isAlias) continue;
      const prototype = prototypeOf(wrapper);
      if (prototype === undefined) continue;
      let host: Host | undefined;
      for (const key of this.scanner.getAllMethodNames(prototype)) {
        const method: unknown = (prototype as Record<string, unknown>)[key];
        if (typeof method !== 'function') continue;
        const declared = [
          ...this.accessor.handlers(method).map(entry => ({ kind: 'handler' as const, entry })),
          ...this.accessor
            .subscribers(method)
            .map(entry => ({ kind: 'subscriber' as const, entry })),
        ];
        const listens = this.accessor.events(method);
        if (declared.length + listens.length === 0) continue;
        host ??= hostOf(wrapper, prototype);
        const where = `${host.className}.${key}`;
        for (const { kind, entry } of declared)
          topics.push({
            kind,
            host,
            key,
            method,
            where,
            topic: entry.topic,
            cluster: entry.options.cluster,
          });
        for (const { source, options } of listens)
          events.push({ host, key, where, source, cluster: options.cluster });
      }
    }
  }

  /** Throws the first problem found, naming the method, before anything is registered. */
  private validate(topics: TopicRegistration[], clusters: Map<string, ClusterService>): void {
    const byTopic = new Map<string, TopicRegistration[]>();
    for (const registration of topics) {
      const { where, topic } = registration;
      try {
        defineTopic(topic as string);
      } catch (error) {
        if (!(error instanceof InvalidTopicError)) throw error;
        throw new InvalidTopicError(NestMessages.handlerTopicInvalid(where, error.message), {
          reason: error.reason,
          topic: typeof topic === 'string' ? topic : undefined,
          cause: error,
        });
      }
      const cluster = clusterOf(registration.cluster, where, clusters);
      const group = `${cluster.name}\u0000${topic as string}`;
      const list = byTopic.get(group) ?? [];
      list.push(registration);
      byTopic.set(group, list);
    }
    for (const list of byTopic.values()) {
      const { topic } = list[0];
      const cluster = clusterName(list[0].cluster);
      const handlers = list.filter(r => r.kind === 'handler');
      if (handlers.length > 1)
        throw new DuplicateHandlerError(
          NestMessages.duplicateRequestHandler(
            topic as string,
            cluster,
            handlers[0].where,
            handlers[1].where,
          ),
          { topic: topic as string },
        );
      const twice = handlers.find(h =>
        list.some(r => r.kind === 'subscriber' && r.host === h.host && r.key === h.key),
      );
      if (twice)
        throw new InvalidConfigError(
          NestMessages.handlerAndSubscriber(topic as string, cluster, twice.where),
        );
    }
    for (const { kind, where, topic, cluster } of topics) {
      const service = clusterOf(cluster, where, clusters);
      if (kind === 'subscriber' && !service.subscribersSupported)
        throw new GenClusterError(
          'ERR_MESSAGING_UNSUPPORTED',
          NestMessages.noSubscribe(where, topic as string, service.name),
        );
    }
  }

  /** Once per method: pipes apply but no parameter has `@Payload()`, so none would run. */
  private warnPipesWithoutPayload(topics: TopicRegistration[]): void {
    const warned = new Set<string>();
    for (const { host, key, method, where, topic, cluster } of topics) {
      if (warned.has(where)) continue;
      warned.add(where);
      if (
        this.accessor.hasPipes(host.classRef, method) &&
        !this.accessor.hasPayloadParameter(host.classRef, key)
      )
        new Logger(`GenCluster:${clusterName(cluster)}`).warn(
          NestMessages.pipesWithoutPayload(where, topic as string),
        );
    }
  }

  private register(registration: TopicRegistration, clusters: Map<string, ClusterService>): void {
    const { host, key, where, kind } = registration;
    const topic = registration.topic as string;
    const cluster = clusterOf(registration.cluster, where, clusters);
    const handler: MessageHandler = host.scoped
      ? this.creator.scopedHandler(host.scoped, key)
      : this.creator.staticHandler(host.instance as object, key);
    try {
      this.teardown.push(
        kind === 'handler'
          ? cluster.registerHandler(topic, handler)
          : cluster.registerSubscriber(topic, handler),
      );
    } catch (error) {
      if (error instanceof DuplicateHandlerError)
        throw new DuplicateHandlerError(NestMessages.conflictWithOn(topic, cluster.name, where), {
          topic,
          cause: error,
        });
      if (error instanceof GenClusterError && error.code === 'ERR_MESSAGING_UNSUPPORTED')
        throw new GenClusterError(
          'ERR_MESSAGING_UNSUPPORTED',
          NestMessages.noMessagingFor(where, topic, cluster.name),
          { cause: error },
        );
      throw error;
    }
  }
}
