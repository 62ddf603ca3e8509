/**
 * `@gen-cluster/nestjs/microservices`: a transport for `@nestjs/microservices` over the cluster
 * (existing `@MessagePattern` / `@EventPattern` controllers served by the mesh) and a
 * `ClientProxy` that calls whichever member serves a pattern. `@nestjs/microservices` is an
 * optional peer dependency: only this entry point needs it.
 */
export {};
