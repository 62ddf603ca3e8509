import type { ChildProcess } from 'node:child_process';

/**
 * Routes the answers a fixture process prints on stdout, one JSON object per line with the `id`
 * of the command it answers, to the waiter registered under that id in `pending`. Lines that are
 * not JSON objects (logs) are skipped.
 */
export function routeJsonAnswers<Answer extends { readonly id: number }>(
  child: ChildProcess,
  pending: Map<number, (answer: Answer) => void>,
): void {
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (!line.startsWith('{')) continue;
      const answer = JSON.parse(line) as Answer;
      pending.get(answer.id)?.(answer);
      pending.delete(answer.id);
    }
  });
}
