import { describeLargeMessageFlood } from '../support/large-message-flood.js';

// 20 × 32 MiB here; the full 100 × 32 MiB runs in test/soak/large-messages.soak-spec.ts.
describeLargeMessageFlood(20, ['127.0.0.31', '127.0.0.32', '127.0.0.33']);
