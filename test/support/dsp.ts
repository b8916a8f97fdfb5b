/** Test-only signal helpers: tone synthesis and windowed single-bin DFT (Goertzel) power. */

export function tone(freqHz: number, rate: number, ms: number, amplitude = 0.5): Buffer {
  const n = Math.round((rate * ms) / 1000);
  const buf = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) {
    buf.writeInt16LE(Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * freqHz * i) / rate)), i * 2);
  }
  return buf;
}

export function samples(pcm: Buffer): Float64Array {
  const n = pcm.length >> 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = pcm.readInt16LE(i * 2) / 32768;
  return out;
}

/** Power at `freqHz` over a Hann-windowed block (Goertzel). */
export function tonePower(x: Float64Array, rate: number, freqHz: number): number {
  const n = x.length;
  const w = (2 * Math.PI * freqHz) / rate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const hann = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    const s0 = (x[i] as number) * hann + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

export function db(ratio: number): number {
  return 10 * Math.log10(ratio);
}

/** Frequency with the most power among candidates spaced `stepHz` apart up to Nyquist. */
export function peakFrequency(x: Float64Array, rate: number, stepHz = 10): number {
  let best = 0;
  let bestP = -1;
  for (let f = stepHz; f < rate / 2; f += stepHz) {
    const p = tonePower(x, rate, f);
    if (p > bestP) {
      bestP = p;
      best = f;
    }
  }
  return best;
}

export function rms(x: Float64Array): number {
  let s = 0;
  for (const v of x) s += v * v;
  return Math.sqrt(s / Math.max(1, x.length));
}
