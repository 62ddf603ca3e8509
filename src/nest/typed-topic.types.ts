/**
 * The compile-time checks of typed topics on the handler side: the signatures that
 * `@ClusterHandler(topic)` and `@OnClusterMessage(topic)` return for a {@link Topic}, and that
 * `ClusterService.on(topic, handler)` takes.
 *
 * How a method decorator checks the method: TypeScript calls it as `(prototype, key, descriptor)`,
 * so the decorator is generic in the method's type `M`, inferred from the descriptor.
 * - The return type is checked by the constraint on `M` (it must give `Res`, at once, as a
 *   promise or as an Observable).
 * - The payload parameter is checked through `key`: when the parameter does not accept the
 *   topic's request type, `key`'s type becomes {@link ParameterDoesNotAcceptPayload}, which no
 *   method name is, so the compiler reports the decorator, naming both types.
 * Neither changes what `emitDecoratorMetadata` records (that comes from the method itself), so
 * pipes still see the parameter's class.
 */
import type { Observable } from 'rxjs';
import type { MessageContext } from '../core/index.js';

/**
 * What a handler of a topic whose answers are `Res` may return: the answer, a promise of it, or
 * an Observable whose last value is the answer.
 */
export type HandlerResult<Res> = Res | PromiseLike<Res> | Observable<Res>;

/**
 * The type the compiler names when a handler's payload parameter does not accept its topic's
 * request type: `request` is the topic's type, `parameter` the parameter's. It appears only in
 * error messages (`Argument of type 'string' is not assignable to parameter of type
 * 'ParameterDoesNotAcceptPayload<GetPrice, { sku: number }>'`).
 */
export interface ParameterDoesNotAcceptPayload<Req, Param> {
  /** The topic's request type. */
  readonly request: Req;
  /** The type of the method's payload parameter. */
  readonly parameter: Param;
}

type IsAny<T> = 0 extends 1 & T ? true : false;

/** Exactly the context (not a type that merely accepts it, such as `unknown` or `object`). */
type IsContext<T> = [T] extends [MessageContext]
  ? [MessageContext] extends [T]
    ? true
    : false
  : false;

/** The payload parameter: the first one whose type is not `MessageContext`; `none` when absent. */
type PayloadParameter<P extends readonly unknown[]> = P extends readonly []
  ? { readonly none: true }
  : P extends readonly [infer Head, ...infer Rest]
    ? IsAny<Head> extends true
      ? { readonly param: Head }
      : IsContext<Head> extends true
        ? PayloadParameter<Rest>
        : { readonly param: Head }
    : P extends readonly (infer Each)[]
      ? { readonly param: Each }
      : { readonly none: true };

/**
 * The types of a plain object's properties: a parameter of one of them is taken to be a property
 * payload (`@Payload('sku') sku: string`), which the types cannot tell from the whole payload.
 */
type PropertyTypes<Req> = Req extends readonly unknown[]
  ? never
  : Req extends (...args: never[]) => unknown
    ? never
    : Req extends object
      ? Req[keyof Req]
      : never;

type SomeAssignable<U, To> = U extends unknown ? ([U] extends [To] ? true : false) : never;

/** Whether a parameter of type `Param` can take the payload `Req` (or one of its properties). */
type Accepts<Req, Param> =
  IsAny<Param> extends true
    ? true
    : [Req] extends [Param]
      ? true
      : true extends SomeAssignable<PropertyTypes<Req>, Param>
        ? true
        : false;

/**
 * `true` when method type `M` can take payloads of type `Req`, otherwise the
 * {@link ParameterDoesNotAcceptPayload} naming both types. A method without a payload parameter,
 * or whose payload parameter is `unknown` or `any`, passes.
 */
export type PayloadCheck<Req, M> = M extends (...args: infer P) => unknown
  ? PayloadParameter<P> extends { readonly param: infer Param }
    ? Accepts<Req, Param> extends true
      ? true
      : ParameterDoesNotAcceptPayload<Req, Param>
    : true
  : true;

/**
 * The method's name when its payload parameter accepts `Req`; otherwise a type no name has, so
 * the decorator fails to compile with an error naming both types.
 */
export type CheckedMethodKey<Req, M> =
  PayloadCheck<Req, M> extends true ? string | symbol : PayloadCheck<Req, M>;

/**
 * The decorator `@ClusterHandler(topic)` returns for a typed topic: the method must return `Res`
 * (directly, as a promise, or as an Observable), and its payload parameter (the first that is not
 * a `MessageContext`) must accept `Req`.
 */
export type TypedHandlerDecorator<Req, Res> = <
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any method shape; checked below
  M extends (...args: any[]) => HandlerResult<Res>,
>(
  target: object,
  key: CheckedMethodKey<Req, M>,
  descriptor: TypedPropertyDescriptor<M>,
) => void;

/**
 * The decorator `@OnClusterMessage(topic)` returns for a typed topic: the payload parameter (the
 * first that is not a `MessageContext`) must accept `Req`; the return value is ignored.
 */
export type TypedSubscriberDecorator<Req> = <
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any method shape; checked below
  M extends (...args: any[]) => unknown,
>(
  target: object,
  key: CheckedMethodKey<Req, M>,
  descriptor: TypedPropertyDescriptor<M>,
) => void;

/** A handler of a typed topic given to `ClusterService.on()`: takes `Req`, answers `Res`. */
export type TypedMessageHandler<Req, Res> = (
  payload: Req,
  context: MessageContext,
) => Res | PromiseLike<Res>;
