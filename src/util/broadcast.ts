/**
 * A one-word message to every process of the deployment (this one included): "cancel run X",
 * "token Y is revoked". Fire and forget: the receivers keep a slower fallback of their own (the
 * heartbeat's cancel flag, the token re-check), so a message lost while Redis is away only delays.
 */
export interface Broadcast {
  send(id: string): void
  /** Calls `listener` with every id sent from now on; returns the function that stops listening. */
  listen(listener: (id: string) => void): () => void
}
