import {
  BadRequestException,
  Controller,
  Get,
  HttpException,
  type INestApplication,
  ImATeapotException,
  InternalServerErrorException,
  Module,
  NotFoundException,
  Param,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { isRemoteError } from '../../distribution/messaging/is-remote-error.js';
import { MappedHandlerError } from '../../distribution/messaging/mapped-handler-error.js';
import { RemoteError } from '../../distribution/messaging/messaging.errors.js';
import {
  encodeWireError,
  handlerFailure,
  parseWireError,
} from '../../distribution/messaging/wire-error.js';
import { fromRemoteError } from './from-remote-error.js';
import { RemoteHttpException } from './remote-http.exception.js';
import { toMappedError } from './to-mapped-error.js';

const SERVING = 'prices-b@127.0.0.1';
const TOPIC = 'prices.get';

/** The exceptions a remote handler throws, by case name; each built fresh. */
const thrown: Record<string, () => unknown> = {
  'not-found': () => new NotFoundException('Price "missing" not found'),
  validation: () =>
    new BadRequestException(['sku must be a string', 'quantity must be an integer']),
  text: () => new HttpException('Nope', 403),
  coded: () => new HttpException('Nope', 403, { errorCode: 'E_NOPE' }),
  teapot: () => new ImATeapotException(),
  'server-error': () => new InternalServerErrorException('database down'),
  custom: () => new HttpException({ reason: 'quota', retryAfterS: 30 }, 429),
  bug: () => new TypeError('undefined is not a function'),
};

/**
 * What the calling node's ClusterService throws for a remote handler's exception: the serving
 * node maps it, its wire body crosses, and the caller parses and maps it back.
 */
function remoteFailure(error: unknown): unknown {
  const body = encodeWireError(handlerFailure(toMappedError(error, 'pipeline')));
  return fromRemoteError(parseWireError(SERVING, TOPIC, body));
}

@Controller()
class PricesController {
  @Get('local/:case')
  local(@Param('case') name: string): never {
    throw thrown[name]!();
  }

  @Get('remote/:case')
  remote(@Param('case') name: string): never {
    throw remoteFailure(thrown[name]!());
  }

  /** What a node from before status and response sends for the same NotFoundException. */
  @Get('old-node/not-found')
  oldNode(): never {
    const body = Buffer.from(
      JSON.stringify({
        code: 'ERR_REMOTE_HANDLER',
        name: 'NotFoundException',
        message: 'Price "missing" not found',
      }),
    );
    throw fromRemoteError(parseWireError(SERVING, TOPIC, body));
  }
}

@Module({ controllers: [PricesController] })
class PricesModule {}

describe('RemoteHttpException', () => {
  describe('rethrown from a real HTTP controller', () => {
    let app: INestApplication;
    let base = '';

    beforeAll(async () => {
      app = await NestFactory.create(PricesModule, { logger: false, abortOnError: false });
      await app.listen(0, '127.0.0.1');
      const { port } = app.getHttpServer().address() as AddressInfo;
      base = `http://127.0.0.1:${port}`;
    });
    afterAll(() => app.close());

    const get = async (path: string) => {
      const response = await fetch(`${base}${path}`);
      return {
        status: response.status,
        type: response.headers.get('content-type'),
        body: (await response.json()) as unknown,
      };
    };

    it('answers a remote NotFoundException with the 404 and body of a local throw', async () => {
      const local = await get('/local/not-found');
      const remote = await get('/remote/not-found');
      expect(local).toEqual({
        status: 404,
        type: 'application/json; charset=utf-8',
        body: { statusCode: 404, message: 'Price "missing" not found', error: 'Not Found' },
      });
      expect(remote).toEqual(local);
    });

    it.each(Object.keys(thrown).filter(name => name !== 'not-found'))(
      'answers "%s" with the same status and body as a local throw',
      async name => {
        const local = await get(`/local/${name}`);
        expect(await get(`/remote/${name}`)).toEqual(local);
      },
    );

    it('answers 500, as before, for an older node that sends no status', async () => {
      expect(await get('/old-node/not-found')).toEqual({
        status: 500,
        type: 'application/json; charset=utf-8',
        body: { statusCode: 500, message: 'Internal server error' },
      });
    });
  });

  it('carries the remote fields, the RemoteError as cause, and this node’s stack only', () => {
    const remote = remoteFailure(
      Object.assign(new NotFoundException('Price "missing" not found'), { code: 'E_PRICE' }),
    ) as RemoteHttpException;
    expect(remote).toBeInstanceOf(RemoteHttpException);
    expect(remote).toBeInstanceOf(HttpException);
    expect(remote).not.toBeInstanceOf(RemoteError);
    expect(isRemoteError(remote)).toBe(true);
    expect(remote).toMatchObject({
      name: 'RemoteHttpException',
      code: 'ERR_REMOTE_HANDLER',
      node: SERVING,
      topic: TOPIC,
      remoteName: 'NotFoundException',
      remoteMessage: 'Price "missing" not found',
      remoteCode: 'E_PRICE',
    });
    expect(remote.getStatus()).toBe(404);
    expect(remote.cause).toBeInstanceOf(RemoteError);
    expect(remote.message).toBe((remote.cause as RemoteError).message);
    expect(remote.message).toContain(SERVING);
    expect(remote.message).toContain('NotFoundException');
    expect(remote.stack).not.toContain('to-mapped-error');
  });

  it('answers { statusCode, message } when no response crossed, and 500 without a status', () => {
    const bare = parseWireError(
      SERVING,
      TOPIC,
      encodeWireError(handlerFailure(new MappedHandlerError(new Error('gone'), 'debug', 410))),
    );
    const exception = new RemoteHttpException(bare);
    expect(exception.getStatus()).toBe(410);
    expect(exception.getResponse()).toEqual({ statusCode: 410, message: 'gone' });
    const plain = parseWireError(SERVING, TOPIC, encodeWireError(handlerFailure(new Error('x'))));
    expect(new RemoteHttpException(plain).getStatus()).toBe(500);
    expect(new RemoteHttpException(plain).getResponse()).toEqual({ statusCode: 500, message: 'x' });
  });

  it('fromRemoteError maps only a RemoteError with a status', () => {
    const plain = parseWireError(SERVING, TOPIC, encodeWireError(handlerFailure(new Error('x'))));
    expect(fromRemoteError(plain)).toBe(plain);
    const noHandler = parseWireError(
      SERVING,
      TOPIC,
      Buffer.from(JSON.stringify({ code: 'ERR_NO_HANDLER', status: 404 })),
    );
    expect(fromRemoteError(noHandler)).toBe(noHandler);
    for (const other of [new TypeError('x'), new NotFoundException(), 'text', undefined])
      expect(fromRemoteError(other)).toBe(other);
  });
});
