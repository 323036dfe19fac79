// The gateways section's model: the tests' mock OpenAI-compatible upstream (test/support/gateways.ts),
// in a process of its own so that it does not share the load generator's event loop, and without its
// record of every request. Usage: node --import tsx bench/model-upstream.ts
import { startModelUpstream } from '../test/support/gateways.js';

const upstream = await startModelUpstream({ record: false });
process.stdout.write(`model upstream: serving ${upstream.url}\n`);
const stop = () => void upstream.stop().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
