/**
 * glibc's `malloc_trim(0)`: gives the free pages inside malloc's arenas back to the system.
 *
 * Why the gateway needs it: every argon2 hash takes a 19 MiB buffer from malloc on a pool
 * thread. glibc serves a buffer that size from an arena (its mmap threshold has grown past it
 * after the first free), and once freed it stays there, under smaller live allocations that keep
 * the arena from shrinking on its own. After a minute of logins and codes the arenas hold
 * 50–60 MB that nothing uses (bench/README.md, "The arenas given back"); V8's collections cannot
 * touch them. `malloc_trim(0)` returns them in 1–6 ms (madvise of the free pages; the arenas
 * keep their layout, so the next hash only faults its pages in again).
 *
 * Called through koffi, a maintained FFI with its binaries in its npm packages (nothing to
 * compile, the same binary for every Node major). Null where there is no glibc (musl, macOS,
 * Windows) or koffi did not load: the memory budget then only collects.
 */
export type MallocTrim = () => void;

export function loadMallocTrim(): MallocTrim | null {
  if (process.platform !== 'linux') return null;
  try {
    // Loaded only by `gatehouse serve`'s memory budget, not by every process that imports the server.
    const koffi = require('koffi') as typeof import('koffi');
    // The process's own symbols: glibc's malloc_trim where the C library is glibc; a throw elsewhere.
    const trim = koffi.load(null).func('int malloc_trim(size_t pad)');
    return () => void trim(0);
  } catch {
    return null;
  }
}
