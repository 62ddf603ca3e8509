import {
  type ParameterDecoratorOptions,
  type PipeTransform,
  type Type,
  assignMetadata,
} from '@nestjs/common';
import { ClusterParamtype, GEN_CLUSTER_ARGS_METADATA } from './cluster-handler.constants.js';

type PipeArgument = Type<PipeTransform> | PipeTransform;

/**
 * Injects the message's payload, or one property of it (`@Payload('sku')`), through the given
 * pipes, into a `@ClusterHandler` or `@OnClusterMessage` method. Pipes (a method's
 * `@UsePipes(new ValidationPipe())`, global ones, or those given here) see it as `type: 'body'`,
 * so `ValidationPipe` validates DTOs. Nest runs pipes only on decorated parameters: without
 * `@Payload()` the payload is passed as is (and a warning says so at bootstrap).
 *
 * Also exported as {@link ClusterPayload}, a name that does not clash with
 * `@nestjs/microservices`' `Payload`.
 *
 * @publicApi
 */
export function Payload(): ParameterDecorator;
/** Injects the payload through the given pipes. @publicApi */
export function Payload(...pipes: PipeArgument[]): ParameterDecorator;
/** Injects one property of the payload through the given pipes. @publicApi */
export function Payload(property?: string, ...pipes: PipeArgument[]): ParameterDecorator;
/** Injects one property of the payload with pipes and a schema given as options. @publicApi */
export function Payload(property: string, options: ParameterDecoratorOptions): ParameterDecorator;
/** Injects the payload with pipes and a schema given as options. @publicApi */
export function Payload(options: ParameterDecoratorOptions): ParameterDecorator;
export function Payload(
  propertyOrPipe?: string | PipeArgument | ParameterDecoratorOptions,
  ...rest: (PipeArgument | ParameterDecoratorOptions)[]
): ParameterDecorator {
  let property: string | undefined;
  let pipes: PipeArgument[];
  let schema: ParameterDecoratorOptions['schema'];
  const args = [propertyOrPipe, ...rest];
  if (typeof propertyOrPipe === 'string' || propertyOrPipe === undefined) {
    property = propertyOrPipe;
    args.shift();
  }
  if (args.length > 0 && isDecoratorOptions(args[0])) {
    const options = args.shift() as ParameterDecoratorOptions;
    pipes = [...(options.pipes ?? []), ...(args as PipeArgument[])];
    schema = options.schema;
  } else {
    pipes = (args as (PipeArgument | undefined)[]).filter(pipe => pipe !== undefined);
  }
  return paramDecorator(ClusterParamtype.PAYLOAD, { data: property, pipes, schema });
}

/**
 * `Payload` under a name that does not clash with `@nestjs/microservices`' `Payload`.
 * @publicApi
 */
export const ClusterPayload: typeof Payload = Payload;

/**
 * Injects the message's {@link MessageContext}: the sending node (`from`), the `topic`, the
 * `kind` (`'request'` or `'oneWay'`) and, for a request, the `signal` aborted when the requester
 * went away.
 * @publicApi
 */
export function ClusterContext(): ParameterDecorator {
  return paramDecorator(ClusterParamtype.CONTEXT, { pipes: [] });
}

function paramDecorator(
  type: ClusterParamtype,
  options: { data?: string; pipes: PipeArgument[]; schema?: ParameterDecoratorOptions['schema'] },
): ParameterDecorator {
  return (target, key, index) => {
    // Parameters of a constructor have no method to receive messages: nothing to record.
    if (key === undefined) return;
    const previous = (Reflect.getMetadata(GEN_CLUSTER_ARGS_METADATA, target.constructor, key) ??
      {}) as Record<string, unknown>;
    Reflect.defineMetadata(
      GEN_CLUSTER_ARGS_METADATA,
      assignMetadata(previous, type, index, options),
      target.constructor,
      key,
    );
  };
}

/** Whether a value is the `{ pipes, schema }` options form rather than a pipe (as Nest decides). */
function isDecoratorOptions(value: unknown): value is ParameterDecoratorOptions {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { transform?: unknown }).transform !== 'function' &&
    ('schema' in value || 'pipes' in value)
  );
}
