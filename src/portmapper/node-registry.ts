/**
 * The names a port mapper server holds, and the creation number it gives each registration, as
 * epmd does.
 */
import { randomInt } from 'node:crypto';
import type { EpmdNameEntry, EpmdNodeInfo } from './epmd-protocol.js';

/** One registered name, and the connection whose life it lasts. */
export interface RegistryEntry<Owner> {
  /** The node as its ALIVE2_REQ declared it. */
  readonly node: EpmdNodeInfo;
  /** The connection that registered it: the name is unregistered when it closes. */
  readonly owner: Owner;
  /** The creation number given to this registration. */
  readonly creation: number;
}

/** `MAX_UNREG_COUNT` of epmd: unregistered names remembered to bump their next creation. */
const MAX_UNREGISTERED = 1_000;

/**
 * Registered names in registration order, with epmd's creation algorithm: a counter bumped per
 * registration (never below 4), and bumped again while it would repeat the previous creation of
 * the same name as the client sees it (the full 32 bits, or `creation % 3 + 1` for old clients).
 */
export class NodeRegistry<Owner> {
  private readonly entries = new Map<string, RegistryEntry<Owner>>();
  /** Name -> creation of its last registration (bounded, oldest dropped first). */
  private readonly unregistered = new Map<string, number>();
  /**
   * epmd seeds with the clock in seconds; a mapper that fails over can restart within the same
   * second, so this one seeds at random, keeping creations of successive mappers apart.
   */
  private counter = randomInt(4, 2 ** 32 - 2 ** 24);

  /** How many names are registered. */
  get size(): number {
    return this.entries.size;
  }

  /** Whether `name` is registered. */
  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The registration of `name`, if it is registered. */
  get(name: string): RegistryEntry<Owner> | undefined {
    return this.entries.get(name);
  }

  /** The registered names and ports, in registration order. */
  names(): EpmdNameEntry[] {
    return [...this.entries.values()].map(e => ({ name: e.node.name, port: e.node.port }));
  }

  /**
   * Registers `node` for as long as `owner` lives; the caller has checked that the name is free.
   * @param extended whether the client reads 32-bit creations (distribution version 6)
   * @returns the new creation number
   */
  add(node: EpmdNodeInfo, owner: Owner, extended: boolean): number {
    const creation = this.nextCreation(node.name, extended);
    this.entries.set(node.name, { node, owner, creation });
    return creation;
  }

  /**
   * Unregisters `name` when `owner` holds it (a refused duplicate's connection closing must not
   * unregister the live one), remembering its creation.
   * @returns whether it was unregistered
   */
  remove(name: string, owner: Owner): boolean {
    const entry = this.entries.get(name);
    if (entry?.owner !== owner) return false;
    this.entries.delete(name);
    this.unregistered.delete(name);
    this.unregistered.set(name, entry.creation);
    if (this.unregistered.size > MAX_UNREGISTERED)
      this.unregistered.delete(this.unregistered.keys().next().value!);
    return true;
  }

  /** Forgets every registration (the server is closing). */
  clear(): void {
    this.entries.clear();
  }

  private nextCreation(name: string, extended: boolean): number {
    const previous = this.unregistered.get(name);
    const seen = (creation: number) => (extended ? creation : (creation % 3) + 1);
    do {
      this.counter = (this.counter + 1) >>> 0;
      if (this.counter < 4) this.counter = 4;
    } while (previous !== undefined && seen(this.counter) === seen(previous));
    return this.counter;
  }
}
