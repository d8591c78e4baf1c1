/**
 * safetensors reading and writing (huggingface/safetensors format): a validating reader (zero-copy over bytes in
 * memory, or tensor by tensor through a ByteReader), a writer of the canonical layout, and the half-precision
 * conversions the engine needs to use F16/BF16 checkpoints.
 */
export { type ByteReader, memoryReader } from "./byte-reader.js";
export { type Dtype, DTYPE_SIZE, DTYPES } from "./dtype.js";
export { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from "./float.js";
export {
  MAX_HEADER_SIZE,
  parseHeader,
  type ParseOptions,
  readHeaderLength,
  SafetensorsFile,
  type SafetensorsHeader,
  type TensorInfo,
} from "./reader.js";
export { type WriteTensor, writeSafetensors } from "./writer.js";
