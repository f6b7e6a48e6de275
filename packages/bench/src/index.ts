/** @switchboard/bench: see docs/architecture.md for what this package will hold. */
export const PACKAGE_NAME = '@switchboard/bench';
