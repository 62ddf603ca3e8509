/**
 * Errors of the Kubernetes API client, each with a stable `code` (see {@link GenClusterError}).
 * Texts live in `kubernetes.messages.ts`. The discovery turns them into `DiscoveryError`s whose
 * `cause` is the {@link KubeRequestError}.
 */
import { type ErrorDetails, GenClusterError } from '../../core/index.js';
import { KubernetesMessages } from './kubernetes.messages.js';
import type { KubeStatus } from './endpoint-slice.js';

/** Why a request failed. */
export type KubeFailure =
  /** The server answered with a status other than 200 (after a retry with a re-read token for 401). */
  | {
      readonly kind: 'status';
      readonly status: number;
      readonly body: KubeStatus | undefined;
      readonly text: string;
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
  /** The token file could not be read. */
  | { readonly kind: 'token'; readonly file: string; readonly message: string }
  /** The answer was not what the API sends (bad JSON, too large). */
  | { readonly kind: 'protocol'; readonly message: string };

/** Codes of a failed Kubernetes API request, one per kind of {@link KubeFailure}. */
export type KubernetesErrorCode =
  /** The API server answered with a status other than 200. */
  | 'ERR_KUBE_STATUS'
  /** No answer within the deadline. */
  | 'ERR_KUBE_TIMEOUT'
  /** The connection failed (refused, reset, TLS verification). */
  | 'ERR_KUBE_NETWORK'
  /** The service account token could not be read. */
  | 'ERR_KUBE_TOKEN'
  /** The answer was not what the API sends. */
  | 'ERR_KUBE_PROTOCOL';

const CODES: Readonly<Record<KubeFailure['kind'], KubernetesErrorCode>> = {
  status: 'ERR_KUBE_STATUS',
  timeout: 'ERR_KUBE_TIMEOUT',
  network: 'ERR_KUBE_NETWORK',
  token: 'ERR_KUBE_TOKEN',
  protocol: 'ERR_KUBE_PROTOCOL',
};

/** A failed API request; `failure` says how, and `code` follows from its kind. */
export class KubeRequestError extends GenClusterError {
  declare readonly code: KubernetesErrorCode;
  /** How the request failed. */
  readonly failure: KubeFailure;
  /** The path asked (below the API server URL), or `(token)` / `(watch)`. */
  readonly path: string;

  constructor(
    message: string,
    details: ErrorDetails & { readonly failure: KubeFailure; readonly path: string },
  ) {
    super(CODES[details.failure.kind], message, details);
    this.failure = details.failure;
    this.path = details.path;
  }
}

/** The {@link KubeRequestError} for `failure` on GET `path`, its text from the catalog. */
export function kubeRequestError(
  failure: KubeFailure,
  path: string,
  cause?: unknown,
): KubeRequestError {
  return new KubeRequestError(KubernetesMessages.requestFailed(failure, path), {
    failure,
    path,
    cause,
  });
}
