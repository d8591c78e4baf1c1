/**
 * Random access to a file's bytes, so that a safetensors file can be validated and read tensor by tensor without
 * ever being whole in memory (a file descriptor under Node, a memory-mapped or cached blob elsewhere).
 */
export interface ByteReader {
  /** The file's size in bytes. Read once, when a SafetensorsFile is opened over the reader. */
  readonly byteLength: number;
  /**
   * Exactly `length` bytes from `position` (the range always lies inside [0, byteLength)), or throw. The caller may
   * keep the array and views of it (getFloat32 returns an aligned F32 tensor as a view of it), so the reader must not
   * reuse or change it later: return a new array, or a view of storage that stays unchanged while it is used.
   * A new array (`new Uint8Array(length)`) is also what makes the F32 path copy-free: it is 4-aligned.
   */
  read(position: number, length: number): Uint8Array;
}

/** A ByteReader over bytes in memory: every read is a view of them, nothing is copied. */
export function memoryReader(bytes: Uint8Array): ByteReader {
  return {
    byteLength: bytes.length,
    read(position: number, length: number): Uint8Array {
      if (!(Number.isSafeInteger(position) && Number.isSafeInteger(length) && position >= 0 && length >= 0 && position + length <= bytes.length)) {
        throw new RangeError(`read of ${length} bytes at ${position} is outside the ${bytes.length} bytes in memory`);
      }
      return bytes.subarray(position, position + length);
    },
  };
}
