/**
 * The leadership layer's public names (its shapes are in leadership.types.ts, exported beside).
 */
export { Leadership } from './leadership.js';
export {
  LEADERSHIP_DEFAULTS,
  type LeadershipDeps,
  MAX_SINGLETON_NAME_LENGTH,
} from './leadership-options.js';
export { SingletonExistsError, type SingletonExistsDetails } from './leadership.errors.js';
export { LeadershipMessages } from './leadership.messages.js';
export { type LeaderCandidate, leaderOf } from './leader-rule.js';
