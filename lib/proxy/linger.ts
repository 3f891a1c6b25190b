/**
 * Answers given before the client finished sending its request body (a target that answered
 * early, or a proxy error): the connection cannot carry another request, since the rest of the
 * body would have to be read first and may be long or endless, so the answer says
 * `Connection: close`. Closing at once is no better: the client's next segments would meet a
 * closed socket, and the reset its TCP stack then gets "might erase the client's unacknowledged
 * input buffers" before the answer was read (RFC 9112 9.6, the reason for nginx's
 * `lingering_close`). So, as 9.6 says, close in stages: once the answer is out, half-close, read
 * and drop what still comes for a bounded time and number of bytes, then close.
 */
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';

/** Longest linger after the answer was written (nginx: lingering_timeout 5 s between reads, lingering_time 30 s in all). */
export const LINGER_TIME_MS = 5_000;
/** Bytes read and dropped while lingering; a client sending faster is cut off. */
export const LINGER_BYTES = 1024 * 1024;

const kRequest = Symbol('proxy-breaker.linger');
type LingeringSocket = Socket & { [kRequest]?: IncomingMessage };

/**
 * Marks `req`'s response to close its connection, with a linger if the body is still
 * incomplete when the response is out. Call before the response head is written.
 */
export function closeAfterResponse(req: IncomingMessage, res: { shouldKeepAlive: boolean }): void {
  res.shouldKeepAlive = false;
  const socket = req.socket as LingeringSocket;
  if (!(socket instanceof Socket) || socket[kRequest] !== undefined) return;
  socket[kRequest] = req;
  // Node closes a connection whose response said `close` with destroySoon() once the response is
  // written; for this socket only, that close lingers first.
  socket.destroySoon = lingeringClose;
}

function lingeringClose(this: LingeringSocket): void {
  const req = this[kRequest]!;
  if (req.complete || this.destroyed) return Socket.prototype.destroySoon.call(this);
  this.end();
  const socket = this;
  let budget = LINGER_BYTES;
  const timer = setTimeout(destroy, LINGER_TIME_MS, this);
  timer.unref();
  // A rare path (an answer before the body): closures here cost nothing that matters.
  req.on('data', (chunk: Buffer) => {
    budget -= chunk.length;
    if (budget < 0) socket.destroy();
  });
  req.on('end', () => socket.destroy());
  this.once('end', () => socket.destroy());
  this.once('close', () => clearTimeout(timer));
  req.resume();
}

function destroy(socket: Socket): void {
  socket.destroy();
}
