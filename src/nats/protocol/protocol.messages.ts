import { describeValue } from '../../core/index.js';

/**
 * User-facing texts of the NATS wire protocol (subjects, codecs), kept in one place so they can be
 * found and improved.
 */
export const ProtocolMessages = {
  badSubjectPrefix: (value: unknown) =>
    `Invalid NATS option "subjectPrefix": ${describeValue(value)} is not a NATS subject prefix. It accepts 1 to 64 characters of dot-separated tokens of letters, digits, "_" and "-" (e.g. "gc" or "acme.gc").`,
  badIncarnation: (field: string, value: unknown) =>
    `NATS protocol: ${field} ${describeValue(value)} is not an incarnation (16 lowercase hex characters, newIncarnation()).`,
  unencodable: (field: string, value: unknown, accepted: string) =>
    `NATS protocol cannot encode ${field} ${describeValue(value)}: it accepts ${accepted}.`,
} as const;
