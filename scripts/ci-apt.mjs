// Installs, in one apt-get call, every system package the test suite needs.
import { ensureSystemPackages } from './system-packages.mjs';
ensureSystemPackages();
