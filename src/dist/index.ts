/** Options of the built-in dists, by `strategy` name. */
export type BuiltInDistOptions = { readonly strategy: 'tcp' } & Readonly<Record<string, unknown>>;
