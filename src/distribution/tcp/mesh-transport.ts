import type { MessageTransport } from '../messaging/index.js';
import { NodeDownError } from '../transport.errors.js';
import { TransportMessages } from '../transport.messages.js';
import { CAPABILITY_HEADERS } from './handshake/index.js';
import type { Mesh } from './mesh.js';

/** The messaging transport over a mesh, plus whether a node's link takes messages with headers. */
export type MeshTransport = MessageTransport & { headers(node: string): boolean };

/**
 * Messaging's transport over the mesh `mesh()` returns (none before it exists): sends and room
 * checks go to the open link of a node, or throw `NodeDownError` naming it.
 */
export function meshTransport(mesh: () => Mesh | undefined): MeshTransport {
  // the open link to `node`, for sends and the checks before encoding alike
  const liveConnection = (node: string) => {
    const connection = mesh()?.connectionTo(node);
    if (!connection || connection.isClosed)
      throw new NodeDownError(TransportMessages.nodeDown(node), { node });
    return connection;
  };
  return {
    send: (node, parts) => liveConnection(node).enqueue(parts),
    check: (node, minBytes) => liveConnection(node).checkRoom(minBytes),
    members: () =>
      mesh()
        ?.members()
        .map(p => p.node) ?? [],
    // whether the peer announced envelope kinds 5 and 6 (messages with headers)
    headers: node => !!mesh()?.connectionTo(node)?.capabilities.has(CAPABILITY_HEADERS),
  };
}
