/**
 * Several workers write their access logs to one inherited stdout. A write(2) of at most PIPE_BUF
 * bytes (4096 on Linux) to a pipe is atomic (POSIX write(2)), so lines of different workers never
 * mix as long as each write holds whole lines and stays within it. This output cuts a batch of
 * lines into such writes; a single line longer than PIPE_BUF goes alone (it could be interleaved,
 * which an access line, with its path cut at the query, does not reach in practice).
 */
export const PIPE_BUF = 4096;

export class LineOutput {
  readonly #out: { write(chunk: string): unknown };

  constructor(out: { write(chunk: string): unknown }) {
    this.#out = out;
  }

  write(chunk: string): void {
    if (Buffer.byteLength(chunk) <= PIPE_BUF) {
      this.#out.write(chunk);
      return;
    }
    let start = 0;
    let piece = '';
    let size = 0;
    while (start < chunk.length) {
      const end = chunk.indexOf('\n', start);
      const line = end === -1 ? chunk.slice(start) : chunk.slice(start, end + 1);
      start += line.length;
      const bytes = Buffer.byteLength(line);
      if (size + bytes > PIPE_BUF && piece !== '') {
        this.#out.write(piece);
        piece = '';
        size = 0;
      }
      piece += line;
      size += bytes;
    }
    if (piece !== '') this.#out.write(piece);
  }
}
