import type { ParamData } from '@nestjs/common';
import type { ParamsFactory } from '@nestjs/core';
import { ClusterParamtype } from './cluster-handler.constants.js';

/**
 * Picks a handler's arguments out of `(payload, context)`, the arguments a cluster handler's
 * proxy is called with (as `@nestjs/microservices`' `RpcParamsFactory` does for RPC handlers).
 * @internal
 */
export class ClusterParamsFactory implements ParamsFactory {
  exchangeKeyForValue(type: number, data: ParamData | undefined, args: unknown[]): unknown {
    switch (type) {
      case ClusterParamtype.PAYLOAD: {
        const payload = args[0];
        if (data === undefined || data === null || data === '') return payload;
        return typeof payload === 'object' && payload !== null
          ? (payload as Record<string, unknown>)[String(data)]
          : undefined;
      }
      case ClusterParamtype.CONTEXT:
        return args[1];
      default:
        return undefined;
    }
  }
}
