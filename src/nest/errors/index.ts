export { fromRemoteError } from './from-remote-error.js';
export { RemoteHttpException } from './remote-http.exception.js';
export { type HandlerPath, toMappedError } from './to-mapped-error.js';
