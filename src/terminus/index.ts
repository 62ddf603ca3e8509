// The ./terminus entry: filled in by issue 15.
export {};
