// The ./metrics entry: filled in by issue 15.
export {};
