/**
 * The connection cap of `serve`: at most `max` open connections, whatever clients do. Without it ~20,000
 * keep-alive sockets (asking /healthz, which needs no token) used up the process's file descriptors and
 * /metrics stopped answering while they stayed.
 *
 * A full server makes room before it refuses: a new connection closes the connection idle the longest (a
 * keep-alive socket between requests, or one that has sent nothing yet) and only when every connection is in
 * the middle of a request is the new one closed at once. So idle sockets, however many are opened, cannot lock
 * Prometheus out; a scraper's fresh connection is the newest, the last to be closed.
 */
import type { Socket } from 'node:net';

export interface ConnectionCounts {
  /** Connections open now. */
  readonly open: number;
  /** New connections closed at once because every open one was busy, since start. */
  readonly refused: number;
  /** Idle connections closed to make room for a new one, since start. */
  readonly evicted: number;
}

export class ConnectionLimiter {
  readonly #max: number;
  readonly #onFull: (counts: ConnectionCounts) => void;
  /** Requests in progress per open connection (0: idle). */
  readonly #inFlight = new Map<Socket, number>();
  /** The idle connections, longest idle first (a Map keeps insertion order). */
  readonly #idle = new Map<Socket, true>();
  #refused = 0;
  #evicted = 0;

  /** `onFull` is told each time the cap turns a connection away or closes one (to log, throttled by the caller). */
  constructor(max: number, onFull: (counts: ConnectionCounts) => void = () => undefined) {
    this.#max = max;
    this.#onFull = onFull;
  }

  get counts(): ConnectionCounts {
    return { open: this.#inFlight.size, refused: this.#refused, evicted: this.#evicted };
  }

  /** A new connection: admitted (idle until its first request), after closing the longest idle one if full. */
  admit(socket: Socket): void {
    if (this.#inFlight.size >= this.#max) {
      const oldest = this.#idle.keys().next();
      if (oldest.done === true) {
        this.#refused++;
        socket.destroy();
        this.#onFull(this.counts);
        return;
      }
      this.#evicted++;
      this.#forget(oldest.value);
      oldest.value.destroy();
      this.#onFull(this.counts);
    }
    this.#inFlight.set(socket, 0);
    this.#idle.set(socket, true);
    socket.once('close', () => this.#forget(socket));
  }

  /** A request started on the connection. */
  requestStarted(socket: Socket): void {
    const n = this.#inFlight.get(socket);
    if (n === undefined) return; // closed meanwhile
    this.#inFlight.set(socket, n + 1);
    this.#idle.delete(socket);
  }

  /** A response on the connection ended (sent or abandoned). */
  requestEnded(socket: Socket): void {
    const n = this.#inFlight.get(socket);
    if (n === undefined) return;
    this.#inFlight.set(socket, Math.max(0, n - 1));
    if (n <= 1) this.#idle.set(socket, true); // newest idle: last in line to be closed
  }

  #forget(socket: Socket): void {
    this.#inFlight.delete(socket);
    this.#idle.delete(socket);
  }
}
