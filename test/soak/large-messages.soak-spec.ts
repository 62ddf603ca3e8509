import { describeLargeMessageFlood } from '../support/large-message-flood.js';

// The full flood of scenario 10: 100 × 32 MiB (3.2 GiB); `npm test` runs 20 of them.
describeLargeMessageFlood(100, ['127.0.0.35', '127.0.0.36', '127.0.0.37']);
