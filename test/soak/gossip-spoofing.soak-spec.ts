/**
 * The gossip spoofing test of test/e2e/gossip-spoofing.e2e-spec.ts, a minute per phase: bad MACs
 * and replays at 3,500 packets per second for `GOSSIP_FLOOD_SECONDS` (60), then a key holder's
 * random names at 2,500 per second for as long. Same assertions (nothing spoofed discovered or
 * dialled, the table within maxCandidates, dials within the connect limits, the heap after full
 * collections within 16 MiB of where it started), now over a flood long enough for a leak to show.
 */
import { SpoofingLan } from '../support/gossip-spoofing-harness.js';

const SECONDS = Number(process.env.GOSSIP_FLOOD_SECONDS ?? 60);
const PHASE_TIMEOUT_MS = (SECONDS + 40) * 1_000;

describe('gossip under a minute-long spoofing flood', () => {
  let lan: SpoofingLan | undefined;

  beforeAll(async () => {
    lan = await SpoofingLan.start({
      badMacPps: 3_000,
      replayPps: 500,
      forgerySeconds: SECONDS,
      validNames: 5_000,
      validPps: 2_500,
      validSeconds: SECONDS,
    });
  }, 60_000);

  afterAll(() => lan?.stop());

  it(
    'refuses bad MACs and replays for a minute: nothing discovered or dialled, heap bounded',
    () => lan!.forgeries(),
    PHASE_TIMEOUT_MS,
  );

  it(
    'keeps a minute of authentic random names within maxCandidates and the connect limits',
    () => lan!.authentic(),
    PHASE_TIMEOUT_MS,
  );
});
