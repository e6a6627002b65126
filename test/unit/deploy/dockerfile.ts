import * as fs from 'node:fs';

/** One Dockerfile instruction: its keyword (upper case) and its arguments as written, continuations joined. */
export interface Instruction {
  keyword: string;
  args: string;
}

/** One build stage: the FROM that starts it and the instructions that follow. */
export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages; comment lines are dropped and `\` continuations joined. */
export function parseDockerfile(file: string): Stage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    pending += (pending ? ' ' : '') + line.replace(/\\$/, '').trim();
    if (!line.endsWith('\\')) {
      if (pending) logical.push(pending);
      pending = '';
    }
  }
  const stages: Stage[] = [];
  for (const text of logical) {
    const [keyword, ...rest] = text.split(/\s+/);
    const instruction = { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    if (instruction.keyword === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!m) throw new Error(`${file}: cannot read FROM ${instruction.args}`);
      stages.push({ from: m[1], name: m[2], instructions: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return stages;
}

/** The arguments of every instruction with this keyword in a stage. */
export function argsOf(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

/** KEY=VALUE pairs of a stage's ENV or LABEL instructions (values unquoted). */
export function pairsOf(stage: Stage, keyword: 'ENV' | 'LABEL'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const args of argsOf(stage, keyword)) {
    for (const m of args.matchAll(/([\w.-]+)=("(?:[^"\\]|\\.)*"|\S+)/g)) out[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
  }
  return out;
}
