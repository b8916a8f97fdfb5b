/**
 * Streaming, band-limited sample-rate conversion for PCM16 mono, backed by speexdsp's resampler
 * compiled to WebAssembly (`@echogarden/speex-resampler-wasm`). Measured on this machine at about
 * -100 dB imaging/aliasing for 8k<->16k and ~30 ms CPU per minute of audio both ways, an order of
 * magnitude cheaper than libsamplerate-js (README, "Decisions and versions"); the package ships only the raw
 * emscripten API, so this file is the thin typed wrapper around it.
 *
 * One WASM instance serves the whole process (loaded once, at import); each Resampler owns its
 * filter state in the WASM heap and must be destroyed when its call ends. The input and output
 * scratch buffers are shared by all resamplers (see `scratch`).
 */
import createSpeexModule from "@echogarden/speex-resampler-wasm/simd";

interface SpeexModule {
  HEAPU8: Uint8Array;
  HEAPU32: Uint32Array;
  HEAP32: Int32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _speex_resampler_init(
    channels: number,
    inRate: number,
    outRate: number,
    quality: number,
    errPtr: number,
  ): number;
  _speex_resampler_destroy(state: number): void;
  _speex_resampler_process_int(
    state: number,
    channel: number,
    inPtr: number,
    inLenPtr: number,
    outPtr: number,
    outLenPtr: number,
  ): number;
  _speex_resampler_get_input_latency(state: number): number;
  _speex_resampler_strerror(err: number): number;
}

const speex = (await createSpeexModule()) as SpeexModule;

/** Input samples handed to speex per call; larger chunks are processed in slices. */
const SLICE_SAMPLES = 4096;

export const DEFAULT_RESAMPLER_QUALITY = 3;

/**
 * Input and output buffers in the WASM heap, shared by every Resampler: processing is synchronous
 * and WASM is single-threaded, so no two resamplers ever use them at the same time. Per-resampler
 * buffers were ~36 KB of heap per call (two resamplers, 8 KB in + up to 16 KB out each), most of
 * the resampling path's memory per call; the filter states left per call are a few KB. The output
 * buffer grows to the largest ratio seen; WASM memory never shrinks, so it stays allocated.
 */
const scratch = {
  inPtr: speex._malloc(SLICE_SAMPLES * 2),
  outPtr: 0,
  outCapacity: 0,
  /** Three uint32 cells: [inLen, outLen] (in/out parameters of process_int), then init's error. */
  lenPtr: speex._malloc(12),
};

function outputFor(samples: number): number {
  if (scratch.outCapacity < samples) {
    if (scratch.outPtr !== 0) speex._free(scratch.outPtr);
    scratch.outPtr = speex._malloc(samples * 2);
    scratch.outCapacity = samples;
  }
  return scratch.outPtr;
}

let live = 0;
/** Resamplers not yet destroyed, process-wide (leak checks read this). */
export function liveResamplers(): number {
  return live;
}

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  private state: number;
  /** Output samples one input slice can produce at this ratio (plus margin). */
  private readonly outCapacity: number;

  constructor(inRate: number, outRate: number, quality: number = DEFAULT_RESAMPLER_QUALITY) {
    if (!Number.isInteger(inRate) || !Number.isInteger(outRate) || inRate <= 0 || outRate <= 0) {
      throw new RangeError(`invalid resampler rates ${inRate} -> ${outRate}`);
    }
    if (!Number.isInteger(quality) || quality < 0 || quality > 10) {
      throw new RangeError(`resampler quality must be an integer 0..10, got ${quality}`);
    }
    this.inRate = inRate;
    this.outRate = outRate;
    this.outCapacity = Math.ceil((SLICE_SAMPLES * outRate) / inRate) + 64;
    const errPtr = scratch.lenPtr + 8;
    this.state = speex._speex_resampler_init(1, inRate, outRate, quality, errPtr);
    if (this.state === 0) throw new Error(`speex_resampler_init failed (${speex.HEAP32[errPtr >> 2]})`);
    outputFor(this.outCapacity);
    live++;
  }

  /** Resamples whole PCM16 LE samples (even byte length); keeps filter state for the next chunk. */
  process(pcm: Buffer): Buffer {
    const parts: Buffer[] = [];
    this.processInto(pcm, (out) => parts.push(Buffer.from(out)));
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  /**
   * Like process(), without copying the output out of the WASM heap: `sink` gets views of it, valid
   * only during the call (consume them at once: copy into a framer, encode to base64).
   */
  processInto(pcm: Buffer, sink: (out: Buffer) => void): void {
    if (this.state === 0) throw new Error("resampler used after destroy()");
    const totalIn = pcm.length >> 1;
    let offset = 0;
    while (offset < totalIn) {
      const produced = this.run(pcm, offset, Math.min(SLICE_SAMPLES, totalIn - offset));
      if (produced > 0) sink(Buffer.from(speex.HEAPU8.buffer, scratch.outPtr, produced * 2));
      offset += this.consumed;
    }
  }

  /** Input samples the last run() consumed. */
  private consumed = 0;

  /** Resamples `n` samples of `pcm` from sample `offset`; returns the samples produced (left in the scratch output). */
  private run(pcm: Buffer, offset: number, n: number): number {
    const { inPtr, lenPtr } = scratch;
    const outPtr = scratch.outPtr;
    // Views are re-read after every call: the WASM memory may grow and detach old ones.
    speex.HEAPU8.set(pcm.subarray(offset * 2, (offset + n) * 2), inPtr);
    const lens = speex.HEAPU32;
    lens[lenPtr >> 2] = n;
    lens[(lenPtr >> 2) + 1] = this.outCapacity;
    speex._speex_resampler_process_int(this.state, 0, inPtr, lenPtr, outPtr, lenPtr + 4);
    const consumed = speex.HEAPU32[lenPtr >> 2] as number;
    const produced = speex.HEAPU32[(lenPtr >> 2) + 1] as number;
    // With an output buffer sized above n*ratio, speex consumes the whole slice; guard anyway.
    this.consumed = consumed > 0 ? consumed : n;
    return produced;
  }

  /** Input samples held in the filter (its delay line), for timing estimates. */
  get latencySamples(): number {
    return this.state === 0 ? 0 : speex._speex_resampler_get_input_latency(this.state);
  }

  destroy(): void {
    if (this.state === 0) return;
    speex._speex_resampler_destroy(this.state);
    this.state = 0;
    live--;
  }
}
