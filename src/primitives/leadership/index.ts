/**
 * The leadership layer's public names (its shapes are in leadership.types.ts, exported beside).
 */
export {
  LEADERSHIP_DEFAULTS,
  Leadership,
  type LeadershipDeps,
  MAX_SINGLETON_NAME_LENGTH,
} from './leadership.js';
export { SingletonExistsError, type SingletonExistsDetails } from './leadership.errors.js';
export { LeadershipMessages } from './leadership.messages.js';
export { type LeaderCandidate, leaderOf } from './leader-rule.js';
