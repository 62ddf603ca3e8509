/**
 * The serving side of "errors keep their meaning": what a handler threw, classified for the
 * messaging layer (which knows no framework) as a {@link MappedHandlerError}: the status and body
 * the requester gets, and the one level the serving node logs it at. The levels avoid a second
 * log line: Nest's pipeline (`ExternalExceptionFilter`) already logs at `error` every `Error`
 * that is not an `IntrinsicException` and that no exception filter handled.
 */
import { HttpException, IntrinsicException } from '@nestjs/common';
import { isIntegerIn } from '../../core/index.js';
import { MappedHandlerError } from '../../distribution/index.js';

/**
 * How the handler ran: `'pipeline'` through Nest's `ExternalContextCreator` with filters (the
 * decorators), `'imperative'` as a plain function (`ClusterService.on()`/`subscribe()`).
 * Not exported from the package.
 */
export type HandlerPath = 'pipeline' | 'imperative';

/** Status of an `RpcException` error object without a usable one. */
const RPC_DEFAULT_STATUS = 500;

/**
 * Classifies a handler's failure. An `HttpException` keeps its status and response (logged at
 * `debug` below 500, at `error` from 500: Nest never logs it); another `IntrinsicException` is
 * logged at `debug`; an `RpcException` gets the status in its error object (`statusCode` or
 * `status`, 400–599) or 500, and the body `BaseRpcExceptionFilter` would build; any other `Error`
 * is logged at `error` by whoever sees it first (Nest on the pipeline, so `debug` here); a thrown
 * non-`Error` value at `warn`. An already mapped error is returned as it is.
 * Not exported from the package.
 */
export function toMappedError(error: unknown, via: HandlerPath): MappedHandlerError {
  if (error instanceof MappedHandlerError) return error;
  if (error instanceof HttpException) {
    const status = error.getStatus();
    return new MappedHandlerError(
      error,
      isIntegerIn(status, 100, 499) ? 'debug' : 'error',
      status,
      httpResponse(error, status),
    );
  }
  if (error instanceof IntrinsicException) return new MappedHandlerError(error, 'debug');
  const rpc = rpcError(error);
  if (rpc !== undefined) {
    // Nest's ExternalExceptionFilter logs an RpcException (an Error, not Intrinsic) on the pipeline.
    return new MappedHandlerError(
      error,
      via === 'pipeline' ? 'debug' : 'error',
      rpc.status,
      rpc.response,
    );
  }
  if (error instanceof Error)
    return new MappedHandlerError(error, via === 'pipeline' ? 'debug' : 'error');
  return new MappedHandlerError(error, 'warn');
}

/**
 * The response to send: `getResponse()`, except that a non-object response with an `errorCode`
 * becomes the body Nest's `BaseExceptionFilter` sends for it, so the `errorCode` is not lost.
 */
function httpResponse(error: HttpException, status: number): unknown {
  const response = error.getResponse();
  if ((typeof response === 'object' && response !== null) || error.errorCode === undefined)
    return response;
  return { statusCode: status, message: response, errorCode: error.errorCode };
}

/**
 * An `RpcException` (from `@nestjs/microservices`, an optional peer this library does not
 * import): an error whose prototype chain has a class named `RpcException`, with `getError()`.
 * Its status and response, or `undefined` for any other value.
 */
function rpcError(error: unknown): { status: number; response: unknown } | undefined {
  if (!(error instanceof Error) || !isRpcException(error)) return undefined;
  let inner: unknown;
  try {
    inner = error.getError();
  } catch {
    inner = error.message;
  }
  if (typeof inner === 'object' && inner !== null) {
    const { statusCode, status } = inner as { statusCode?: unknown; status?: unknown };
    const found = [statusCode, status].find(s => isIntegerIn(s, 400, 599)) as number | undefined;
    return { status: found ?? RPC_DEFAULT_STATUS, response: inner };
  }
  // As BaseRpcExceptionFilter answers a non-object error.
  return { status: RPC_DEFAULT_STATUS, response: { status: 'error', message: inner } };
}

function isRpcException(error: Error): error is Error & { getError(): unknown } {
  if (typeof (error as { getError?: unknown }).getError !== 'function') return false;
  for (
    let proto: unknown = Object.getPrototypeOf(error);
    proto !== null && proto !== Error.prototype;
  ) {
    if ((proto as { constructor?: { name?: unknown } }).constructor?.name === 'RpcException')
      return true;
    proto = Object.getPrototypeOf(proto);
  }
  return false;
}
