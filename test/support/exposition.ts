/** Exposition text → samples, for tests that assert on what a scraper would read. */

export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Exposition text → samples (label values unescaped). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    let i = line.search(/[{ ]/);
    const name = line.slice(0, i);
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      while (line[i] !== '}') {
        const eq = line.indexOf('=', i);
        const key = line.slice(i, eq);
        i = eq + 2; // past ="
        let value = '';
        while (line[i] !== '"') {
          if (line[i] === '\\') {
            const next = line[i + 1];
            value += next === 'n' ? '\n' : (next as string);
            i += 2;
          } else value += line[i++];
        }
        labels[key] = value;
        i++; // past the closing quote
        if (line[i] === ',') i++;
      }
      i++; // past }
    }
    out.push({ name, labels, value: Number(line.slice(i + 1).split(' ')[0]) });
  }
  return out;
}
