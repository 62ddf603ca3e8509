import {
  type HttpException,
  type INestApplication,
  Injectable,
  Module,
  UsePipes,
  ValidationPipe,
} from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { IsString, MaxLength } from 'class-validator';
import { defineTopic } from '../distribution/index.js';
import { GenClusterTestingModule, InMemoryNetwork } from '../testing/index.js';
import { ClusterService } from './cluster.service.js';
import { RemoteHttpException } from './errors/index.js';
import { ClusterHandler } from './handlers/cluster-handler.decorators.js';
import { Payload } from './handlers/cluster-params.decorators.js';

/**
 * The typed decorators change only what compiles (test/types/ checks that): the metadata that
 * `emitDecoratorMetadata` records for the method stays the method's own, so `ValidationPipe` still
 * finds the DTO class of a handler declared with a typed topic.
 */
interface GetPrice {
  readonly sku: string;
}
interface Price {
  readonly sku: string;
  readonly cents: number;
}
const PricesGet = defineTopic<GetPrice, Price>('prices.get');

class GetPriceDto {
  @IsString()
  @MaxLength(8)
  sku!: string;
}

@Injectable()
class Prices {
  @ClusterHandler(PricesGet)
  @UsePipes(new ValidationPipe())
  get(@Payload() query: GetPriceDto): Price {
    return { sku: query.sku, cents: 1 };
  }
}

@Module({ providers: [Prices] })
class PricesModule {}

async function testNode(network: InMemoryNetwork, node: string): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({
    imports: [GenClusterTestingModule.forRoot({ network, node }), PricesModule],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('typed handler decorators', () => {
  let apps: INestApplication[] = [];

  afterEach(async () => {
    await Promise.all(apps.map(app => app.close()));
    apps = [];
  });

  it("keep the design metadata: ValidationPipe validates the DTO of a typed topic's handler", async () => {
    expect(Reflect.getMetadata('design:paramtypes', Prices.prototype, 'get')).toEqual([
      GetPriceDto,
    ]);
    const network = new InMemoryNetwork();
    apps = await Promise.all(['a@test', 'b@test'].map(node => testNode(network, node)));
    const a = apps[0]!.get(ClusterService);
    await a.waitForMembers(1, { timeoutMs: 5_000 });
    await expect(a.request('b@test', PricesGet, { sku: 'ok-1' })).resolves.toEqual({
      sku: 'ok-1',
      cents: 1,
    });
    // ValidationPipe validates only when it finds a class in the parameter's metadata
    const refused = await a.request('b@test', PricesGet, { sku: 'much-too-long' }).then(
      () => undefined,
      (error: unknown) => error as HttpException,
    );
    expect(refused).toBeInstanceOf(RemoteHttpException);
    expect(refused?.getStatus()).toBe(400);
    expect(refused?.getResponse()).toMatchObject({
      message: ['sku must be shorter than or equal to 8 characters'],
    });
  });
});
