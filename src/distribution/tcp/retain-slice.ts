/**
 * A received slice worth keeping past the current read (early frames, fragments): the view itself
 * when it fills most of its underlying memory, else a copy, so that small slices never pin large
 * socket chunks. Decoder output is never reused (views of fresh socket chunks or of fresh
 * reassembly buffers), so keeping the view is safe.
 */
export function retainSlice(view: Buffer): Buffer {
  return view.length * 2 >= view.buffer.byteLength ? view : Buffer.from(view);
}
