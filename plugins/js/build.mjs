// Build authorizer.js into a component with componentize-js.
// Usage: node build.mjs <out.wasm>   (run by ../build-polyglot.sh)
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { componentize } from '@bytecodealliance/componentize-js';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2] ?? join(here, '..', 'target', 'polyglot', 'js-authorizer.wasm');
const { component } = await componentize({
  sourcePath: join(here, 'authorizer.js'),
  witPath: join(here, '..', '..', 'wit', 'causeway-plugin-0.2.0'),
  worldName: 'authorizer',
  // No wasi:http (not offered to authorizers), no console output.
  disableFeatures: ['http', 'fetch-event', 'stdio'],
});
await mkdir(dirname(out), { recursive: true });
await writeFile(out, component);
console.log(`wrote ${out} (${component.length} bytes)`);
