/**
 * User-facing texts of the primitives layer (error messages and log lines), kept in one place.
 */
export const PrimitivesMessages = {
  noServer: (topic: string, tried: readonly string[]) =>
    `No connected node serves topic ${JSON.stringify(topic)}${tried.length > 0 ? ` (tried: ${tried.join(', ')})` : ''}. Nodes announce their topics when they connect; wait for them with waitForServers().`,
} as const;
