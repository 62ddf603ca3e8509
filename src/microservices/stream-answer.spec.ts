import { type Observable, Subject, of, range, tap } from 'rxjs';
import { type AnswerEnvelope, MAX_STREAM_ANSWER_BYTES, StreamAnswer } from './stream-answer.js';

/** Runs `source$` through a StreamAnswer as the transport's direct path does. */
function collect(source$: Observable<unknown>, maxValues = 1_000) {
  const answers: AnswerEnvelope[] = [];
  const cuts: string[] = [];
  const stream = new StreamAnswer(
    maxValues,
    e => answers.push(e),
    reason => cuts.push(reason),
  );
  source$.pipe(stream.collect()).subscribe({
    error: (e: unknown) => stream.fail(e),
    complete: () => stream.complete(),
  });
  return { answers, cuts };
}

describe('StreamAnswer', () => {
  it('collects every value of a finite stream, once', () => {
    expect(collect(of(1, 2, 3)).answers).toEqual([{ r: [1, 2, 3] }]);
    expect(collect(of()).answers).toEqual([{ r: [] }]);
  });

  it('answers the error as it came', () => {
    const source = new Subject<number>();
    const { answers } = collect(source);
    source.next(1);
    source.error({ code: 'E_X' });
    expect(answers).toEqual([{ e: { code: 'E_X' } }]);
  });

  it('cuts a stream over the value bound and unsubscribes it (even a synchronous endless one)', () => {
    let emitted = 0;
    const { answers, cuts } = collect(
      range(0, Number.MAX_SAFE_INTEGER).pipe(tap(() => (emitted += 1))),
      10,
    );
    expect(answers).toEqual([
      { e: { status: 'error', message: 'gen-cluster: stream answer over 10 values' } },
    ]);
    expect(cuts).toEqual(['gen-cluster: stream answer over 10 values']);
    expect(emitted).toBe(11);
  });

  it('cuts a stream whose values add up to over 2 MiB', () => {
    const chunk = 'x'.repeat(256 * 1024);
    const { answers } = collect(
      range(0, 9).pipe(source => source),
      1_000,
    );
    expect(answers).toEqual([{ r: [0, 1, 2, 3, 4, 5, 6, 7, 8] }]);
    const big = collect(of(...Array.from({ length: 9 }, () => chunk)));
    expect(big.answers).toEqual([
      {
        e: {
          status: 'error',
          message: `gen-cluster: stream answer over ${MAX_STREAM_ANSWER_BYTES} bytes`,
        },
      },
    ]);
    // A single value is left to the payload codec's own limit.
    expect(collect(of('y'.repeat(3 * 1024 * 1024))).answers).toHaveLength(1);
    expect(
      collect(of(new Uint8Array(1024 * 1024), new Uint8Array(1024 * 1024 + 1))).answers[0],
    ).toHaveProperty('e');
  });
});
