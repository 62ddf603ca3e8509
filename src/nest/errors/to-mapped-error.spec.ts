import * as common from '@nestjs/common';
import {
  BadRequestException,
  HttpException,
  InternalServerErrorException,
  IntrinsicException,
  NotFoundException,
  ValidationPipe,
} from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { IsInt, IsString } from 'class-validator';
import { MappedHandlerError } from '../../distribution/messaging/mapped-handler-error.js';
import {
  encodeWireError,
  handlerFailure,
  parseWireError,
} from '../../distribution/messaging/wire-error.js';
import { fromRemoteError } from './from-remote-error.js';
import { RemoteHttpException } from './remote-http.exception.js';
import { toMappedError } from './to-mapped-error.js';

const NODE = 'b@127.0.0.1';

/** Every HttpException subclass @nestjs/common exports, built with a message. */
const httpExceptionClasses = (Object.entries(common) as [string, unknown][]).filter(
  ([, value]) => typeof value === 'function' && value.prototype instanceof HttpException,
) as [string, new (message?: string) => HttpException][];

/** Serving node maps, the wire carries, the caller rebuilds: what a rethrowing controller has. */
const acrossTheWire = (error: unknown, via: 'pipeline' | 'imperative' = 'pipeline') =>
  fromRemoteError(
    parseWireError(NODE, 'prices.get', encodeWireError(handlerFailure(toMappedError(error, via)))),
  );

