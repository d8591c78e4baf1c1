/**
 * Symbol.dispose and Symbol.asyncDispose (explicit resource management: `using`), defined where the engine predates
 * them (Node 20 has Node's own; Chrome < 134, older Safari, a bare V8 context have none), so that the classifier's
 * dispose methods have their standard keys everywhere. Symbol.for keys: every copy of this library, and polyfills
 * that follow the same convention, agree on them. A frozen Symbol is left alone (`using` cannot work there anyway).
 */
for (const name of ["dispose", "asyncDispose"] as const) {
  if (typeof (Symbol as unknown as Record<string, unknown>)[name] !== "symbol") {
    try {
      Object.defineProperty(Symbol, name, { value: Symbol.for(`Symbol.${name}`), configurable: true });
    } catch {
      // Frozen intrinsics: nothing to do.
    }
  }
}

export {};
