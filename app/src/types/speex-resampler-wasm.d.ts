// The package ships an emscripten factory without typings; audio/resampler.ts narrows the module.
declare module "@echogarden/speex-resampler-wasm/simd" {
  const createModule: (moduleArg?: Record<string, unknown>) => Promise<unknown>;
  export default createModule;
}
