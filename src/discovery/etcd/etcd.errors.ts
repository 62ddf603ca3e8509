/**
 * Errors of the etcd gateway client, each with a stable `code`. Texts live in `etcd.messages.ts`.
 * The discovery turns them into `DiscoveryError`s whose `cause` is the {@link EtcdRequestError}.
 */
import { type ErrorDetails, GenClusterError } from '../../core/index.js';
import { EtcdMessages } from './etcd.messages.js';

/** Why a request to etcd failed. */
export type EtcdFailure =
  /** etcd answered with a status other than 200; `grpcCode` and `message` from its error body. */
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly grpcCode: number | undefined;
      readonly message: string;
    }
  /** No answer within the deadline. */
  | { readonly kind: 'timeout'; readonly ms: number }
  /** The connection failed (refused, reset, TLS verification). */
  | {
      readonly kind: 'network';
      readonly code: string;
      readonly message: string;
      readonly tls: boolean;
    }
  /** The answer was not what the gateway sends (bad JSON, too large, wrong shape). */
  | { readonly kind: 'protocol'; readonly message: string }
  /** Credentials refused, authentication needed, or permission denied. */
  | { readonly kind: 'auth'; readonly message: string }
  /** etcd canceled a watch for a reason other than compaction. */
  | { readonly kind: 'canceled'; readonly message: string };

/** Codes of a failed etcd request. */
export type EtcdErrorCode =
  /** etcd could not be reached, answered an error, or answered something unexpected. */
  | 'ERR_ETCD_REQUEST'
  /** etcd refused the credentials, needs some, or denied access to the prefix. */
  | 'ERR_ETCD_AUTH';

/** gRPC codes the gateway puts in its error bodies that mean "credentials". */
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAUTHENTICATED = 16;

/** A failed request to etcd; `failure` says how. */
export class EtcdRequestError extends GenClusterError {
  declare readonly code: EtcdErrorCode;
  /** How the request failed. */
  readonly failure: EtcdFailure;
  /** The gateway path asked, e.g. `/v3/kv/range`. */
  readonly path: string;
  /** The endpoint asked (`http://host:port`). */
  readonly endpoint: string;

  constructor(
    message: string,
    details: ErrorDetails & {
      readonly failure: EtcdFailure;
      readonly path: string;
      readonly endpoint: string;
    },
  ) {
    super(isAuthFailure(details.failure) ? 'ERR_ETCD_AUTH' : 'ERR_ETCD_REQUEST', message, details);
    this.failure = details.failure;
    this.path = details.path;
    this.endpoint = details.endpoint;
  }
}

/** The {@link EtcdRequestError} for `failure` of POST `path` at `endpoint`, text from the catalog. */
export function etcdRequestError(
  failure: EtcdFailure,
  path: string,
  endpoint: string,
  cause?: unknown,
): EtcdRequestError {
  return new EtcdRequestError(EtcdMessages.requestFailed(failure, path, endpoint), {
    failure,
    path,
    endpoint,
    cause,
  });
}

function isAuthFailure(failure: EtcdFailure): boolean {
  if (failure.kind === 'auth') return true;
  if (failure.kind === 'canceled')
    return /permission denied|invalid auth token|user name is empty/i.test(failure.message);
  return (
    failure.kind === 'status' &&
    (failure.status === 401 ||
      failure.status === 403 ||
      failure.grpcCode === GRPC_UNAUTHENTICATED ||
      failure.grpcCode === GRPC_PERMISSION_DENIED)
  );
}

/** Whether etcd said the auth token is no longer valid (expired, or issued by another member). */
export function isInvalidToken(error: unknown): boolean {
  if (!(error instanceof EtcdRequestError)) return false;
  const f = error.failure;
  if (f.kind === 'status') return f.status === 401 || f.grpcCode === GRPC_UNAUTHENTICATED;
  return f.kind === 'canceled' && /invalid auth token/i.test(f.message);
}

/** Whether etcd said the lease does not exist (expired or revoked). */
export function isLeaseNotFound(error: unknown): boolean {
  return (
    error instanceof EtcdRequestError &&
    error.failure.kind === 'status' &&
    /requested lease not found/i.test(error.failure.message)
  );
}