describe('toMappedError (serving side)', () => {
  it('finds every HttpException subclass of @nestjs/common (a new one shows up here)', () => {
    expect(httpExceptionClasses.map(([name]) => name).sort()).toEqual([
      'BadGatewayException',
      'BadRequestException',
      'ConflictException',
      'ForbiddenException',
      'GatewayTimeoutException',
      'GoneException',
      'HttpVersionNotSupportedException',
      'ImATeapotException',
      'InternalServerErrorException',
      'MethodNotAllowedException',
      'MisdirectedException',
      'NotAcceptableException',
      'NotFoundException',
      'NotImplementedException',
      'PayloadTooLargeException',
      'PreconditionFailedException',
      'RequestTimeoutException',
      'ServiceUnavailableException',
      'UnauthorizedException',
      'UnprocessableEntityException',
      'UnsupportedMediaTypeException',
    ]);
  });

  it.each(httpExceptionClasses)(
    '%s keeps its status and response, logged at debug below 500 and at error from 500',
    (name, Exception) => {
      const error = new Exception(`${name} on purpose`);
      const status = error.getStatus();
      const mapped = toMappedError(error, 'pipeline');
      expect(mapped).toBeInstanceOf(MappedHandlerError);
      expect(mapped.error).toBe(error);
      expect(mapped.status).toBe(status);
      expect(mapped.response).toBe(error.getResponse());
      expect(mapped.log).toBe(status < 500 ? 'debug' : 'error');
      // The same through on(): Nest logs no HttpException on either path.
      expect(toMappedError(error, 'imperative').log).toBe(mapped.log);
      // Across the wire the caller gets the same status and body back.
      const remote = acrossTheWire(error);
      expect(remote).toBeInstanceOf(RemoteHttpException);
      expect((remote as RemoteHttpException).getStatus()).toBe(status);
      expect((remote as RemoteHttpException).getResponse()).toEqual(error.getResponse());
      expect(remote).toMatchObject({ remoteName: name, remoteMessage: `${name} on purpose` });
    },
  );

  it('keeps a custom status, an object body and a string body', () => {
    const custom = new HttpException({ reason: 'quota', left: 0 }, 429);
    expect(toMappedError(custom, 'pipeline')).toMatchObject({
      status: 429,
      response: { reason: 'quota', left: 0 },
      log: 'debug',
    });
    const text = new HttpException('Nope', 403);
    expect(toMappedError(text, 'pipeline')).toMatchObject({ status: 403, response: 'Nope' });
    // A string body with an errorCode goes as the body Nest would send, so the code is kept.
    const coded = new HttpException('Nope', 403, { errorCode: 'E_NOPE' });
    expect(toMappedError(coded, 'pipeline')).toMatchObject({
      status: 403,
      response: { statusCode: 403, message: 'Nope', errorCode: 'E_NOPE' },
    });
    // An HttpException built with a status outside 100-599 is an error on this node; the wire
    // drops the status, so the caller gets a plain RemoteError.
    const odd = new HttpException('odd', 999);
    expect(toMappedError(odd, 'pipeline')).toMatchObject({ status: 999, log: 'error' });
    expect(acrossTheWire(odd)).toMatchObject({ status: undefined, remoteName: 'HttpException' });
    expect(acrossTheWire(odd)).not.toBeInstanceOf(RemoteHttpException);
  });

  it("maps ValidationPipe's refusal to 400 with the pipe's messages", async () => {
    class PriceQuery {
      @IsString() sku!: string;
      @IsInt() quantity!: number;
    }
    const pipe = new ValidationPipe();
    const refusal = await pipe.transform({ sku: 7 }, { type: 'body', metatype: PriceQuery }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(BadRequestException);
    const remote = acrossTheWire(refusal) as RemoteHttpException;
    expect(remote.getStatus()).toBe(400);
    expect(remote.getResponse()).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: ['sku must be a string', 'quantity must be an integer number'],
    });
  });

  it('logs another IntrinsicException at debug, without a status', () => {
    class Quiet extends IntrinsicException {}
    for (const via of ['pipeline', 'imperative'] as const)
      expect(toMappedError(new Quiet('quiet'), via)).toMatchObject({
        log: 'debug',
        status: undefined,
        response: undefined,
      });
  });

  it('maps an RpcException to the status in its error object, else 500, with its body', () => {
    const cases: [RpcException, number, unknown][] = [
      [new RpcException('plain text'), 500, { status: 'error', message: 'plain text' }],
      [new RpcException({ message: 'no status' }), 500, { message: 'no status' }],
      [
        new RpcException({ statusCode: 409, message: 'taken' }),
        409,
        { statusCode: 409, message: 'taken' },
      ],
      [new RpcException({ status: 422, message: 'bad' }), 422, { status: 422, message: 'bad' }],
      [new RpcException({ status: 'error', message: 'x' }), 500, { status: 'error', message: 'x' }],
      [new RpcException({ statusCode: 700 }), 500, { statusCode: 700 }],
      [new RpcException({ statusCode: 404.5 }), 500, { statusCode: 404.5 }],
      [new RpcException(42 as unknown as string), 500, { status: 'error', message: 42 }],
    ];
    for (const [error, status, response] of cases) {
      expect(toMappedError(error, 'pipeline')).toMatchObject({
        error,
        status,
        response,
        log: 'debug',
      });
      // Without the pipeline nobody logged it yet.
      expect(toMappedError(error, 'imperative').log).toBe('error');
      const remote = acrossTheWire(error) as RemoteHttpException;
      expect(remote).toBeInstanceOf(RemoteHttpException);
      expect(remote.getStatus()).toBe(status);
      expect(remote.getResponse()).toEqual(response);
    }
    // A subclass is an RpcException too.
    class PriceRpcException extends RpcException {}
    expect(toMappedError(new PriceRpcException({ statusCode: 404 }), 'pipeline')).toMatchObject({
      status: 404,
    });
    // An Error that only looks like one (a getError method, another class name) is not.
    class Lookalike extends Error {
      getError() {
        return { statusCode: 404 };
      }
    }
    expect(toMappedError(new Lookalike('x'), 'pipeline')).toMatchObject({ status: undefined });
  });

  it('logs another Error at debug via the pipeline (Nest logged it) and at error via on()', () => {
    const error = new TypeError('broken');
    expect(toMappedError(error, 'pipeline')).toMatchObject({
      error,
      log: 'debug',
      status: undefined,
    });
    expect(toMappedError(error, 'imperative')).toMatchObject({
      error,
      log: 'error',
      status: undefined,
    });
    expect(acrossTheWire(error)).not.toBeInstanceOf(RemoteHttpException);
    expect(acrossTheWire(error)).toMatchObject({ remoteName: 'TypeError', status: undefined });
  });

  it('logs a thrown value that is not an Error at warn', () => {
    for (const value of ['text', 42, { reason: 'no' }, undefined, null])
      for (const via of ['pipeline', 'imperative'] as const)
        expect(toMappedError(value, via)).toMatchObject({
          error: value,
          log: 'warn',
          status: undefined,
        });
  });

  it('leaves an already mapped error as it is', () => {
    const mapped = new MappedHandlerError(new NotFoundException(), 'none', 404);
    expect(toMappedError(mapped, 'pipeline')).toBe(mapped);
    expect(toMappedError(new InternalServerErrorException(), 'pipeline').log).toBe('error');
  });
});
