/**
 * Multicast gossip under a spoofing flood (issue 17: "a spoofing test sends thousands of packets
 * per second with random names and bad MACs: zero dials, bounded memory"). Three gossip nodes on
 * a bridged LAN of network namespaces and a flooder host; what each phase floods and asserts is in
 * test/support/gossip-spoofing-harness.ts. Short floods here; test/soak has the minute-long ones.
 *
 * Runs the built library (`npm run build` first). Needs root, iproute2 and iptables.
 */
import { SpoofingLan } from '../support/gossip-spoofing-harness.js';

describe('gossip under a spoofing flood', () => {
  let lan: SpoofingLan | undefined;

  beforeAll(async () => {
    lan = await SpoofingLan.start({
      badMacPps: 3_000,
      replayPps: 500,
      forgerySeconds: 2,
      validNames: 5_000,
      validPps: 2_500,
      validSeconds: 2,
    });
  }, 45_000);

  afterAll(() => lan?.stop());

  it(
    'refuses 3,000+ pps of bad MACs and replays: nothing discovered or dialled, heap bounded',
    () => lan!.forgeries(),
    30_000,
  );

  it(
    'keeps 5,000 authentic random names within maxCandidates; dials bounded by connect limits',
    () => lan!.authentic(),
    30_000,
  );
});
