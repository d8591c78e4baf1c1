/**
 * A trie over the UTF-16 units of every vocabulary token.
 *
 * Greedy longest-match WordPiece walks the word once per piece instead of building and hashing every candidate
 * substring (what the reference implementations do), and the walk allocates nothing.
 *
 * Layout: children of each node sit contiguously, sorted by unit (CSR), so a lookup scans a few adjacent entries
 * instead of chasing a hash table that does not fit in cache. The root and the continuation node ("##") have
 * thousands of children and are visited at the start of every piece, so they get a direct 64K-entry table each.
 */
export class VocabTrie {
  /** Token id ending at each node, or -1. */
  readonly term: Int32Array;
  /** Children of node k are entries childStart[k] .. childStart[k + 1] - 1 of childUnit / childNode. */
  readonly childStart: Int32Array;
  readonly childUnit: Uint16Array;
  readonly childNode: Int32Array;
  readonly rootTable: Int32Array;
  /** Node reached by the continuing-subword prefix, or -1 when no token starts with it. */
  readonly continuationNode: number;
  readonly continuationTable: Int32Array;

  constructor(vocab: ReadonlyMap<string, number>, continuingPrefix: string) {
    // Sorted by UTF-16 units, each token shares a prefix path with the previous one, and the trie can be built
    // without any lookups; children are then created in increasing unit order, which the CSR layout needs.
    const tokens = [...vocab.keys()].sort();
    let totalUnits = 0;
    for (const t of tokens) totalUnits += t.length;
    const edgeParent = new Int32Array(totalUnits);
    const edgeUnit = new Uint16Array(totalUnits);
    this.term = new Int32Array(totalUnits + 1).fill(-1);
    let nodes = 1;
    const path: number[] = [0];
    let previous = "";
    for (const token of tokens) {
      let common = 0;
      const limit = Math.min(previous.length, token.length);
      while (common < limit && previous.charCodeAt(common) === token.charCodeAt(common)) common++;
      for (let d = common; d < token.length; d++) {
        // Node ids are assigned in creation order, so edge k leads to node k + 1.
        edgeParent[nodes - 1] = path[d];
        edgeUnit[nodes - 1] = token.charCodeAt(d);
        path[d + 1] = nodes++;
      }
      this.term[path[token.length]] = vocab.get(token)!;
      previous = token;
    }
    const edges = nodes - 1;
    this.childStart = new Int32Array(nodes + 1);
    for (let e = 0; e < edges; e++) this.childStart[edgeParent[e] + 1]++;
    for (let k = 0; k < nodes; k++) this.childStart[k + 1] += this.childStart[k];
    this.childUnit = new Uint16Array(edges);
    this.childNode = new Int32Array(edges);
    const fill = this.childStart.slice(0, nodes);
    for (let e = 0; e < edges; e++) {
      const at = fill[edgeParent[e]]++;
      this.childUnit[at] = edgeUnit[e];
      this.childNode[at] = e + 1;
    }
    this.rootTable = this.directTable(0);
    let node = 0;
    for (let i = 0; i < continuingPrefix.length && node >= 0; i++) node = this.child(node, continuingPrefix.charCodeAt(i));
    this.continuationNode = node;
    this.continuationTable = node >= 0 ? this.directTable(node) : new Int32Array(0x10000).fill(-1);
  }

  private directTable(node: number): Int32Array {
    const table = new Int32Array(0x10000).fill(-1);
    for (let e = this.childStart[node]; e < this.childStart[node + 1]; e++) table[this.childUnit[e]] = this.childNode[e];
    return table;
  }

  /** Child of `node` along `unit`, or -1. */
  child(node: number, unit: number): number {
    let lo = this.childStart[node];
    let hi = this.childStart[node + 1];
    const units = this.childUnit;
    while (hi - lo > 8) {
      const mid = (lo + hi) >> 1;
      const u = units[mid];
      if (u === unit) return this.childNode[mid];
      if (u < unit) lo = mid + 1;
      else hi = mid;
    }
    for (; lo < hi; lo++) {
      const u = units[lo];
      if (u === unit) return this.childNode[lo];
      if (u > unit) return -1;
    }
    return -1;
  }
}
