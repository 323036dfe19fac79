import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// `npm run histories:record`: the recorder of replay histories, kept out of `npm test`.
export default defineConfig({ ...base, test: { ...base.test, include: ['test/record/**/*.test.ts'] } });
