// The ./otel entry: filled in by issue 15.
export {};
