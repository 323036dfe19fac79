import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// `npm run histories:record`: the recorder of replay histories, kept out of `npm test`.
const { projects: _projects, ...shared } = base.test!;
export default defineConfig({ test: { ...shared, include: ['test/record/**/*.test.ts'] } });
