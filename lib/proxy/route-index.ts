/**
 * Longest path prefix, on whole segments, at a cost that depends on the request path and not on
 * how many prefixes there are.
 *
 * The prefixes are those `parseMatch` produces: `''` (the root) or `/a/b` (a leading slash, no
 * empty segment, no trailing slash). A prefix `/a/b` matches a path that is `/a/b` or starts with
 * `/a/b/` (`matchesPrefix`). So the candidates for a path are its own leading parts that end
 * before a `/` or at its end; the lookup walks the path once, hashing it as it goes, and at each
 * such boundary looks the hash up in an open hash table. Hashing the characters in place, rather
 * than slicing the path into segments to key a `Map` with, keeps the hot path free of allocation.
 */

interface Entry<T> {
  readonly prefix: string;
  readonly value: T;
  /** The next entry in the same bucket. */
  readonly next: Entry<T> | undefined;
}

// FNV-1a, 32 bits: cheap per character and spreads short, similar prefixes (/svc1, /svc2) well.
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
const SLASH = 47;

function hashOf(text: string): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), FNV_PRIME);
  return hash;
}

export class PrefixIndex<T> {
  /** The value of the root prefix `''`, which matches every path. */
  readonly #root: T | undefined;
  readonly #buckets: (Entry<T> | undefined)[];
  readonly #mask: number;
  /** Length of the longest prefix: the walk never looks further into a path. */
  readonly #longest: number;

  /**
   * `entries` in order of preference: when two have the same prefix, the first is kept, as a scan
   * of the same list would find it first.
   */
  constructor(entries: Iterable<{ prefix: string; value: T }>) {
    let root: T | undefined;
    let hasRoot = false;
    const rest: { prefix: string; value: T }[] = [];
    for (const entry of entries) {
      if (entry.prefix !== '') rest.push(entry);
      else if (!hasRoot) {
        root = entry.value;
        hasRoot = true;
      }
    }
    let size = 2;
    while (size < rest.length * 2) size *= 2;
    const buckets = new Array<Entry<T> | undefined>(size).fill(undefined);
    let longest = 0;
    // Filled from the end so that a bucket's chain keeps the entries in their given order.
    for (let i = rest.length - 1; i >= 0; i--) {
      const { prefix, value } = rest[i]!;
      const slot = hashOf(prefix) & (size - 1);
      buckets[slot] = { prefix, value, next: buckets[slot] };
      longest = Math.max(longest, prefix.length);
    }
    this.#root = root;
    this.#buckets = buckets;
    this.#mask = size - 1;
    this.#longest = longest;
  }

  /** The value of the longest prefix that `path` is, or starts with followed by `/`. */
  match(path: string): T | undefined {
    let found = this.#root;
    const longest = this.#longest;
    if (longest === 0) return found;
    const whole = path.length <= longest;
    const end = whole ? path.length : longest + 1;
    let hash = FNV_OFFSET;
    for (let i = 0; i < end; i++) {
      const code = path.charCodeAt(i);
      // Here `hash` covers path[0, i): a candidate when the next character starts a segment.
      if (code === SLASH && i > 0) found = this.#find(hash, path, i) ?? found;
      hash = Math.imul(hash ^ code, FNV_PRIME);
    }
    if (whole && path.length > 0) found = this.#find(hash, path, path.length) ?? found;
    return found;
  }

  /** The entry whose prefix is path[0, length), given that part's hash. */
  #find(hash: number, path: string, length: number): T | undefined {
    for (let entry = this.#buckets[hash & this.#mask]; entry !== undefined; entry = entry.next) {
      if (entry.prefix.length === length && path.startsWith(entry.prefix)) return entry.value;
    }
    return undefined;
  }
}
