/** This package's version, as in package.json (a unit spec keeps the two equal). */
export const VERSION = '0.1.0';
