// Rewrites the configuration table in README.md from src/config/config.schema.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_TABLE_BEGIN, CONFIG_TABLE_END, configTable } from '../src/config/config-table';

const readme = path.join(__dirname, '..', 'README.md');
const text = fs.readFileSync(readme, 'utf8');
const start = text.indexOf(CONFIG_TABLE_BEGIN);
const end = text.indexOf(CONFIG_TABLE_END);
if (start < 0 || end < 0) throw new Error(`README.md needs the markers ${CONFIG_TABLE_BEGIN} and ${CONFIG_TABLE_END}`);
fs.writeFileSync(readme, text.slice(0, start) + configTable() + text.slice(end + CONFIG_TABLE_END.length));
console.log('README.md configuration table updated');
